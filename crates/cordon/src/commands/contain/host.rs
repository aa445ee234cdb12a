//! `cordon contain account|file|process`: the plan, then (with `--apply`) the change, journaled
//! before and after, with whatever was taken off the host registered as evidence.

use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use clap::Args;
use cordon_case::evidence::{FileRecord, NewItem};
use cordon_contain::account::AccountRequest;
use cordon_contain::freeze::FreezeRequest;
use cordon_contain::quarantine::QuarantineRequest;
use cordon_contain::store::StoredFile;
use cordon_core::escape_terminal_str;
use serde::Serialize;
use serde_json::json;

use super::state::{self};
use super::{ApplyArgs, journal, store_dir};
use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon contain account`
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The account to lock (a name from the target's /etc/passwd).
    pub user: String,
    /// Edit an offline copy of the system (a mounted disk) instead of the live host.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Also end the user's login sessions (processes whose audit login uid is the user's).
    #[arg(long)]
    pub kill_sessions: bool,
    #[command(flatten)]
    pub act: ApplyArgs,
}

/// `cordon contain file`
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Files to move into the case (web shells, implants, dropped tools).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub act: ApplyArgs,
}

/// `cordon contain process`
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Processes to freeze.
    #[arg(required = true)]
    pub pids: Vec<i32>,
    /// Freeze the process's whole cgroup (cgroup v2 freezer) instead of sending SIGSTOP.
    #[arg(long)]
    pub cgroup: bool,
    /// Kill processes that an earlier `contain process` froze (memory should be captured first).
    #[arg(long)]
    pub kill: bool,
    #[command(flatten)]
    pub act: ApplyArgs,
}

/// Prints the plan; journals it as a dry run, or applies it.
fn show(ctx: &mut Ctx, title: &str, lines: &[String]) -> anyhow::Result<()> {
    let out = ctx.out();
    writeln!(out, "Plan: {}", escape_terminal_str(title))?;
    for l in lines {
        writeln!(out, "  - {}", escape_terminal_str(l))?;
    }
    Ok(())
}

/// Journals before, applies, journals the record after, registers stored files as evidence.
fn apply<R: Serialize>(
    ctx: &mut Ctx,
    kind: &str,
    target: &str,
    lines: &[String],
    act: &ApplyArgs,
    run: impl FnOnce(&Path) -> Result<R, cordon_contain::Error>,
    files: impl Fn(&R) -> Vec<StoredFile>,
) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    if !act.apply {
        journal::plan_shown(&mut case, ctx, kind, target, lines)?;
        writeln!(ctx.out(), "\ndry run: nothing was changed. Add --apply to act.")?;
        return Ok(Outcome::Clean);
    }
    let id = journal::before(&mut case, ctx, kind, target, lines, act.force)?;
    let case_dir = std::fs::canonicalize(case.dir()).unwrap_or_else(|_| case.dir().to_path_buf());
    let store = store_dir(&case_dir, &id);
    let record = match run(&store) {
        Ok(r) => r,
        Err(e) => {
            let e = anyhow::Error::new(e);
            journal::failed(&mut case, ctx, &id, kind, &e);
            return Err(e.context(format!("contain {kind} was NOT applied")));
        }
    };
    let stored = files(&record);
    // `json!` would panic on a value that cannot be serialised, after the host was changed.
    journal::applied(
        &mut case,
        ctx,
        &id,
        kind,
        target,
        serde_json::to_value(&record)?,
        json!({"stored": serde_json::to_value(&stored)?}),
    )?;
    if !stored.is_empty() {
        register(&mut case, ctx, &id, kind, &store, &stored)?;
    }
    case.complete_task(&ctx.clock, &ctx.actor, "contain")?;
    writeln!(
        ctx.out(),
        "\n{id}: APPLIED. Undo with `cordon contain undo {id}`."
    )?;
    Ok(Outcome::Clean)
}

fn register(
    case: &mut cordon_case::Case,
    ctx: &Ctx,
    id: &str,
    kind: &str,
    store: &Path,
    stored: &[StoredFile],
) -> anyhow::Result<()> {
    let case_dir = std::fs::canonicalize(case.dir()).unwrap_or_else(|_| case.dir().to_path_buf());
    let rel = |p: &Path| -> Vec<u8> {
        p.strip_prefix(&case_dir)
            .unwrap_or(p)
            .as_os_str()
            .as_bytes()
            .to_vec()
    };
    let item = NewItem {
        label: format!("{id}: files taken off the host by contain {kind}"),
        kind: "containment".into(),
        path: rel(store),
        note: Vec::new(),
        source: stored
            .iter()
            .map(|f| f.original.as_os_str().as_bytes().to_vec())
            .collect::<Vec<_>>()
            .join(&b'\n'),
        source_host: cordon_host::identity::hostname(),
        method: format!(
            "cordon {} contain {kind}: copied with SHA-256 while streaming and fsynced before the \
             original was changed",
            env!("CARGO_PKG_VERSION")
        ),
        action: "acquired".into(),
        files: stored
            .iter()
            .map(|f| FileRecord {
                path: rel(&f.stored),
                sha256: f.sha256.clone(),
                size: f.size,
            })
            .collect(),
        details: json!({"containment_id": id, "roles": stored.iter().map(|f| &f.role).collect::<Vec<_>>()}),
    };
    case.register_evidence(&ctx.clock, &ctx.actor, &item)?;
    Ok(())
}

/// `cordon contain account USER`
pub fn account(args: &AccountArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let req = AccountRequest {
        root: args.root.clone(),
        user: args.user.clone(),
        kill_sessions: args.kill_sessions,
        force: args.act.force,
    };
    let plan = req.plan()?;
    let lines = plan.describe();
    let target = if args.root == Path::new("/") {
        args.user.clone()
    } else {
        format!("{} (under {})", args.user, args.root.display())
    };
    show(ctx, &format!("lock account {target}"), &lines)?;
    apply(
        ctx,
        "account",
        &target,
        &lines,
        &args.act,
        |store| plan.apply(store),
        |r| r.files(),
    )
}

/// `cordon contain file PATH...`
pub fn file(args: &FileArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let req = QuarantineRequest {
        paths: args.paths.clone(),
    };
    let plan = req.plan()?;
    let lines = plan.describe();
    let target: String = args
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    show(ctx, &format!("quarantine {target}"), &lines)?;
    apply(
        ctx,
        "file",
        &target,
        &lines,
        &args.act,
        |store| plan.apply(store),
        |r| r.files(),
    )
}

/// `cordon contain process PID...` (freeze), or `--kill` for processes frozen before.
pub fn process(args: &ProcessArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    if args.kill {
        return kill(args, ctx);
    }
    let req = FreezeRequest {
        pids: args.pids.clone(),
        cgroup: args.cgroup,
        kill: false,
    };
    let plan = req.plan()?;
    let lines = plan.describe();
    let target: String = args
        .pids
        .iter()
        .map(|p| format!("pid {p}"))
        .collect::<Vec<_>>()
        .join(" ");
    show(ctx, &format!("freeze {target}"), &lines)?;
    apply(
        ctx,
        "process",
        &target,
        &lines,
        &args.act,
        |_| plan.apply(),
        |_| Vec::new(),
    )
}

/// Kills processes that a `contain process` action froze and that are still frozen.
fn kill(args: &ProcessArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let actions = state::actions(&case)?;
    let mut done = false;
    for a in actions
        .iter()
        .filter(|a| a.kind == "process" && a.stage.in_force())
    {
        let mut record: cordon_contain::freeze::FreezeRecord = serde_json::from_value(a.record.clone())?;
        record.processes.retain(|p| args.pids.contains(&p.process.pid));
        if record.processes.is_empty() {
            continue;
        }
        done = true;
        let wanted: Vec<i32> = record.processes.iter().map(|p| p.process.pid).collect();
        let target = wanted
            .iter()
            .map(|p| format!("pid {p}"))
            .collect::<Vec<_>>()
            .join(" ");
        let lines = vec![format!(
            "kill {target}, frozen by {} (only if still frozen and not a reused pid)",
            a.id
        )];
        show(ctx, &format!("kill frozen {target}"), &lines)?;
        if !args.act.apply {
            journal::plan_shown(&mut case, ctx, "process-kill", &target, &lines)?;
            writeln!(ctx.out(), "\ndry run: nothing was changed. Add --apply to kill.")?;
            continue;
        }
        let id = journal::before(&mut case, ctx, "process-kill", &target, &lines, args.act.force)?;
        match cordon_contain::freeze::kill_frozen(&record) {
            Ok(report) => {
                let described = report.describe();
                journal::stage(
                    &mut case,
                    ctx,
                    "contain.killed",
                    &a.id,
                    &format!("{id}: killed frozen {target} of {}", a.id),
                    json!({"kill_id": id, "report": described}),
                )?;
                for l in &described {
                    writeln!(ctx.out(), "  - {}", escape_terminal_str(l))?;
                }
            }
            Err(e) => {
                let e = anyhow::Error::new(e);
                journal::failed(&mut case, ctx, &id, "process-kill", &e);
                return Err(e);
            }
        }
    }
    if !done {
        anyhow::bail!(
            "none of {:?} was frozen by `cordon contain process`: freeze first (so memory can be captured), \
             then kill",
            args.pids
        );
    }
    Ok(Outcome::Clean)
}
