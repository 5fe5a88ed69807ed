//! deploy/Dockerfile and .dockerignore, read as text: the image must build with the toolchain
//! Cargo.toml asks for, check its health without shell tools on the configured port, and say
//! what it is. (deploy/container-smoke.sh builds and runs the image; this runs everywhere.)

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Dockerfile's instructions: comments dropped, continuation lines joined.
fn instructions() -> Vec<String> {
    let text = read("deploy/Dockerfile");
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(line);
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

/// `(major, minor)` from text starting with a version (`1.94.0-slim` → (1, 94)).
fn major_minor(text: &str) -> (u32, u32) {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok()).expect("a major");
    let minor = parts.next().and_then(|p| p.parse().ok()).expect("a minor");
    (major, minor)
}

fn arg_default(name: &str) -> String {
    let prefix = format!("ARG {name}=");
    instructions()
        .iter()
        .find_map(|i| i.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no `ARG {name}=` in deploy/Dockerfile"))
}

#[test]
fn the_build_toolchain_is_at_least_the_crates_rust_version() {
    let manifest = read("Cargo.toml");
    let wanted = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = "))
        .map(|v| major_minor(v.trim_matches('"')))
        .expect("rust-version in Cargo.toml");
    let image = arg_default("RUST_IMAGE");
    let tag = image.split("rust:").nth(1).expect("a rust: image");
    assert!(
        major_minor(tag) >= wanted,
        "{image} is older than rust-version {wanted:?}"
    );
    assert!(
        instructions()
            .iter()
            .any(|i| i.starts_with("FROM ${RUST_IMAGE} AS build"))
    );
}

#[test]
fn base_images_are_pinned_to_exact_tags() {
    for name in ["RUST_IMAGE", "RUNTIME_IMAGE"] {
        let image = arg_default(name);
        let tag = image.rsplit(':').next().unwrap();
        assert!(
            !image.ends_with(":latest") && tag.chars().next().unwrap().is_ascii_digit(),
            "{name}={image}: a moving tag"
        );
        // Major and minor at least (`1.94.0`, `12.15`), not just `1` or `12`.
        assert!(tag.split('-').next().unwrap().contains('.'), "{image}");
    }
    assert!(
        !read("deploy/Dockerfile").starts_with("# syntax="),
        "a syntax line makes BuildKit fetch a frontend from a registry"
    );
}

#[test]
fn the_healthcheck_uses_the_binary_and_so_follows_the_configured_port() {
    let all = instructions();
    let check = all
        .iter()
        .find(|i| i.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    assert!(
        check.contains(r#"CMD ["/usr/local/bin/pinbridge", "healthcheck"]"#),
        "{check}"
    );
    assert!(
        !check.contains("curl") && !check.contains("8080"),
        "{check}"
    );
    // Nothing is installed into the runtime: no curl, no shell tools needed.
    assert!(
        !all.iter()
            .any(|i| i.contains("apt-get install") && i.contains("curl")),
        "curl in the image"
    );
}

#[test]
fn the_image_says_what_it_is_and_runs_as_a_numeric_non_root_user() {
    let all = instructions();
    let labels: String = all
        .iter()
        .filter(|i| i.starts_with("LABEL"))
        .cloned()
        .collect();
    for key in [
        "org.opencontainers.image.title",
        "org.opencontainers.image.version",
        "org.opencontainers.image.licenses",
        "org.opencontainers.image.description",
    ] {
        assert!(labels.contains(key), "no {key} label");
    }
    assert!(all.iter().any(|i| i == "USER 10001:10001"));
    // Dependencies are built in a layer of their own, before the sources are copied.
    let position = |needle: &str| all.iter().position(|i| i.starts_with(needle)).unwrap();
    assert!(position("COPY Cargo.toml Cargo.lock") < position("COPY src"));
    let deps = &all[position("COPY Cargo.toml Cargo.lock") + 1];
    assert!(deps.contains("cargo build --release --locked"), "{deps}");
    // The default image is the last stage, built from the build stage.
    let last_from = all.iter().rev().find(|i| i.starts_with("FROM")).unwrap();
    assert_eq!(last_from, "FROM runtime-base AS runtime");
}

#[test]
fn the_build_context_leaves_out_target_and_secrets() {
    let ignore = read(".dockerignore");
    let rules: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    for needed in ["target/", ".git/", ".env"] {
        assert!(rules.contains(&needed), "{needed} not ignored: {rules:?}");
    }
    // What the build stage copies must not be ignored.
    for copied in ["src", "benches", "config", "Cargo.toml", "Cargo.lock"] {
        assert!(
            !rules
                .iter()
                .any(|r| r.trim_end_matches('/') == copied || *r == "*"),
            "{copied} is ignored"
        );
    }
}
