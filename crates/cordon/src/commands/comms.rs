//! `cordon comms customer|staff|regulator`: a draft message from the case's facts, for a person to
//! edit before anything is sent. Drafts are journaled (what was drafted, when, by whom).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use cordon_core::{Clock as _, format_utc, parse_utc};
use cordon_report::gather::at;
use cordon_report::{Medium, gather, render};
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::exit::Outcome;

/// Who the message is for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Audience {
    /// Customers (what happened, what it means for them, what to do).
    Customer,
    /// Staff (what we ask of you, who speaks for us).
    Staff,
    /// The data-protection regulator (breach notification).
    Regulator,
}

/// `cordon comms`
#[derive(Debug, Args)]
pub struct CommsArgs {
    /// Who the draft is for.
    #[arg(value_enum)]
    pub audience: Audience,
    /// Write the draft to FILE as well as printing it.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn contact_line(facts: &Value, role: &str) -> Option<String> {
    let c = facts.get(role)?;
    let name = c.get("name")?.as_str()?;
    let phone = c.get("phone").and_then(Value::as_str).unwrap_or("");
    let email = c.get("email").and_then(Value::as_str).unwrap_or("");
    Some(
        [name, phone, email]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Runs `cordon comms`.
pub fn run(args: &CommsArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let now = ctx.clock.now();
    let mut c = gather(&case, &format_utc(now))?;
    let facts = case.plan_facts()?.unwrap_or(Value::Null);
    let section = |name: &str| -> Option<String> {
        at(&c, "sections")
            .as_array()?
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))?
            .get("paragraphs")?
            .as_array()?
            .first()?
            .as_str()
            .map(str::to_owned)
    };
    let (summary, impact) = (section("summary"), section("impact"));
    let deadline_hours = facts
        .get("regulator")
        .and_then(|r| r.get("deadline_hours"))
        .and_then(Value::as_i64)
        .unwrap_or(72);
    let opened = parse_utc(at(&at(&c, "case"), "opened_at").as_str().unwrap_or("")).unwrap_or(now);
    let deadline = opened
        .checked_add(jiff::SignedDuration::from_hours(deadline_hours))
        .unwrap_or(opened);
    let next_update = now
        .checked_add(jiff::SignedDuration::from_hours(4))
        .unwrap_or(now);
    let handler = at(&at(&c, "case"), "handler").as_str().unwrap_or("").to_owned();
    let findings_total = at(&c, "findings").as_array().map_or(0, Vec::len);
    let evidence_count = at(&c, "evidence").as_array().map_or(0, Vec::len);
    let title = at(&at(&c, "case"), "title");
    if let Value::Object(m) = &mut c {
        m.insert(
            "org".into(),
            json!(
                facts
                    .get("organisation")
                    .and_then(Value::as_str)
                    .unwrap_or("[DRAFT: organisation]")
            ),
        );
        m.insert("title".into(), title);
        m.insert("summary".into(), json!(summary));
        m.insert("impact".into(), json!(impact));
        m.insert("retainer".into(), json!(contact_line(&facts, "retainer")));
        m.insert(
            "channel".into(),
            json!(
                facts
                    .get("customer_channel")
                    .and_then(Value::as_str)
                    .unwrap_or("[DRAFT: status page or e-mail]")
            ),
        );
        m.insert(
            "contact".into(),
            json!(contact_line(&facts, "communications").unwrap_or_else(|| handler.clone())),
        );
        m.insert(
            "comms_contact".into(),
            json!(contact_line(&facts, "communications").unwrap_or_else(|| handler.clone())),
        );
        m.insert(
            "regulator".into(),
            json!(
                facts
                    .get("regulator")
                    .and_then(|r| r.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("[DRAFT: regulator]")
            ),
        );
        m.insert(
            "deadline".into(),
            json!(format!(
                "{} ({deadline_hours} hours after detection)",
                format_utc(deadline)
            )),
        );
        m.insert("next_update".into(), json!(format_utc(next_update)));
        m.insert("findings_total".into(), json!(findings_total));
        m.insert("evidence_count".into(), json!(evidence_count));
    }
    let kind: &'static str = match args.audience {
        Audience::Customer => "comms_customer",
        Audience::Staff => "comms_staff",
        Audience::Regulator => "comms_regulator",
    };
    let text = render(kind, Medium::Markdown, &c)?;
    if let Some(p) = &args.output {
        std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    case.append(
        &ctx.clock,
        &ctx.actor,
        "comms.draft",
        text.as_bytes(),
        &json!({"audience": kind}),
    )?;
    write!(ctx.out(), "{text}")?;
    Ok(Outcome::Clean)
}
