//! Runs a collection without a case (benchmarks and manual checks):
//! `collect OUT_DIR [--only T1,T3] [--skip T6] [--root DIR] [--archive] [--max-file-size BYTES]`.
#![allow(clippy::print_stderr, clippy::print_stdout)]

use cordon_collect::{CollectOptions, Progress, collect, parse_tiers};
use cordon_core::SystemClock;
use cordon_host::Target;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: collect OUT_DIR [options]"))?;
    let mut opts = CollectOptions::new(Target::live(), out);
    opts.allow_suspect_storage = true;
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow::anyhow!("{a} needs a value"));
        match a.as_str() {
            "--only" => opts.tiers = parse_tiers(&value()?)?,
            "--skip" => {
                for t in parse_tiers(&value()?)? {
                    opts.tiers.remove(&t);
                }
            }
            "--root" => opts.target = Target::offline(value()?),
            "--archive" => opts.archive = true,
            "--cross-mounts" => opts.cross_mounts = true,
            "--max-file-size" => opts.max_file_size = value()?.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    let report = collect(&opts, &SystemClock, &mut |p| {
        if let Progress::Source {
            tier,
            source,
            items,
            bytes,
            finished: true,
        } = p
        {
            eprintln!("{tier} {source}: {items} items, {bytes} bytes");
        }
    })?;
    for s in &report.sources {
        let ms = s.finished.duration_since(s.started).as_secs_f64() * 1000.0;
        eprintln!(
            "{:>3} {:<14} {:>9.0} ms  errors {}",
            s.tier, s.source, ms, s.errors
        );
    }
    eprintln!(
        "{} files, partial={}, errors={}, notes={:?}",
        report.files.len(),
        report.partial,
        report.errors,
        report.notes
    );
    Ok(())
}
