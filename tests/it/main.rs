mod webhook_dedup;
mod webhook_fuzz;
mod webhook_http;
mod webhook_interop;
mod webhook_load;
mod webhook_support;
mod webhook_wordpress;
