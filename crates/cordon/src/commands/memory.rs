//! `cordon memory`: physical memory as LiME (what Volatility reads), plus the files analysis needs
//! (kernel version, kallsyms, System.map, BTF); when the kernel refuses, exactly which interface
//! failed and why, and what to do instead.

use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cordon_case::case::EVIDENCE_DIR;
use cordon_case::evidence::{FileRecord, NewItem};
use cordon_core::{Clock as _, escape_terminal, format_utc};
use cordon_image::Error as ImageError;
use cordon_image::memory::{MemoryPaths, copy_companions, open_memory, write_lime};
use serde_json::json;

use super::image::{Meter, case_rel, evidence_name, record_incomplete, work_dir, write_log};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// What to use when this kernel does not let a userland program read physical memory.
const ALTERNATIVES: &str = "alternatives: load a LiME kernel module built for this exact kernel from trusted \
media; take a memory snapshot from the hypervisor (VM platforms: snapshot with memory, `virsh dump \
--memory-only`); on RHEL-family kernels `modprobe crash` provides /dev/crash; a lockdown kernel can only be \
imaged from outside (hypervisor, or a cold-boot/DMA method).";

/// `cordon memory`
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// Directory to write into (default: the case's evidence directory).
    pub dest: Option<PathBuf>,
}

/// Runs `cordon memory`.
pub fn run(args: &MemoryArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let paths = MemoryPaths::live();
    let source = match open_memory(&paths) {
        Ok(s) => s,
        Err(ImageError::MemoryRefused { reasons }) => {
            let mut err = std::io::stderr();
            let _ = writeln!(
                err,
                "physical memory cannot be read on this system; tried, in order:"
            );
            for r in &reasons {
                let _ = writeln!(err, "  {}", escape_terminal(r.as_bytes()));
            }
            let _ = writeln!(err, "{ALTERNATIVES}");
            anyhow::bail!(
                "memory acquisition refused by this kernel ({} reason(s) above); nothing was written",
                reasons.len()
            );
        }
        Err(e) => return Err(e.into()),
    };
    let name = evidence_name(&case, ctx, "memory", "")?;
    let dest = match &args.dest {
        Some(d) => std::fs::canonicalize(d).with_context(|| format!("cannot resolve {}", d.display()))?,
        None => case.dir().join(EVIDENCE_DIR),
    };
    let (base, work) = work_dir(&case, Some(&dest), &name)?;
    let total: u64 = source.ranges.iter().map(|r| r.len()).sum();
    let _ = writeln!(
        std::io::stderr(),
        "memory: {} in {} range(s) through {} into {}",
        output::bytes(total),
        source.ranges.len(),
        source.path.display(),
        escape_terminal(work.as_os_str().as_bytes())
    );
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    let mut log = json!({
        "tool": format!("cordon {}", env!("CARGO_PKG_VERSION")),
        "started": format_utc(ctx.clock.now()),
        "host": cordon_host::identity::hostname(),
        "kernel_release": release,
        "interface": source.kind,
        "interface_path": source.path.to_string_lossy(),
        "iomem_ranges": source.ranges,
        "unmapped_ranges": source.unmapped,
        "lockdown": source.lockdown,
        "format": "LiME v1",
    });
    let mut meter = Meter::new("memory");
    let image = write_lime(&source, &work.join("memory.lime"), &mut |done, total| {
        meter.update(done, total, 0);
        true
    });
    meter.end();
    let image = match image {
        Ok(i) => i,
        Err(e) => {
            let e = anyhow::Error::new(e);
            let dir = record_incomplete(&mut case, ctx, &work, &base, &name, log, &e);
            return Err(e.context(format!(
                "the memory image is INCOMPLETE and was not registered; it is in {}",
                dir.display()
            )));
        }
    };
    let companions = copy_companions(&work, &release);
    if let serde_json::Value::Object(m) = &mut log {
        m.insert("complete".into(), json!(true));
        m.insert("ended".into(), json!(format_utc(ctx.clock.now())));
        m.insert("image".into(), json!(image));
        m.insert("companions".into(), json!(companions));
    }
    let (log_path, log_sha, log_size) = write_log(&work, &log)?;
    let final_dir = base.join(&name);
    std::fs::rename(&work, &final_dir)
        .with_context(|| format!("cannot rename {} to {}", work.display(), final_dir.display()))?;
    let mut files = vec![FileRecord {
        path: case_rel(case.dir(), &final_dir.join("memory.lime")),
        sha256: image.sha256.clone(),
        size: image.size,
    }];
    for c in &companions {
        if let Some((sha256, size)) = &c.copied {
            files.push(FileRecord {
                path: case_rel(case.dir(), &final_dir.join(&c.name)),
                sha256: sha256.clone(),
                size: *size,
            });
        }
    }
    files.push(FileRecord {
        path: case_rel(
            case.dir(),
            &final_dir.join(log_path.file_name().unwrap_or_default()),
        ),
        sha256: log_sha,
        size: log_size,
    });
    let item = NewItem {
        label: "physical memory".into(),
        kind: "memory-image".into(),
        path: case_rel(case.dir(), &final_dir),
        note: Vec::new(),
        source: source.path.as_os_str().as_bytes().to_vec(),
        source_host: cordon_host::identity::hostname(),
        method: format!(
            "cordon {} memory (System RAM ranges of /proc/iomem read through {}, written as LiME v1, SHA-256 while streaming)",
            env!("CARGO_PKG_VERSION"),
            source.path.display()
        ),
        action: "acquired".into(),
        files,
        details: log,
    };
    let registered = case.register_evidence(&ctx.clock, &ctx.actor, &item)?;
    let out = ctx.out();
    writeln!(
        out,
        "E{:04}  {}  ({} of memory, {} range(s))",
        registered.id,
        escape_terminal(&case_rel(case.dir(), &final_dir)),
        output::bytes(image.memory_bytes),
        image.ranges.len()
    )?;
    writeln!(out, "sha256  {}", image.sha256)?;
    for c in &companions {
        if c.copied.is_none() {
            writeln!(
                out,
                "note: {}: {}",
                c.source.display(),
                escape_terminal(c.note.as_bytes())
            )?;
        }
    }
    if !image.bad.is_empty() || !source.unmapped.is_empty() {
        writeln!(
            out,
            "completed with gaps: {} unreadable range(s), {} RAM range(s) not mapped by the interface",
            image.bad.len(),
            source.unmapped.len()
        )?;
        return Ok(Outcome::Attention);
    }
    Ok(Outcome::Clean)
}
