//! Deliveries signed by the real sender libraries (PyPI standardwebhooks, svix, stripe; npm
//! @octokit/webhooks-methods) are accepted by the receiver, through HTTP.
//!
//! The libraries are installed by `tests/interop/setup.sh` into `<target>/interop` (or
//! `$PINBRIDGE_INTEROP_DIR`). Without them the test prints why and passes, unless `CI` is set:
//! then missing tools fail it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::webhook::*;

const NEW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const TS: i64 = 1_768_471_203;

fn interop_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PINBRIDGE_INTEROP_DIR") {
        return dir.into();
    }
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|t| t.join("interop"))
        .unwrap_or_else(|| PathBuf::from("target/interop"))
}

struct Tools {
    python: PathBuf,
    node_dir: PathBuf,
}

/// The installed tools, or `None` (with a printed reason) when they are missing outside CI.
fn tools() -> Option<Tools> {
    let dir = interop_dir();
    let python = dir.join("venv/bin/python");
    let node_dir = dir.join("node");
    let mut missing = Vec::new();
    let imports = Command::new(&python)
        .args(["-c", "import standardwebhooks, svix, stripe"])
        .output();
    if !imports.is_ok_and(|o| o.status.success()) {
        missing.push(format!(
            "python venv with standardwebhooks, svix, stripe at {}",
            python.display()
        ));
    }
    if !node_dir
        .join("node_modules/@octokit/webhooks-methods/package.json")
        .exists()
    {
        missing.push(format!(
            "@octokit/webhooks-methods under {}",
            node_dir.display()
        ));
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing.push("node".into());
    }
    if missing.is_empty() {
        return Some(Tools { python, node_dir });
    }
    let message = format!(
        "webhook interop: missing {}; run `bash tests/interop/setup.sh`",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") {
        panic!("{message} (CI is set: the interop test must run)");
    }
    println!("SKIPPED {message}");
    None
}

fn run(mut command: Command, input: &Value) -> Value {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("signer starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "signer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("signer prints JSON")
}

fn python_sign(tools: &Tools, requests: Value) -> Vec<Vec<(String, String)>> {
    let mut command = Command::new(&tools.python);
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sign.py"));
    run(command, &requests)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .collect()
}

fn octokit_sign(tools: &Tools, requests: Value) -> Vec<String> {
    // Bare imports resolve from the script's directory: run a copy placed beside node_modules.
    let script = tools.node_dir.join("pinbridge-sign.mjs");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sign.mjs"),
        &script,
    )
    .unwrap();
    let mut command = Command::new("node");
    command.arg(&script);
    run(command, &requests)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn mapped(preset: &str, secrets: &[&str]) -> pinbridge::sources::webhook::WebhookSettings {
    let list: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    settings(&format!(
        r#"preset = "{preset}"
           secret = [{}]
           mapping = {{ id = "/id", title = "/title", image = "/image" }}"#,
        list.join(", ")
    ))
}

#[tokio::test]
async fn real_sender_libraries_are_accepted() {
    let Some(tools) = tools() else { return };
    // Non-ASCII, an escaped slash and a 64-bit id: bytes must be verified exactly as sent.
    let body = |id: &str| {
        format!(
            r#"{{"id":"{id}","title":"Crème brûlée 🍰","image":"https:\/\/img.example\/c.jpg","n":788032119674292922}}"#
        )
    };
    let h = Harness::start(
        vec![
            ("std", mapped("standard-webhooks", &[NEW])),
            ("std-old", mapped("standard-webhooks", &[OLD])),
            ("svix", mapped("svix", &[NEW])),
            ("github", mapped("github", &["octo-secret"])),
            ("stripe", mapped("stripe", &["whsec_stripe_interop"])),
        ],
        TS * 1000,
    )
    .await;

    let signed = python_sign(
        &tools,
        json!([
            {"lib": "standardwebhooks", "secrets": [NEW], "msg_id": "msg_a", "timestamp": TS, "body": body("a")},
            // Rotation: the sender signs with both keys; the old-key source verifies one of them.
            {"lib": "standardwebhooks", "secrets": [NEW, OLD], "msg_id": "msg_b", "timestamp": TS, "body": body("b")},
            {"lib": "svix", "secrets": [NEW], "msg_id": "msg_c", "timestamp": TS, "body": body("c")},
            {"lib": "svix", "secrets": [NEW], "msg_id": "msg_d", "timestamp": TS, "body": body("d"), "prefix": "webhook-"},
            {"lib": "stripe", "secrets": ["whsec_stripe_interop"], "timestamp": TS, "body": body("e"), "msg_id": ""},
            // A control: signed with a key the source does not have.
            {"lib": "standardwebhooks", "secrets": [OLD], "msg_id": "msg_f", "timestamp": TS, "body": body("f")},
        ]),
    );
    let cases = [
        ("std", "a", 200),
        ("std-old", "b", 200),
        ("svix", "c", 200),
        ("svix", "d", 200),
        ("stripe", "e", 200),
        ("std", "f", 401),
    ];
    for ((source, id, status), headers) in cases.iter().zip(&signed) {
        let reply = h.post(source, headers, body(id)).await;
        assert_eq!(reply.status, *status, "{source}/{id}: {}", reply.text);
    }

    let signatures = octokit_sign(
        &tools,
        json!([{"secret": "octo-secret", "body": body("g")}, {"secret": "wrong", "body": body("h")}]),
    );
    for (sig, (id, status)) in signatures.iter().zip([("g", 200), ("h", 401)]) {
        let headers = vec![
            ("X-Hub-Signature-256".to_string(), sig.clone()),
            ("X-GitHub-Delivery".to_string(), format!("delivery-{id}")),
        ];
        let reply = h.post("github", &headers, body(id)).await;
        assert_eq!(reply.status, status, "github/{id}: {}", reply.text);
    }

    let stored = h.item("std", "id:a").await.unwrap();
    assert_eq!(stored.item.title, "Crème brûlée 🍰");
    assert_eq!(
        stored.item.image_url.as_deref(),
        Some("https://img.example/c.jpg")
    );
    for (source, id) in [
        ("std-old", "b"),
        ("svix", "c"),
        ("svix", "d"),
        ("stripe", "e"),
        ("github", "g"),
    ] {
        assert!(
            h.item(source, &format!("id:{id}")).await.is_some(),
            "{source}/{id} stored"
        );
    }
    assert!(h.item("std", "id:f").await.is_none());
}
