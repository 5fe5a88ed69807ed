//! Pinterest API v5 client and sandbox. (placeholder: owned by the pinterest work)
