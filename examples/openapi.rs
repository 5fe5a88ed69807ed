//! Print the admin API's OpenAPI document (generated from the handlers' types) as JSON, the
//! same one `pinbridge serve` answers at `/api/v1/openapi.json`: for client generators, and
//! for `.ci/openapi.sh`, which validates it.
//!
//! `cargo run --example openapi > admin-api.json`

fn main() {
    let doc = pinbridge::http::admin::openapi::description();
    match serde_json::to_string_pretty(&doc) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("the document could not be written: {e}");
            std::process::exit(1);
        }
    }
}
