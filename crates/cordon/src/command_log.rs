//! Every cordon run against a case journals itself: argv, version, cwd, user, host, start and end
//! time, exit status — failed runs too. This is the "document everything" step done for the responder.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use cordon_case::{Actor, Case, find_case_dir};
use cordon_core::bytes_json::insert_bytes;
use cordon_core::{Clock as _, SystemClock, format_utc};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::output;

/// A run in progress.
pub struct CommandRun {
    started: Timestamp,
    argv: Vec<OsString>,
    cwd: Option<PathBuf>,
}

impl CommandRun {
    /// Notes the start time, argv and cwd before anything else happens.
    pub fn start() -> CommandRun {
        CommandRun {
            started: SystemClock.now(),
            argv: std::env::args_os().collect(),
            cwd: std::env::current_dir().ok(),
        }
    }

    /// Journals the run into the case the command used, if any.
    pub fn finish(&self, ctx: &mut Ctx, code: u8, error: Option<&str>) {
        if let Some(dir) = ctx.case_dir.clone() {
            self.journal(&dir, &ctx.actor, code, error);
        }
    }

    /// Journals a run whose command line did not parse, into the case it would have used.
    pub fn finish_without_ctx(&self, code: u8, error: Option<&str>) {
        let explicit = self
            .case_in_argv()
            .or_else(|| std::env::var_os("CORDON_CASE").map(PathBuf::from));
        let Some(cwd) = &self.cwd else { return };
        if let Ok(dir) = find_case_dir(explicit.as_deref(), cwd) {
            let who = cordon_host::identity::invoker();
            let actor = Actor {
                user: who.user,
                uid: who.uid,
                host: who.host,
            };
            self.journal(&dir, &actor, code, error);
        }
    }

    fn case_in_argv(&self) -> Option<PathBuf> {
        let mut it = self.argv.iter();
        while let Some(a) = it.next() {
            let b = a.as_bytes();
            if b == b"--case" {
                return it.next().map(PathBuf::from);
            }
            if let Some(v) = b.strip_prefix(b"--case=") {
                return Some(PathBuf::from(std::ffi::OsStr::from_bytes(v)));
            }
        }
        None
    }

    fn journal(&self, dir: &Path, actor: &Actor, code: u8, error: Option<&str>) {
        let finished = SystemClock.now();
        let mut text = Vec::new();
        for (i, a) in self.argv.iter().enumerate() {
            if i > 0 {
                text.push(b' ');
            }
            text.extend_from_slice(a.as_bytes());
        }
        let mut data = Map::new();
        let argv: Vec<Value> = self
            .argv
            .iter()
            .map(|a| {
                let mut m = Map::new();
                insert_bytes(&mut m, "arg", a.as_bytes());
                match (m.remove("arg"), m.remove("arg_b64")) {
                    (Some(v), None) => v,
                    (Some(v), Some(b64)) => json!({"lossy": v, "b64": b64}),
                    _ => Value::Null,
                }
            })
            .collect();
        data.insert("argv".into(), Value::Array(argv));
        data.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        if let Some(cwd) = &self.cwd {
            insert_bytes(&mut data, "cwd", cwd.as_os_str().as_bytes());
        }
        data.insert("user".into(), json!(actor.user));
        data.insert("uid".into(), json!(actor.uid));
        data.insert("euid".into(), json!(rustix::process::geteuid().as_raw()));
        data.insert("host".into(), json!(actor.host));
        data.insert("pid".into(), json!(std::process::id()));
        data.insert("started".into(), json!(format_utc(self.started)));
        data.insert("finished".into(), json!(format_utc(finished)));
        data.insert("exit_status".into(), json!(code));
        if let Some(e) = error {
            data.insert("error".into(), json!(e));
        }
        let result = Case::open(dir)
            .and_then(|mut case| case.append(&SystemClock, actor, "command", &text, &Value::Object(data)));
        if let Err(e) = result {
            output::warn(&format!(
                "this run could not be journaled in {}: {e}",
                dir.display()
            ));
        }
    }
}
