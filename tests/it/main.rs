mod store_conformance;
mod store_sled;
mod store_crash;
