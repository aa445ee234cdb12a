//! The command line: global options and the list of subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;

/// Incident response for a compromised Linux server: document, preserve, collect, contain, hunt, report.
#[derive(Debug, Parser)]
#[command(name = "cordon", version, about, max_term_width = 110)]
pub struct Cli {
    /// The case directory (default: $CORDON_CASE, else the current directory or a parent holding case.sqlite).
    #[arg(long, global = true, env = "CORDON_CASE", value_name = "DIR")]
    pub case: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The first hour in one command: open the case, collect, hunt, read logs, sitrep, preliminary report.
    Triage(commands::triage::TriageArgs),
    /// Create, verify and seal a case.
    #[command(subcommand)]
    Case(commands::case::CaseCommand),
    /// Live response: collect volatile state first, then metadata and files, into an evidence bundle.
    Collect(commands::collect::CollectArgs),
    /// Image a disk, partition or file into the case: hashed while streaming, error map, split, zstd.
    Image(commands::image::ImageArgs),
    /// Physical memory as LiME (from /dev/crash, /proc/kcore or /dev/mem), with symbols for analysis.
    Memory(commands::memory::MemoryArgs),
    /// Network traffic as pcapng through cordon's own AF_PACKET socket, with a small native filter subset.
    Capture(commands::capture::CaptureArgs),
    /// Stop the loss: isolate the network, lock accounts, quarantine files, freeze processes (undoable).
    #[command(subcommand)]
    Contain(commands::contain::ContainCommand),
    /// Find what the attacker left behind: persistence, backdoors, rootkit signs.
    Hunt(commands::hunt::HuntArgs),
    /// Check installed packages against the dpkg database or against original .deb files.
    #[command(subcommand)]
    Verify(commands::verify::VerifyCommand),
    /// Sweep files with YARA rules and IOC lists (hashes, names, addresses).
    Scan(commands::scan::ScanArgs),
    /// Record a tree (hashes, modes, owners, times, capabilities) or list what changed since.
    #[command(subcommand)]
    Baseline(commands::baseline::BaselineCommand),
    /// How did they get in: detections over the logs and login records (brute force → success …).
    Logs(commands::logs::LogsArgs),
    /// One merged, time-sorted super timeline: file times, logs, logins (JSONL, CSV, bodyfile).
    Timeline(commands::timeline::TimelineArgs),
    /// Add a line to the case journal ("pulled the network cable at 14:02").
    Note(commands::note::NoteArgs),
    /// List the case journal.
    Journal(commands::journal::JournalArgs),
    /// Register and list evidence gathered by hand.
    #[command(subcommand)]
    Evidence(commands::evidence::EvidenceCommand),
    /// The case at a glance, and what to do next.
    Status(commands::status::StatusArgs),
    /// The short status update for management (every ~30 minutes), journaled as sent.
    Sitrep(commands::sitrep::SitrepArgs),
    /// The incident report (md, html, pdf) with an appendix to verify it; `report edit SECTION`.
    Report(commands::report::ReportArgs),
    /// Check backups for the incident's indicators and name the newest clean one.
    #[command(subcommand)]
    Backup(commands::backup::BackupCommand),
    /// The gate before the rebuilt host goes back on the network.
    Preflight(commands::preflight::PreflightArgs),
    /// Draft a message to customers, staff or the regulator from the case's facts.
    Comms(commands::comms::CommsArgs),
    /// The Incident Response Plan: write it from the organisation's facts, check what is missing.
    #[command(subcommand)]
    Plan(commands::plan::PlanCommand),
    /// The response playbook: list, tick off and add tasks.
    #[command(subcommand)]
    Task(commands::task::TaskCommand),
}
