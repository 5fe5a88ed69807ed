//! `pinbridge report` through the real binary: the roll-up of the Pin analytics in the store
//! as a table, CSV or JSON, read from the store itself when no service runs and through the
//! running service's admin API when one does (the service holds the sled store) — the same
//! figures either way.

use std::path::Path;
use std::process::Command;

use pinbridge::store::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::support::analytics::{day_of, sample};
use crate::support::app::open_store;
use crate::support::binary::*;

/// `pinbridge report <args> -c <config>`: (exit code, stdout, stderr).
fn report(config: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(binary())
        .arg("report")
        .args(args)
        .args(["-c", config.to_str().unwrap()])
        .env_remove("PINBRIDGE_CONFIG")
        .env_remove("PINBRIDGE_SERVER")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn today() -> i64 {
    day_of(pinbridge::clock::Clock::now_ms(
        &pinbridge::clock::SystemClock,
    ))
}

/// Write the sample rows into the sled store at `path` and close it.
async fn seed(path: &Path) {
    let store = open_store(path).await;
    store.record_pin_days(&sample(today())).await.unwrap();
    store.close().await.unwrap();
}

const TABLE: &str = "\
source  pins  impressions  saves  pin clicks  outbound clicks     CTR
blog       2          400      8          27               10   2.50%
shop       1           50      2           9                5  10.00%
---------------------------------------------------------------------
total      3          450     10          36               15   3.33%
";

fn config_without_service(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("pinbridge.toml");
    let text = format!(
        "[store]\npath = \"{}\"\n\n[[accounts]]\nname = \"main\"\naccess_token = \"x\"\n{}",
        dir.join("pinbridge.sled").display(),
        shop_to_board()
    );
    std::fs::write(&config, text).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_reads_the_store_as_a_table_csv_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_without_service(dir.path());
    seed(&dir.path().join("pinbridge.sled")).await;

    let (code, out, err) = report(&config, &["--since", "30d"]);
    assert_eq!(code, 0, "{out}{err}");
    let (title, table) = out.split_once('\n').unwrap();
    assert!(title.starts_with("Pin analytics by source, "), "{out}");
    assert_eq!(table, TABLE);

    // By template: the shop's route is in the config (default templates); the blog's is not.
    let (code, out, _) = report(&config, &["--by", "template", "--format", "csv"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "template,pins,impressions,saves,pin_clicks,outbound_clicks,click_through_rate\n\
         (route not configured),2,400,8,27,10,0.025000\n\
         {{ title }} | {{ description }},1,50,2,9,5,0.100000\n"
    );

    // JSON is the admin API's roll-up: one day back holds p1 and p3 only.
    let (code, out, _) = report(
        &config,
        &["--since", "1d", "--by", "board", "--format", "json"],
    );
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["by"], "board");
    assert_eq!(json["groups"][0]["key"], "Dinner");
    assert_eq!(json["groups"][0]["impressions"], 170);
    assert_eq!(json["groups"][0]["click_through_rate"], 11.0 / 170.0);
    assert_eq!(json["series"][0]["days"].as_array().unwrap().len(), 1);

    // A pair of dates reaches the old row the 30 days leave out.
    let day = |d: i64| pinbridge::rollup::period::date_of(d);
    let (from, to) = (day(today() - 41), day(today() - 39));
    let (_, out, _) = report(&config, &["--from", &from, "--to", &to, "--format", "csv"]);
    assert!(
        out.contains("\nshop,1,9999,9999,9999,9999,1.000000\n"),
        "{out}"
    );

    for (args, says) in [
        (&["--since", "30"][..], "not a period"),
        (&["--by", "pin"][..], "invalid value 'pin'"),
        (&["--from", "2026-13-01"][..], "not a date"),
    ] {
        let (code, out, err) = report(&config, args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_service_runs_the_report_comes_from_its_admin_api() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    seed(&data.join("pinbridge.sled")).await;
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    let text = config_text(&api, &token, &data, port);
    std::fs::write(&config, &text).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_serve(&config, &base, dir.path()).await;

    // Opened directly (no admin token to find the service), the locked store is refused: the
    // answer below can only have come from the service.
    let direct = dir.path().join("direct.toml");
    std::fs::write(
        &direct,
        text.replace(&format!("admin_token = \"{OPS_ADMIN}\""), ""),
    )
    .unwrap();
    let (code, out, err) = report(&direct, &[]);
    assert_ne!(code, 0, "sled is locked by the service: {out}{err}");

    let (code, served, err) = report(&config, &["--by", "template"]);
    assert_eq!(code, 0, "{served}{err}");
    assert!(
        served.contains("\n{{ title }} | {{ description }}     1"),
        "the service knows its routes' templates: {served}"
    );
    let (code, served, err) = report(&config, &[]);
    assert_eq!(code, 0, "{served}{err}");
    assert!(served.ends_with(TABLE), "{served}");

    signal(&child, "TERM");
    assert!(wait_exit(&mut child).await.success());
    let (code, stored, err) = report(&direct, &[]);
    assert_eq!(code, 0, "{stored}{err}");
    assert_eq!(stored, served, "the store and the service agree");
    stop.cancel();
}
