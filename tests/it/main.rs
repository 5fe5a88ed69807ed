mod config_check;
mod store_conformance;
mod store_sled;
