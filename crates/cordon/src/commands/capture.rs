//! `cordon capture`: network traffic recorded as pcapng through an AF_PACKET socket that cordon opens
//! itself (the host's tcpdump is never run), hashed while written, registered as evidence with
//! custody, with packet, byte and kernel drop counts.

use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use cordon_case::evidence::{FileRecord, NewItem};
use cordon_core::{Clock as _, escape_terminal, format_utc};
use cordon_image::capture::{Capture, CaptureOptions, DEFAULT_SNAPLEN, Filter};
use serde_json::json;

use super::image::{case_rel, evidence_name, record_incomplete, safe, work_dir, write_log};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon capture`
#[derive(Debug, Args)]
#[command(
    after_help = "FILTER (--filter) is a small subset of the tcpdump language, compiled by cordon and \
applied in user space to every packet it reads (see docs/capture.md):\n  [not] tcp | udp | icmp | icmp6 | arp | ip | ip6\n  [not] port N      \
TCP/UDP/SCTP source or destination port\n  [not] host ADDR   IPv4/IPv6 source or destination address (no \
names)\njoined by `and`, e.g. --filter \"not port 22\" or --filter \"udp and port 53 and not host 10.0.0.5\".\n\
Anything else (or, parentheses, src/dst, net, portrange) is refused.\n\nWithout --count and --duration the \
capture stops after 5 minutes."
)]
pub struct CaptureArgs {
    /// Interface to capture on (`any` = every interface, captured in Linux cooked (SLL) framing).
    #[arg(long, value_name = "IFACE", default_value = "any")]
    pub iface: String,
    /// Stop after this long (`30s`, `5m`, `1h`); 5m when neither --duration nor --count is given.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many packets have been written.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Keep only matching packets (supported subset below).
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_SNAPLEN)]
    pub snaplen: u32,
    /// Directory to write into (default: the case's evidence directory).
    pub dest: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 5m, 1h)"))?;
    let secs = match unit {
        "s" | "" => Some(n),
        "m" | "min" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(|| format!("{s:?} is not a duration (e.g. 30s, 5m, 1h)"))?;
    if secs == 0 {
        return Err("the duration must be at least 1s".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Runs `cordon capture`.
pub fn run(args: &CaptureArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let filter = match &args.filter {
        Some(f) => Filter::parse(f)?,
        None => Filter::default(),
    };
    let mut case = ctx.open_case()?;
    let duration = match (args.duration, args.count) {
        (None, None) => Some(Duration::from_secs(300)),
        (d, _) => d,
    };
    let opts = CaptureOptions {
        iface: (args.iface != "any").then(|| args.iface.clone()),
        count: args.count,
        duration,
        filter: filter.clone(),
        snaplen: args.snaplen,
    };
    // Open before creating anything: an unknown interface or a missing privilege leaves no trace.
    let capture = Capture::open(opts)?;
    let name = evidence_name(&case, ctx, "capture", &safe(capture.interface()))?;
    let (base, work) = work_dir(&case, args.dest.as_deref(), &name)?;
    let pcap = work.join("capture.pcapng");
    let mut log = json!({
        "tool": format!("cordon {}", env!("CARGO_PKG_VERSION")),
        "started": format_utc(ctx.clock.now()),
        "host": cordon_host::identity::hostname(),
        "interface": capture.interface(),
        "linktype": capture.linktype(),
        "filter": args.filter,
        "filter_compiled": filter,
        "count_limit": args.count,
        "duration_limit_secs": duration.map(|d| d.as_secs()),
        "format": "pcapng",
    });
    let _ = writeln!(
        std::io::stderr(),
        "capture: listening on {} ({}){}{}{} into {}",
        escape_terminal(capture.interface().as_bytes()),
        if capture.linktype() == cordon_image::pcapng::LINKTYPE_ETHERNET {
            "Ethernet"
        } else {
            "Linux cooked"
        },
        args.filter
            .as_deref()
            .map(|f| format!(", filter {:?}", escape_terminal(f.as_bytes())))
            .unwrap_or_default(),
        args.count.map(|c| format!(", {c} packet(s)")).unwrap_or_default(),
        duration
            .map(|d| format!(", at most {}s", d.as_secs()))
            .unwrap_or_default(),
        escape_terminal(work.as_os_str().as_bytes())
    );
    let tty = rustix::termios::isatty(std::io::stderr());
    let every = Duration::from_millis(if tty { 500 } else { 30_000 });
    let mut last = Instant::now();
    let application = format!("cordon {}", env!("CARGO_PKG_VERSION"));
    let result = capture.run(&pcap, &application, &ctx.clock, &mut |c| {
        if last.elapsed() >= every {
            last = Instant::now();
            let line = format!(
                "capture: {} packet(s) written, {} seen, {}",
                c.written,
                c.received,
                output::bytes(c.bytes)
            );
            let mut err = std::io::stderr();
            let _ = if tty {
                write!(err, "\r{line}\x1b[K")
            } else {
                writeln!(err, "{line}")
            };
        }
        true
    });
    if tty {
        let _ = writeln!(std::io::stderr());
    }
    let got = match result {
        Ok(g) => g,
        Err(e) => {
            let e = anyhow::Error::new(e);
            let dir = record_incomplete(&mut case, ctx, &work, &base, &name, log, &e);
            return Err(e.context(format!(
                "the capture is INCOMPLETE and was not registered; it is in {}",
                dir.display()
            )));
        }
    };
    if let serde_json::Value::Object(m) = &mut log {
        m.insert("complete".into(), json!(true));
        m.insert("ended".into(), json!(format_utc(ctx.clock.now())));
        m.insert("capture".into(), json!(got));
    }
    let (log_path, log_sha, log_size) = write_log(&work, &log)?;
    let final_dir = base.join(&name);
    std::fs::rename(&work, &final_dir)
        .with_context(|| format!("cannot rename {} to {}", work.display(), final_dir.display()))?;
    let files = vec![
        FileRecord {
            path: case_rel(case.dir(), &final_dir.join("capture.pcapng")),
            sha256: got.sha256.clone(),
            size: got.size,
        },
        FileRecord {
            path: case_rel(
                case.dir(),
                &final_dir.join(log_path.file_name().unwrap_or_default()),
            ),
            sha256: log_sha,
            size: log_size,
        },
    ];
    let item = NewItem {
        label: format!("network capture on {}", got.interface),
        kind: "network-capture".into(),
        path: case_rel(case.dir(), &final_dir),
        note: Vec::new(),
        source: format!("interface:{}", got.interface).into_bytes(),
        source_host: cordon_host::identity::hostname(),
        method: format!(
            "cordon {} capture (AF_PACKET socket opened by cordon, {} framing, snaplen {}, filter {}, \
             written as pcapng with SHA-256 while writing)",
            env!("CARGO_PKG_VERSION"),
            if got.linktype == cordon_image::pcapng::LINKTYPE_ETHERNET {
                "Ethernet"
            } else {
                "Linux cooked (SLL)"
            },
            got.snaplen,
            args.filter.as_deref().unwrap_or("none"),
        ),
        action: "acquired".into(),
        files,
        details: log,
    };
    let registered = case.register_evidence(&ctx.clock, &ctx.actor, &item)?;
    let out = ctx.out();
    writeln!(
        out,
        "E{:04}  {}  ({} packet(s), {}, on {})",
        registered.id,
        escape_terminal(&case_rel(case.dir(), &final_dir)),
        got.counts.written,
        output::bytes(got.counts.bytes),
        escape_terminal(got.interface.as_bytes())
    )?;
    writeln!(out, "sha256  {}", got.sha256)?;
    writeln!(
        out,
        "packets: {} written, {} read from the socket, {} bytes on the wire, {} truncated to {} bytes; \
         kernel: {} received, {} dropped",
        got.counts.written,
        got.counts.received,
        got.counts.bytes,
        got.counts.truncated,
        got.snaplen,
        got.kernel_packets,
        got.kernel_drops
    )?;
    if got.kernel_drops > 0 {
        writeln!(
            out,
            "warning: the kernel dropped {} packet(s): the capture is not complete",
            got.kernel_drops
        )?;
        return Ok(Outcome::Attention);
    }
    Ok(Outcome::Clean)
}
