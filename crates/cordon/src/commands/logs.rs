//! `cordon logs`: how did they get in? Detections over the examined system's logs and login records
//! (SSH brute force, a success from an address that failed first, root and service-account logins,
//! new accounts and privilege changes, sudo/su misuse, log tampering, web attacks).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use cordon_core::{Event, Finding, Severity, escape_terminal};
use cordon_host::Target;
use cordon_timeline::detect::{Config, Detector};
use cordon_timeline::sources::{self, Format, LogFile, Options, Report, Want};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// Most notable events stored in the case per run (logins, privilege use, account changes, attacks).
const EVENTS_CAP: usize = 200_000;

/// `cordon logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Examine a mounted image or backup at DIR instead of the running system.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// A log file to read as well (repeatable); alone (without --root) only these files are read.
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
    /// Format of the --log files (default: guessed from the content): syslog, access, web-error,
    /// wtmp, btmp, utmp, lastlog, dpkg, apt, yum, dnf, audit, history, journal-json.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub log_format: Option<Format>,
    /// One JSON object per finding per line (the same shape as `cordon hunt --json`).
    #[arg(long)]
    pub json: bool,
    /// Show findings at or above this severity (info, low, medium, high, critical); all are stored.
    #[arg(long, value_name = "S", default_value = "low", value_parser = parse_severity)]
    pub min_severity: Severity,
    /// Start of the incident window (RFC 3339 or YYYY-MM-DD, UTC); logins from addresses never
    /// seen before it are flagged. Default: seven days before the last log line.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub incident_start: Option<jiff::Timestamp>,
    /// Failed logins from one address that count as a brute force.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub brute_threshold: u64,
    /// Time zone of the examined host's local log times (default: its /etc/timezone, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Largest size read from one log after decompression, in MiB (gzip bombs stop there).
    #[arg(long, value_name = "MIB", default_value_t = 8192)]
    pub max_log_mib: u64,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("{s:?} is not one of info, low, medium, high, critical"))
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("{s:?} is not a known log format"))
}

/// Parses an instant: RFC 3339 with offset, or a civil date/time taken as UTC.
pub fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let utc = |dt: jiff::civil::DateTime| {
        jiff::tz::TimeZone::UTC
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(|e| e.to_string())
    };
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return utc(dt);
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return utc(d.at(0, 0, 0, 0));
    }
    Err(format!(
        "{s:?} is not a time (RFC 3339, or YYYY-MM-DD[THH:MM:SS] in UTC)"
    ))
}

/// The target of a run, from `--root`.
pub fn target_of(root: Option<&PathBuf>) -> anyhow::Result<Target> {
    Ok(match root {
        Some(dir) => {
            Target::offline(std::fs::canonicalize(dir).with_context(|| format!("--root {}", dir.display()))?)
        }
        None => Target::live(),
    })
}

/// The files of a run: the target's logs (unless only `--log` files were given) plus the `--log` files.
pub fn files_of(
    target: &Target,
    discover: bool,
    extra: &[PathBuf],
    format: Option<Format>,
) -> anyhow::Result<(Vec<LogFile>, Vec<String>)> {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    if discover {
        let d = sources::discover(target);
        files = d.files;
        notes = d.notes;
    }
    for p in extra {
        let local = std::fs::canonicalize(p).with_context(|| format!("--log {}", p.display()))?;
        let Some(fmt) = format.or_else(|| sources::sniff(&local)) else {
            bail!(
                "cannot tell the format of {}; give it with --log-format",
                p.display()
            );
        };
        let inner = local.as_os_str().as_encoded_bytes().to_vec();
        files.push(LogFile {
            family: local.display().to_string(),
            inner,
            local,
            format: fmt,
            order: 0,
            user: None,
            root: None,
        });
    }
    Ok((files, notes))
}

/// A one-line summary of a source report for stderr.
pub fn report_line(r: &Report) -> String {
    let mut s = format!(
        "{} [{}]: {} line(s), {} parsed, {} unparsed",
        escape_terminal(&r.path),
        r.format,
        r.lines,
        r.parsed,
        r.unparsed
    );
    if r.long_lines > 0 {
        s.push_str(&format!(", {} over-long line(s) cut", r.long_lines));
    }
    if r.capped {
        s.push_str(", stopped at the size cap");
    }
    if r.anomalies > 0 {
        s.push_str(&format!(", {} anomal(y/ies)", r.anomalies));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(", not read: {}", escape_terminal(e.as_bytes())));
    }
    s
}

/// Runs `cordon logs`.
pub fn run(args: &LogsArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let target = target_of(args.root.as_ref())?;
    let detached = args.root.is_none() && !args.logs.is_empty();
    let system = if detached {
        cordon_timeline::setup::detached(args.tz.as_deref())?
    } else {
        cordon_timeline::setup::examine(&target, args.tz.as_deref())?
    };
    let label = match (detached, args.logs.first()) {
        (true, Some(first)) => first.display().to_string(),
        _ if target.is_live() => system.host.clone(),
        _ => target.label(),
    };
    let (files, notes) = files_of(
        &target,
        args.root.is_some() || args.logs.is_empty(),
        &args.logs,
        args.log_format,
    )?;
    let mut case = ctx.try_open_case()?;

    let mut cfg = Config::new(label.clone());
    cfg.accounts = system.accounts.clone();
    cfg.incident_start = args.incident_start;
    cfg.brute_threshold = args.brute_threshold.max(1);
    let mut det = Detector::new(cfg);
    let mut opts = Options::new(system.host.clone());
    opts.zone = system.zone.clone();
    opts.uid_names = system.uid_names.clone();
    opts.limits.max_decompressed = args.max_log_mib.saturating_mul(1024 * 1024);
    opts.want = if case.is_some() { Want::Notable } else { Want::None };
    let mut events: Vec<Event> = Vec::new();
    let mut dropped = 0u64;
    let mut reports = Vec::new();
    for f in &files {
        let r = sources::process(f, &mut opts, Some(&mut det), &mut |e| {
            if events.len() < EVENTS_CAP {
                events.push(e);
            } else {
                dropped += 1;
            }
        });
        reports.push(r);
    }
    let findings = det.finish();

    for n in system.notes.iter().chain(&notes) {
        output::info(n);
    }
    for r in &reports {
        output::info(&report_line(r));
    }
    if files.is_empty() {
        output::warn("no logs found on the target");
    }
    match case.as_mut() {
        Some(c) => {
            let recorded = c.record_findings(&ctx.clock, &ctx.actor, "logs", &label, &findings)?;
            let stored = c.record_events(&ctx.clock, &ctx.actor, "logs", &events)?;
            c.complete_task(&ctx.clock, &ctx.actor, "entry")?;
            output::info(&format!(
                "{} finding(s) stored in the case ({} new), {stored} notable event(s){}",
                findings.len(),
                recorded.new,
                if dropped > 0 {
                    format!(" ({dropped} more not stored: cap {EVENTS_CAP})")
                } else {
                    String::new()
                }
            ));
        }
        None => output::info(
            "no case: findings and events were not stored (use --case DIR or CORDON_CASE to keep them)",
        ),
    }

    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= args.min_severity)
        .collect();
    if args.json {
        for f in &shown {
            writeln!(ctx.out(), "{}", f.to_json())?;
        }
    } else {
        print_human(&shown, findings.len(), &label, args.min_severity, ctx)?;
    }
    Ok(if findings.iter().any(|f| f.severity >= Severity::Medium) {
        Outcome::Attention
    } else {
        Outcome::Clean
    })
}

fn print_human(
    shown: &[&Finding],
    total: usize,
    target: &str,
    min: Severity,
    ctx: &mut Ctx,
) -> anyhow::Result<()> {
    let out = ctx.out();
    for f in shown {
        writeln!(
            out,
            "[{}] {}  {}  confidence {}",
            f.severity.as_str(),
            f.check,
            f.technique.as_deref().unwrap_or("-"),
            f.confidence.as_str()
        )?;
        writeln!(out, "    {}", escape_terminal(f.summary.as_bytes()))?;
        if !f.evidence.is_empty() {
            let ev: Vec<u8> = f.evidence.iter().copied().take(300).collect();
            let more = if f.evidence.len() > 300 { " …" } else { "" };
            let at = match (&f.path, f.attrs.get("line")) {
                (Some(p), Some(l)) => format!(" ({}:{l})", escape_terminal(p)),
                (Some(p), None) => format!(" ({})", escape_terminal(p)),
                _ => String::new(),
            };
            writeln!(out, "    evidence{at}: {}{more}", escape_terminal(&ev))?;
        }
        writeln!(
            out,
            "    what to do: {}",
            escape_terminal(f.remediation.as_bytes())
        )?;
    }
    let hidden = total - shown.len();
    writeln!(
        out,
        "{} finding(s) on {}{}",
        shown.len(),
        escape_terminal(target.as_bytes()),
        if hidden > 0 {
            format!(
                "; {hidden} below {} not shown (--min-severity info shows all)",
                min.as_str()
            )
        } else {
            String::new()
        }
    )?;
    Ok(())
}
