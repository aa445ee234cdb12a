//! Reads one log file through the whole `cordon logs` pipeline — syslog header, year inference (two
//! passes), message classification, detections — and prints lines, seconds and lines per second.
//! `bench/timeline.sh` times it on a large synthetic auth.log.
//!
//! Usage: `parse_log FILE [syslog|access|…] [--events]` (`--events` also builds every timeline event).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use cordon_timeline::detect::{Config, Detector};
use cordon_timeline::sources::{self, Format, LogFile, Options, Want};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: parse_log FILE [FORMAT] [--events]");
        return ExitCode::from(2);
    };
    let format = args
        .get(1)
        .and_then(|f| Format::parse(f))
        .or_else(|| sources::sniff(&path));
    let Some(format) = format else {
        eprintln!("cannot tell the format of {}", path.display());
        return ExitCode::from(2);
    };
    let file = LogFile {
        inner: path.as_os_str().as_encoded_bytes().to_vec(),
        local: path.clone(),
        format,
        family: "bench".into(),
        order: 0,
        user: None,
        root: None,
    };
    let mut opts = Options::new("bench");
    opts.want = if args.iter().any(|a| a == "--events") {
        Want::All
    } else {
        Want::None
    };
    let mut det = Detector::new(Config::new("bench"));
    let mut events = 0u64;
    let start = Instant::now();
    let report = sources::process(&file, &mut opts, Some(&mut det), &mut |_| events += 1);
    let findings = det.finish();
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = &report.error {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    println!(
        "{} lines ({} parsed, {} unparsed), {events} events, {} findings in {secs:.3} s: {:.0} lines/s",
        report.lines,
        report.parsed,
        report.unparsed,
        findings.len(),
        report.lines as f64 / secs
    );
    ExitCode::SUCCESS
}
