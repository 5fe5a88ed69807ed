//! What build is running: the crate version and the git commit (recorded by `build.rs`), for
//! `pinbridge --version` and the `pinbridge_build_info` metric, so an operator can tell from a
//! scrape or a shell which code a replica runs.

/// The git commit the binary was built from (short hash), or "unknown" when built without git.
pub const COMMIT: &str = env!("PINBRIDGE_COMMIT");

/// The crate version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `0.1.0 (commit abc1234)`: what `pinbridge --version` prints after the program name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PINBRIDGE_COMMIT"),
    ")"
);

/// Set `pinbridge_build_info{version, commit}` to 1 (the usual Prometheus idiom: the value is
/// constant, the labels carry the information and join onto other series).
pub fn record() {
    metrics::gauge!("pinbridge_build_info", "version" => VERSION, "commit" => COMMIT).set(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_names_version_and_commit() {
        assert_eq!(LONG_VERSION, format!("{VERSION} (commit {COMMIT})"));
        assert!(!COMMIT.is_empty());
    }

    #[test]
    fn clap_prints_it_as_the_version_line() {
        // What `#[command(version = LONG_VERSION)]` makes `pinbridge --version` print.
        let command = clap::Command::new("pinbridge").version(LONG_VERSION);
        assert_eq!(
            command.render_version(),
            format!("pinbridge {VERSION} (commit {COMMIT})\n")
        );
    }
}
