//! The journal entries every containment action writes: the plan before acting, the record after.

use cordon_case::Case;
use serde_json::{Value, json};

use crate::context::Ctx;

/// A dry run: the plan that was shown (nothing changed).
pub fn plan_shown(
    case: &mut Case,
    ctx: &Ctx,
    action: &str,
    target: &str,
    plan: &[String],
) -> anyhow::Result<()> {
    case.append(
        &ctx.clock,
        &ctx.actor,
        "contain.plan",
        format!("dry run of contain {action} {target}: nothing changed").as_bytes(),
        &json!({"action": action, "target": target, "plan": plan}),
    )?;
    Ok(())
}

/// Journals the plan about to be applied; returns the action's id (`C<seq>`).
pub fn before(
    case: &mut Case,
    ctx: &Ctx,
    action: &str,
    target: &str,
    plan: &[String],
    forced: bool,
) -> anyhow::Result<String> {
    let e = case.append(
        &ctx.clock,
        &ctx.actor,
        "contain.apply",
        format!(
            "applying contain {action} {target}{}",
            if forced { " (FORCED)" } else { "" }
        )
        .as_bytes(),
        &json!({"action": action, "target": target, "plan": plan, "forced": forced}),
    )?;
    Ok(format!("C{}", e.seq))
}

/// Journals the applied action with its undo record and extra facts.
pub fn applied(
    case: &mut Case,
    ctx: &Ctx,
    id: &str,
    action: &str,
    target: &str,
    record: Value,
    extra: Value,
) -> anyhow::Result<()> {
    let mut data = json!({"id": id, "action": action, "target": target, "record": record});
    if let (Value::Object(d), Value::Object(x)) = (&mut data, extra) {
        d.extend(x);
    }
    case.append(
        &ctx.clock,
        &ctx.actor,
        "contain.applied",
        format!("{id}: contain {action} {target} applied").as_bytes(),
        &data,
    )?;
    Ok(())
}

/// Journals a failure; the library guarantees nothing was half-applied.
pub fn failed(case: &mut Case, ctx: &Ctx, id: &str, action: &str, error: &anyhow::Error) {
    let _ = case.append(
        &ctx.clock,
        &ctx.actor,
        "contain.failed",
        format!("{id}: contain {action} failed, nothing applied: {error:#}").as_bytes(),
        &json!({"id": id, "action": action, "error": format!("{error:#}")}),
    );
}

/// Journals a change of stage (`contain.confirmed`, `contain.rolled-back`, `contain.undone`).
pub fn stage(
    case: &mut Case,
    ctx: &Ctx,
    kind: &str,
    id: &str,
    text: &str,
    extra: Value,
) -> anyhow::Result<()> {
    let mut data = json!({"id": id});
    if let (Value::Object(d), Value::Object(x)) = (&mut data, extra) {
        d.extend(x);
    }
    case.append(&ctx.clock, &ctx.actor, kind, text.as_bytes(), &data)?;
    Ok(())
}
