//! A child process for kill -9 tests: this test binary run again with only one `#[ignore]`d
//! test selected, which does its work when the parent's env vars are set, prints what it did on
//! stdout and is SIGKILLed by the parent.

use std::ffi::OsStr;
use std::process::{Child, Command, Stdio};

/// Start the ignored test `name` (its full path, e.g. `store_crash::crash_child`) in a child
/// process with `envs`, stdout piped and stderr dropped.
pub fn spawn_test(name: &str, envs: &[(&str, &OsStr)]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("test binary path"));
    command
        .args([name, "--exact", "--ignored", "--nocapture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.spawn().expect("start child")
}
