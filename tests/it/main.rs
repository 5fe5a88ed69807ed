mod store_conformance;
mod store_sled;
