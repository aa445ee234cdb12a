//! `cordon report`: the incident report (Markdown, self-contained HTML, PDF through a local
//! Chromium), with an appendix anyone can use to verify the case; `cordon report edit SECTION` for
//! the parts only people can write.

use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use cordon_case::Case;
use cordon_core::{Clock as _, escape_terminal, format_utc};
use cordon_report::{Medium, gather, render};
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::exit::Outcome;

/// The independent journal verifier shipped with every report (docs/journal.md specifies it).
const VERIFIER: &str = include_str!("../../../../docs/verify_journal.py");

/// `cordon report`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    /// Write or replace a human-written section.
    #[command(subcommand)]
    pub edit: Option<ReportCommand>,
    /// Formats to write, comma-separated: md, html, pdf (pdf needs a local chromium).
    #[arg(long, default_value = "md,html", value_delimiter = ',')]
    pub format: Vec<String>,
    /// Output directory (default: the case's reports/report-<UTC time>/).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// `cordon report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Write a section: summary, scope, impact, root_cause, recovery, lessons, recommendations.
    Edit(EditArgs),
}

/// `cordon report edit`
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The section.
    pub section: String,
    /// Read the text from FILE (`-` = standard input) instead of opening $EDITOR.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

/// Runs `cordon report`.
pub fn run(args: &ReportArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    if let Some(ReportCommand::Edit(e)) = &args.edit {
        return edit(e, ctx);
    }
    let mut case = ctx.open_case()?;
    let now = format_utc(ctx.clock.now());
    let dir = match &args.output {
        Some(d) => d.clone(),
        None => case
            .dir()
            .join("reports")
            .join(format!("report-{}", ctx.clock.now().strftime("%Y%m%dT%H%M%SZ"))),
    };
    let written = write_report(&mut case, ctx, &dir, &args.format, &now, "report")?;
    for (name, _) in &written {
        writeln!(
            ctx.out(),
            "{}",
            escape_terminal(dir.join(name).as_os_str().as_bytes())
        )?;
    }
    Ok(Outcome::Clean)
}

/// Writes the report files into `dir` and journals them; returns (file name, sha256) of each.
pub fn write_report(
    case: &mut Case,
    ctx: &Ctx,
    dir: &Path,
    formats: &[String],
    now: &str,
    label: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    for f in formats {
        if !matches!(f.as_str(), "md" | "html" | "pdf") {
            bail!("unknown report format {f:?}: use md, html or pdf");
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let rel = |name: &str| -> String {
        let p = dir.join(name);
        match p.strip_prefix(case.dir()) {
            Ok(r) => r.to_string_lossy().into_owned(),
            Err(_) => p.to_string_lossy().into_owned(),
        }
    };
    let mut written = Vec::new();
    let manifest = evidence_manifest(case)?;
    written.push(write_file(dir, "evidence.sha256", manifest.as_bytes())?);
    written.push(write_file(dir, "verify_journal.py", VERIFIER.as_bytes())?);

    let mut report_ctx = gather(case, now)?;
    if let Value::Object(m) = &mut report_ctx {
        m.insert(
            "appendix".into(),
            json!({"verifier": rel("verify_journal.py"), "manifest": rel("evidence.sha256")}),
        );
    }
    if formats.iter().any(|f| f == "md") {
        written.push(write_file(
            dir,
            "report.md",
            render("report", Medium::Markdown, &report_ctx)?.as_bytes(),
        )?);
    }
    if formats.iter().any(|f| f == "html" || f == "pdf") {
        written.push(write_file(
            dir,
            "report.html",
            render("report", Medium::Html, &report_ctx)?.as_bytes(),
        )?);
    }
    if formats.iter().any(|f| f == "pdf") {
        print_pdf(&dir.join("report.html"), &dir.join("report.pdf"))?;
        let bytes = std::fs::read(dir.join("report.pdf"))?;
        written.push(("report.pdf".into(), sha256_hex(&bytes)));
    }
    let files: Vec<Value> = written
        .iter()
        .map(|(n, s)| json!({"file": rel(n), "sha256": s}))
        .collect();
    case.append(
        &ctx.clock,
        &ctx.actor,
        "report.generated",
        format!("{label} written to {}", rel("")).as_bytes(),
        &json!({"files": files, "formats": formats}),
    )?;
    Ok(written)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let (sha, _) = cordon_case::evidence::hash_reader(&mut &bytes[..]).unwrap_or_default();
    sha
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<(String, String)> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((name.to_owned(), sha256_hex(bytes)))
}

/// `sha256sum -c` input for every registered evidence file, paths relative to the case directory.
/// GNU coreutils' convention: a name holding `\` or a newline is escaped and its line starts with `\`.
fn evidence_manifest(case: &Case) -> anyhow::Result<String> {
    let mut out = String::new();
    for item in case.evidence_items()? {
        for f in case.evidence_files(item.id)? {
            let name = String::from_utf8_lossy(&f.path);
            if f.path.contains(&b'\n') || f.path.contains(&b'\\') || std::str::from_utf8(&f.path).is_err() {
                if std::str::from_utf8(&f.path).is_err() {
                    // sha256sum reads raw bytes; a lossy name would not match. Left out, and said so.
                    out.push_str(&format!(
                        "# not listed (name is not UTF-8): evidence E{:04}\n",
                        item.id
                    ));
                    continue;
                }
                out.push_str(&format!(
                    "\\{}  {}\n",
                    f.sha256,
                    name.replace('\\', "\\\\").replace('\n', "\\n")
                ));
            } else {
                out.push_str(&format!("{}  {}\n", f.sha256, name));
            }
        }
    }
    Ok(out)
}

fn print_pdf(html: &Path, pdf: &Path) -> anyhow::Result<()> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| which(b))
        .context("PDF needs a local Chromium (apt-get install chromium) on the analyst's machine; md and html were written")?;
    let status = std::process::Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("cannot run chromium")?;
    if !status.success() || !pdf.exists() {
        bail!("chromium could not print the report to PDF ({status})");
    }
    Ok(())
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .as_bytes()
        .split(|&b| b == b':')
        .map(|d| Path::new(std::ffi::OsStr::from_bytes(d)).join(name))
        .find(|p| p.is_file())
}

fn edit(args: &EditArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let text = match &args.from {
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::stdin().lock().take(16 << 20).read_to_end(&mut buf)?;
            buf
        }
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        None => edit_in_editor(&case, &args.section)?,
    };
    case.set_section(&ctx.clock, &ctx.actor, &args.section, &text)?;
    writeln!(ctx.out(), "section {} saved ({} bytes)", args.section, text.len())?;
    Ok(Outcome::Clean)
}

fn edit_in_editor(case: &Case, section: &str) -> anyhow::Result<Vec<u8>> {
    let editor = std::env::var("EDITOR")
        .or_else(|_| std::env::var("VISUAL"))
        .context("set $EDITOR or use --from FILE")?;
    let current = case
        .sections()?
        .get(section)
        .map(|s| s.text.clone())
        .unwrap_or_default();
    let tmp = tempfile_in(case.dir())?;
    std::fs::write(&tmp, &current)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&tmp)
        .status()?;
    let text = std::fs::read(&tmp);
    let _ = std::fs::remove_file(&tmp);
    if !status.success() {
        bail!("the editor exited with {status}; nothing saved");
    }
    Ok(text?)
}

fn tempfile_in(dir: &Path) -> anyhow::Result<PathBuf> {
    Ok(dir.join(format!(".edit-{}.md", std::process::id())))
}
