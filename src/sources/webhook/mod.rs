//! Inbound webhooks. (placeholder: owned by the webhook work)
