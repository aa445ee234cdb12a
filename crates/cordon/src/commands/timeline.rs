//! `cordon timeline`: one merged, time-sorted super timeline of the examined system — file times
//! (statx), auth/syslog, login records, web, package, audit and shell-history logs — as JSONL
//! (Timesketch imports it as is), Timesketch JSONL, CSV or a TSK 3 bodyfile.

use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use cordon_core::{Severity, escape_terminal};
use cordon_host::Target;
use cordon_host::walk::WalkOptions;
use cordon_timeline::export::{Format as OutFormat, Timeline};
use cordon_timeline::fs::{FsEntry, parse_bodyfile_line, walk_entries, write_bodyfile};
use cordon_timeline::sources::{self, Format, Options, Want};
use jiff::{SignedDuration, Timestamp};

use crate::commands::logs::{files_of, parse_time, report_line};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// One event per line: `datetime`, `timestamp`, `timestamp_desc`, `message`, `source`, fields.
    Jsonl,
    /// CSV with a header (cells starting with = + - @ are prefixed with ').
    Csv,
    /// TSK 3 bodyfile (`mactime -b` reads it); log events appear as `m...` entries.
    Bodyfile,
    /// Timesketch JSONL (`datetime` with `+00:00` and microseconds).
    Timesketch,
}

/// Source groups.
const GROUPS: [&str; 7] = ["fs", "syslog", "logins", "web", "packages", "audit", "history"];

/// `cordon timeline`
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Examine a mounted image or backup at DIR instead of the running system.
    #[arg(long, value_name = "DIR", conflicts_with = "bundle")]
    pub root: Option<PathBuf>,
    /// Build the timeline from an unpacked `cordon collect` evidence bundle (its `[root]/` copies and
    /// its `bodyfile.txt`).
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// A log file to add (repeatable).
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
    /// Format of the --log files (default: guessed).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub log_format: Option<Format>,
    /// Only events at or after this time (RFC 3339, or YYYY-MM-DD[THH:MM:SS] in UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<Timestamp>,
    /// Only events at or before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<Timestamp>,
    /// Only events within --window of this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub around: Option<Timestamp>,
    /// Half-width of the --around window (`2h`, `30m`, `1d`).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub window: SignedDuration,
    /// Only events within an hour of a finding stored in the case (logs, hunt …).
    #[arg(long)]
    pub case_findings: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: TimelineFormat,
    /// Write to FILE instead of standard output (refused on the examined system's own storage).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Source groups to include, comma-separated: fs, syslog, logins, web, packages, audit, history.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "fs,syslog,logins,web,packages,audit,history"
    )]
    pub sources: Vec<String>,
    /// Directories of the examined system whose file times are included (repeatable; default `/`).
    #[arg(long = "fs-path", value_name = "PATH")]
    pub fs_paths: Vec<String>,
    /// Walk into other mounted filesystems below the fs paths.
    #[arg(long)]
    pub cross_mounts: bool,
    /// Time zone of the examined host's local log times (default: its /etc/timezone, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Also store the events in the case (in batches, each journaled).
    #[arg(long)]
    pub store: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("{s:?} is not a known log format"))
}

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    if let Ok(n) = num.parse::<i64>() {
        let secs = match unit {
            "s" => Some(n),
            "m" | "min" => n.checked_mul(60),
            "h" | "" => n.checked_mul(3600),
            "d" => n.checked_mul(86_400),
            _ => None,
        };
        if let Some(secs) = secs {
            return Ok(SignedDuration::from_secs(secs));
        }
    }
    s.parse::<SignedDuration>()
        .map_err(|e| format!("{s:?} is not a duration (2h, 30m, 1d): {e}"))
}

fn out_format(f: TimelineFormat) -> OutFormat {
    match f {
        TimelineFormat::Jsonl => OutFormat::Jsonl,
        TimelineFormat::Csv => OutFormat::Csv,
        TimelineFormat::Bodyfile => OutFormat::Bodyfile,
        TimelineFormat::Timesketch => OutFormat::Timesketch,
    }
}

/// Time windows an event must fall into (any of them), plus the overall bounds.
#[derive(Debug, Default)]
struct Filter {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    windows: Vec<(Timestamp, Timestamp)>,
    restricted: bool,
}

impl Filter {
    fn keep(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s)
            && self.until.is_none_or(|u| t <= u)
            && (!self.restricted || self.windows.iter().any(|(a, b)| t >= *a && t <= *b))
    }
}

fn window(t: Timestamp, half: SignedDuration) -> (Timestamp, Timestamp) {
    (
        t.checked_sub(half).unwrap_or(Timestamp::MIN),
        t.checked_add(half).unwrap_or(Timestamp::MAX),
    )
}

/// Runs `cordon timeline`.
pub fn run(args: &TimelineArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    for g in &args.sources {
        if !GROUPS.contains(&g.as_str()) {
            bail!("unknown source group {g:?} (known: {})", GROUPS.join(", "));
        }
    }
    let want = |g: &str| args.sources.iter().any(|s| s == g);
    let (target, bundle_body) = match &args.bundle {
        Some(b) => {
            let b = std::fs::canonicalize(b).with_context(|| format!("--bundle {}", b.display()))?;
            let root = b.join("[root]");
            if !root.is_dir() {
                bail!(
                    "{} has no [root]/ directory: not an unpacked cordon collect bundle",
                    b.display()
                );
            }
            (Target::offline(root), Some(b.join("bodyfile.txt")))
        }
        None => (crate::commands::logs::target_of(args.root.as_ref())?, None),
    };
    let system = if args.root.is_none() && args.bundle.is_none() && !args.logs.is_empty() {
        cordon_timeline::setup::detached(args.tz.as_deref())?
    } else {
        cordon_timeline::setup::examine(&target, args.tz.as_deref())?
    };
    let mut case = ctx.try_open_case()?;

    let mut filter = Filter {
        since: args.since,
        until: args.until,
        ..Filter::default()
    };
    if let Some(t) = args.around {
        filter.restricted = true;
        filter.windows.push(window(t, args.window));
    }
    if args.case_findings {
        let Some(c) = case.as_ref() else {
            bail!("--case-findings needs a case (--case DIR or CORDON_CASE)");
        };
        filter.restricted = true;
        let mut with_time = 0;
        for f in c.findings(Severity::Info)? {
            for k in ["time", "first_time", "last_time"] {
                if let Some(t) = f
                    .attrs
                    .get(k)
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse::<Timestamp>().ok())
                {
                    filter.windows.push(window(t, SignedDuration::from_hours(1)));
                    with_time += 1;
                }
            }
        }
        output::info(&format!(
            "{} time(s) from the case's findings; events within an hour of them",
            with_time
        ));
    }

    // Output: never onto the examined system's own storage.
    let mut sink: Box<dyn std::io::Write> = match &args.output {
        Some(p) => {
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            refuse_suspect_storage(&parent, target.root())?;
            Box::new(std::io::BufWriter::new(
                std::fs::File::create_new(p)
                    .with_context(|| format!("cannot create {} (it must not exist yet)", p.display()))?,
            ))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };

    let mut walk_opts = WalkOptions {
        cross_mounts: args.cross_mounts,
        ..WalkOptions::default()
    };
    if let Some(c) = &case
        && let Ok(m) = std::fs::metadata(c.dir())
    {
        // Never put the case's own files in the timeline of the host.
        walk_opts
            .exclude
            .insert((rustix::fs::major(m.dev()), rustix::fs::minor(m.dev()), m.ino()));
    }
    let fs_paths: Vec<String> = if args.fs_paths.is_empty() {
        vec!["/".to_owned()]
    } else {
        args.fs_paths.clone()
    };

    // Fast path: a bodyfile of file times only streams without sorting or keeping anything.
    let only_fs = args.sources.iter().all(|s| s == "fs") && args.logs.is_empty();
    if args.format == TimelineFormat::Bodyfile
        && only_fs
        && bundle_body.is_none()
        && !filter.restricted
        && !args.store
    {
        let mut total = 0;
        for p in &fs_paths {
            let st = write_bodyfile(
                &target,
                p.as_bytes(),
                &walk_opts,
                filter.since,
                filter.until,
                &mut sink,
            )?;
            output::info(&format!(
                "{}: {} file(s), {} written, {} error(s), {} directories not entered",
                escape_terminal(p.as_bytes()),
                st.entries,
                st.kept,
                st.errors,
                st.skipped
            ));
            total += st.kept;
        }
        sink.flush().context("write the bodyfile")?;
        output::info(&format!("{total} bodyfile line(s)"));
        return Ok(Outcome::Clean);
    }

    let mut tl = Timeline::new(&system.host);
    let keep = |t: Timestamp| filter.keep(t);
    if want("fs") {
        match &bundle_body {
            Some(body) => {
                let mut n = 0u64;
                let stats = cordon_timeline::lines::read_log_lines(
                    body,
                    &cordon_timeline::lines::Limits::default(),
                    &mut |_, line| {
                        if let Some(e) = parse_bodyfile_line(line) {
                            n += 1;
                            tl.push_fs(e, &keep);
                        }
                    },
                )
                .with_context(|| format!("read {}", body.display()))?;
                output::info(&format!("bodyfile.txt: {} line(s), {n} file(s)", stats.lines));
            }
            None => {
                for p in &fs_paths {
                    let st = walk_entries(&target, p.as_bytes(), &walk_opts, &mut |path, m| {
                        tl.push_fs(FsEntry::new(path, m), &keep);
                    })?;
                    output::info(&format!(
                        "{}: {} file(s), {} error(s), {} directories not entered",
                        escape_terminal(p.as_bytes()),
                        st.entries,
                        st.errors,
                        st.skipped
                    ));
                }
            }
        }
    }
    let log_groups: Vec<&str> = GROUPS.iter().copied().filter(|g| *g != "fs" && want(g)).collect();
    if !log_groups.is_empty() || !args.logs.is_empty() {
        let discover =
            !log_groups.is_empty() && (args.root.is_some() || args.bundle.is_some() || args.logs.is_empty());
        let (files, notes) = files_of(&target, discover, &args.logs, args.log_format)?;
        for n in system.notes.iter().chain(&notes) {
            output::info(n);
        }
        let mut opts = Options::new(system.host.clone());
        opts.zone = system.zone.clone();
        opts.uid_names = system.uid_names.clone();
        opts.want = Want::All;
        for f in files
            .iter()
            .filter(|f| log_groups.contains(&f.format.group()) || args.logs.contains(&f.local))
        {
            let r = sources::process(f, &mut opts, None, &mut |e| {
                if filter.keep(e.time) {
                    tl.push_event(e);
                }
            });
            output::info(&report_line(&r));
        }
    }
    tl.sort();
    let n = tl.write(out_format(args.format), &mut sink)?;
    sink.flush().context("write the timeline")?;
    output::info(&format!("{n} event(s) written"));

    if args.store {
        match case.as_mut() {
            Some(c) => {
                let mut batch = Vec::with_capacity(50_000);
                let mut stored = 0usize;
                let mut err = None;
                tl.for_each(&mut |e| {
                    batch.push(e.clone());
                    if batch.len() == 50_000 && err.is_none() {
                        match c.record_events(&ctx.clock, &ctx.actor, "timeline", &batch) {
                            Ok(k) => stored += k,
                            Err(e) => err = Some(e),
                        }
                        batch.clear();
                    }
                });
                if let Some(e) = err {
                    return Err(e.into());
                }
                stored += c.record_events(&ctx.clock, &ctx.actor, "timeline", &batch)?;
                output::info(&format!("{stored} event(s) stored in the case"));
            }
            None => output::warn("--store: no case, nothing stored (use --case DIR or CORDON_CASE)"),
        }
    } else if case.is_none() {
        output::info("no case: the timeline was written but nothing was stored in a case");
    }
    Ok(Outcome::Clean)
}

fn refuse_suspect_storage(dir: &Path, suspect_root: &Path) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize(dir).with_context(|| format!("output directory {}", dir.display()))?;
    if let Some(why) = cordon_case::placement::check(&dir, suspect_root)? {
        bail!(
            "refusing to write the timeline to {}: {} — write it to the responder's own media, or to stdout",
            dir.display(),
            why
        );
    }
    Ok(())
}
