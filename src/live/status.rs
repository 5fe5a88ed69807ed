//! The reload status shown by `GET /api/v1/config/status` and `/readyz`: which generation of
//! the configuration is in force and how the last attempt to change it went.

use std::sync::Mutex;

use serde_json::{Value, json};

use crate::config::ConfigProblem;

/// What asked for a new configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Start,
    Sighup,
    Watch,
    Api,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Sighup => "sighup",
            Trigger::Watch => "watch",
            Trigger::Api => "api",
        }
    }
}

/// One attempt to put a configuration in force.
#[derive(Clone, Debug)]
pub struct Reload {
    pub at: i64,
    pub ok: bool,
    pub trigger: Trigger,
    pub problems: Vec<ConfigProblem>,
}

struct Inner {
    /// 1 at start, +1 for every configuration put in force.
    generation: u64,
    last_reload: Reload,
}

pub struct Status {
    inner: Mutex<Inner>,
}

impl Status {
    pub fn new(start: Reload) -> Self {
        Self {
            inner: Mutex::new(Inner {
                generation: 1,
                last_reload: start,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn generation(&self) -> u64 {
        self.with(|i| i.generation)
    }

    /// A configuration was put in force. An API change does not replace `last_reload`: a refused
    /// file stays visible until the file is fixed.
    pub fn applied(&self, trigger: Trigger, at: i64) {
        self.with(|i| {
            i.generation += 1;
            if trigger == Trigger::Api {
                return;
            }
            i.last_reload = Reload {
                at,
                ok: true,
                trigger,
                problems: Vec::new(),
            };
        });
    }

    pub fn refused(&self, trigger: Trigger, at: i64, problems: Vec<ConfigProblem>) {
        self.with(|i| {
            i.last_reload = Reload {
                at,
                ok: false,
                trigger,
                problems,
            }
        });
    }

    /// The generation in force and the last reload, as they are now.
    pub fn snapshot(&self) -> (u64, Reload) {
        self.with(|i| (i.generation, i.last_reload.clone()))
    }

    pub fn json(&self) -> Value {
        self.with(|i| {
            json!({
                "generation": i.generation,
                "last_reload": {
                    "at": i.last_reload.at,
                    "ok": i.last_reload.ok,
                    "trigger": i.last_reload.trigger.name(),
                    "problems": problems_json(&i.last_reload.problems),
                },
            })
        })
    }
}

/// `[{"key": "sources[blog].url", "message": "…", "line": 12}]` (line only when known).
pub fn problems_json(problems: &[ConfigProblem]) -> Value {
    Value::Array(
        problems
            .iter()
            .map(|p| {
                let mut v = json!({"key": p.path, "message": p.message});
                if let Some(line) = p.line {
                    v["line"] = json!(line);
                }
                v
            })
            .collect(),
    )
}
