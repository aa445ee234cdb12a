//! `cordon contain network` and `cordon contain confirm`.

use std::path::Path;

use anyhow::Context as _;
use clap::Args;
use cordon_contain::network::{self as net, NetworkRequest};
use cordon_contain::nft::KernelState;
use cordon_core::{Clock as _, escape_terminal_str, format_utc};
use ipnet::IpNet;
use serde_json::json;

use super::state::{self, Stage};
use super::{ApplyArgs, journal, watchdog};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon contain network`
#[derive(Debug, Args)]
#[command(
    after_help = "Example: cordon contain network --allow 198.51.100.10 --rollback 10m --apply\n\
then, once you have checked that you can still reach the host: cordon contain confirm"
)]
pub struct NetworkArgs {
    /// An address or network that stays reachable (repeat, or separate with commas). Include your own.
    #[arg(long, value_name = "ADDR[/PREFIX]", value_delimiter = ',', value_parser = parse_net)]
    pub allow: Vec<IpNet>,
    /// Let the host resolve names (port 53 out, the answers back in).
    #[arg(long)]
    pub allow_dns: bool,
    /// Keep connections that were already established (and related ICMP).
    #[arg(long)]
    pub keep_established: bool,
    /// Remove the isolation automatically after this long unless `cordon contain confirm` runs.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = cordon_contain::duration::parse)]
    pub rollback: std::time::Duration,
    #[command(flatten)]
    pub act: ApplyArgs,
}

fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("not an address or network: {s:?} (e.g. 198.51.100.10 or 2001:db8::/64)"))
}

/// Shows the plan; with `--apply` installs the table and starts the watchdog.
pub fn run(args: &NetworkArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let request = NetworkRequest {
        allow: args.allow.clone(),
        allow_dns: args.allow_dns,
        keep_established: args.keep_established,
        rollback_secs: args.rollback.as_secs(),
    };
    let responder = cordon_contain::session::responder_session(Path::new("/proc"));
    let peers = cordon_contain::session::ssh_peers(Path::new("/proc"), responder.as_ref());
    let plan = request.plan(responder, &peers, args.act.force)?;
    let target: String = plan
        .request
        .allow
        .iter()
        .map(|n| format!("allow {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines: Vec<String> = plan.notes.clone();
    let nft = plan.table.to_nft();
    {
        let out = ctx.out();
        writeln!(out, "Plan: cut this host off the network except for {target}")?;
        for n in &plan.notes {
            writeln!(out, "  - {}", escape_terminal_str(n))?;
        }
        writeln!(
            out,
            "\nnftables ruleset that will be installed (nothing else is touched):\n"
        )?;
        for l in nft.lines() {
            writeln!(out, "    {l}")?;
        }
    }
    lines.push(nft.clone());
    if !args.act.apply {
        journal::plan_shown(&mut case, ctx, "network", &target, &lines)?;
        writeln!(
            ctx.out(),
            "\ndry run: nothing was changed. Add --apply to isolate the host."
        )?;
        return Ok(Outcome::Clean);
    }
    if let Some(a) = state::actions(&case)?
        .into_iter()
        .rev()
        .find(|a| a.kind == "network" && a.stage.in_force())
    {
        anyhow::bail!(
            "the network is already isolated ({}, {}); run `cordon contain undo network` first",
            a.id,
            a.stage.word()
        );
    }
    let id = journal::before(&mut case, ctx, "network", &target, &lines, args.act.force)?;
    if let Err(e) = plan.apply() {
        let e = anyhow::Error::new(e);
        journal::failed(&mut case, ctx, &id, "network", &e);
        return Err(e.context("the isolation was NOT applied (the kernel applied nothing)"));
    }
    let now = ctx.clock.now();
    let deadline = now
        .checked_add(jiff::SignedDuration::from_secs(
            i64::try_from(request_secs(&plan)).unwrap_or(600),
        ))
        .unwrap_or(now);
    let case_dir = case.dir().to_path_buf();
    let watchdog_pid = match watchdog::spawn(&case_dir, &id, &format_utc(deadline)) {
        Ok(pid) => Some(pid),
        Err(e) => {
            output::warn(&format!(
                "could not start the watchdog ({e:#}); the kernel still removes the drop rules at the deadline"
            ));
            None
        }
    };
    journal::applied(
        &mut case,
        ctx,
        &id,
        "network",
        &target,
        serde_json::to_value(&plan.request)?,
        json!({
            "deadline": format_utc(deadline),
            "watchdog_pid": watchdog_pid,
            "nft": nft,
            "responder": plan.responder.as_ref().map(|(s, kept)| json!({
                "client": s.client.to_string(), "client_port": s.client_port,
                "server_port": s.server_port, "found_in": s.found_in, "kept": kept,
            })),
        }),
    )?;
    case.complete_task(&ctx.clock, &ctx.actor, "contain")?;
    let out = ctx.out();
    writeln!(out, "\n{id}: APPLIED. The host is isolated except for {target}.")?;
    writeln!(
        out,
        "Check now that you can still reach it, then run `cordon contain confirm` before {} \
         (in {}); otherwise the isolation is removed automatically.",
        format_utc(deadline),
        net::human(request_secs(&plan))
    )?;
    Ok(Outcome::Clean)
}

fn request_secs(plan: &net::NetworkPlan) -> u64 {
    plan.request.rollback_secs
}

/// `cordon contain confirm`: the timed elements become permanent; the watchdog stands down.
pub fn confirm(ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let active = state::actions(&case)?
        .into_iter()
        .rev()
        .find(|a| a.kind == "network" && a.stage.in_force());
    let Some(action) = active else {
        anyhow::bail!("no network isolation is in force in this case (see `cordon contain status`)");
    };
    if action.stage == Stage::Confirmed {
        writeln!(
            ctx.out(),
            "{} is already confirmed; it stays until `cordon contain undo network`.",
            action.id
        )?;
        return Ok(Outcome::Clean);
    }
    net::confirm().context("the isolation was not confirmed")?;
    journal::stage(
        &mut case,
        ctx,
        "contain.confirmed",
        &action.id,
        &format!(
            "{}: network isolation confirmed; automatic rollback cancelled",
            action.id
        ),
        json!({}),
    )?;
    writeln!(
        ctx.out(),
        "{}: confirmed. The isolation stays in force until `cordon contain undo network`.",
        action.id
    )?;
    Ok(Outcome::Clean)
}

/// One line on what the kernel enforces, for `status`.
pub fn kernel_line() -> String {
    match net::state() {
        Ok(KernelState::Absent) => "kernel: no `inet cordon` table".into(),
        Ok(KernelState::Armed { expires_in_ms: None }) => {
            "kernel: table inet cordon in force (confirmed)".into()
        }
        Ok(KernelState::Armed {
            expires_in_ms: Some(ms),
        }) => {
            format!(
                "kernel: table inet cordon in force; automatic rollback in {} s",
                ms.div_ceil(1000)
            )
        }
        Ok(KernelState::Disarmed) => {
            "kernel: table inet cordon present but disarmed (rollback window passed); nothing is dropped"
                .into()
        }
        Err(e) => format!("kernel: could not ask nf_tables: {e}"),
    }
}
