mod webhook_http;
mod webhook_support;
mod webhook_wordpress;
