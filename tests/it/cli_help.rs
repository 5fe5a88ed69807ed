//! The command line helps: every argument and subcommand is described, `-c` goes anywhere,
//! `--state` names the valid states, `-v`/`-q` set the level, and completions and the man page
//! come out of the binary.

use std::process::{Command, Output};

use clap::{CommandFactory, Parser};
use pinbridge::cli::{Cli, JobStateArg, Verbosity};
use pinbridge::store::{JobState, LeaseToken};

/// Runs the built binary with no config in reach, so only argument parsing is under test.
fn pinbridge(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_pinbridge"))
        .args(args)
        .current_dir(dir.path())
        .env_remove("PINBRIDGE_CONFIG")
        .env_remove("PINBRIDGE_LOG")
        .env_remove("RUST_LOG")
        .output()
        .expect("running pinbridge")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every argument and subcommand below `command`, as "path: what", that has no help text.
fn undescribed(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        // clap's own --help and --version describe themselves.
        if id == "help" || id == "version" {
            continue;
        }
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            missing.push(format!("{path}: argument {id}"));
        }
    }
    for sub in command.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_name() != "help" && sub.get_about().is_none() && sub.get_long_about().is_none() {
            missing.push(format!("{sub_path}: subcommand"));
        }
        undescribed(sub, &sub_path, missing);
    }
}

#[test]
fn cli_every_argument_and_subcommand_is_described() {
    let mut command = Cli::command();
    // Globals (-c, -v, -q) reach the subcommands only once the tree is built.
    command.build();
    let mut missing = Vec::new();
    undescribed(&command, "pinbridge", &mut missing);
    assert!(missing.is_empty(), "no help text for: {missing:#?}");
}

#[test]
fn cli_help_of_every_subcommand_renders() {
    let mut command = Cli::command();
    command.build();
    for sub in command.get_subcommands_mut() {
        let help = sub.render_long_help().to_string();
        assert!(help.contains("Usage:"), "{}: {help}", sub.get_name());
    }
}

#[test]
fn cli_config_goes_before_or_after_the_subcommand() {
    let before = Cli::try_parse_from(["pinbridge", "-c", "x.toml", "check"]).unwrap();
    let after = Cli::try_parse_from(["pinbridge", "check", "-c", "x.toml"]).unwrap();
    let nested = Cli::try_parse_from(["pinbridge", "items", "list", "--config", "x.toml"]).unwrap();
    for cli in [before, after, nested] {
        assert_eq!(cli.config.path(), std::path::PathBuf::from("x.toml"));
    }
}

#[test]
fn cli_state_names_are_the_stores() {
    let states = [
        (JobStateArg::Pending, JobState::Pending { run_at: 0 }),
        (
            JobStateArg::Leased,
            JobState::Leased {
                token: LeaseToken(1),
                until: 0,
                reconcile: false,
            },
        ),
        (JobStateArg::Retry, JobState::Retry { at: 0 }),
        (JobStateArg::Unknown, JobState::Unknown { since: 0, at: 0 }),
        (
            JobStateArg::Done,
            JobState::Done {
                pin_id: "1".into(),
                at: 0,
            },
        ),
        (
            JobStateArg::Dead,
            JobState::Dead {
                error: "e".into(),
                at: 0,
            },
        ),
    ];
    for (arg, state) in states {
        assert_eq!(arg.name(), state.name());
        let value = clap::ValueEnum::to_possible_value(&arg).unwrap();
        assert_eq!(value.get_name(), state.name(), "what --state accepts");
    }
}

#[test]
fn cli_bad_state_is_a_usage_error_naming_the_valid_ones() {
    let out = pinbridge(&["items", "list", "--state", "deadd"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for state in ["pending", "leased", "retry", "unknown", "done", "dead"] {
        assert!(err.contains(state), "{state} missing from: {err}");
    }
}

#[test]
fn cli_verbosity_moves_from_the_commands_default() {
    let parse = |args: &[&str]| {
        let mut argv = vec!["pinbridge"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().verbosity
    };
    assert_eq!(parse(&["check"]).level("info"), "info");
    assert_eq!(parse(&["-v", "check"]).level("info"), "debug");
    assert_eq!(parse(&["check", "-vv"]).level("info"), "trace");
    assert_eq!(parse(&["-q", "serve"]).level("info"), "warn");
    assert_eq!(parse(&["serve", "-qq"]).level("info"), "error");
    assert_eq!(parse(&["demo"]).level("warn"), "warn");
    assert_eq!(Verbosity::default().level("info"), "info");
    assert!(Cli::try_parse_from(["pinbridge", "-v", "-q", "check"]).is_err());
}

#[test]
fn cli_top_level_help_shows_first_steps_config_and_exit_codes() {
    let out = pinbridge(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needle in [
        "pinbridge demo",
        "pinbridge check",
        "pinbridge auth",
        "pinbridge serve",
        "PINBRIDGE_CONFIG",
        "config/pinbridge.toml",
        "PINBRIDGE_*",
        "Exit status: 0 ok, 1 runtime failure, 2 bad config or usage",
        "completions",
        "--verbose",
        "--quiet",
    ] {
        assert!(help.contains(needle), "{needle} missing from: {help}");
    }
}

#[test]
fn cli_completions_name_the_subcommands() {
    let out = pinbridge(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    for name in ["serve", "check", "demo", "items", "sources", "auth", "man"] {
        assert!(script.contains(name), "{name} missing from the bash script");
    }
    let bad = pinbridge(&["completions", "cmd.exe"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn cli_man_page_is_roff_for_pinbridge() {
    let out = pinbridge(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH"), "{page}");
    assert!(page.contains("pinbridge"), "{page}");
}
