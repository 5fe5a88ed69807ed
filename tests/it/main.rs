mod webhook_http;
mod webhook_support;
