//! RSS/Atom/JSON Feed polling. (placeholder: owned by the feed work)
