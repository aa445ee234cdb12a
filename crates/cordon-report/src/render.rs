//! Filling the templates. Autoescaping is chosen by the template's extension: `.html` → HTML,
//! `.md` → Markdown (our escaper), `.txt` → plain text (control characters made visible); templates
//! mark nothing as safe that came from the case.

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value};

use crate::{Error, escape};

/// An output medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Markdown (also readable as plain text).
    Markdown,
    /// One self-contained HTML file (inline CSS, no external requests).
    Html,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("report.md", include_str!("../templates/report.md")),
    ("report.html", include_str!("../templates/report.html")),
    ("sitrep.md", include_str!("../templates/sitrep.md")),
    ("plan.md", include_str!("../templates/plan.md")),
    (
        "comms_customer.txt",
        include_str!("../templates/comms_customer.txt"),
    ),
    ("comms_staff.txt", include_str!("../templates/comms_staff.txt")),
    (
        "comms_regulator.txt",
        include_str!("../templates/comms_regulator.txt"),
    ),
];

fn environment() -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else if name.ends_with(".md") {
            AutoEscape::Custom("markdown".into())
        } else if name.ends_with(".txt") {
            AutoEscape::Custom("text".into())
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out, state, value| match state.auto_escape() {
        AutoEscape::Custom(name) if name == "markdown" => {
            if value.is_safe() || value.is_none() || value.is_undefined() {
                if !value.is_none() && !value.is_undefined() {
                    write!(out, "{value}").map_err(minijinja::Error::from)?;
                }
                Ok(())
            } else {
                let text = value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string());
                out.write_str(&escape::markdown(&text))
                    .map_err(minijinja::Error::from)
            }
        }
        // Plain text (e-mail drafts): no markup to break, but control and bidirectional characters
        // are still made visible.
        AutoEscape::Custom(name) if name == "text" => {
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            let text = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            out.write_str(&cordon_core::escape_terminal_str(&text).replace("\\n", "\n"))
                .map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("truncate", truncate);
    for (name, src) in TEMPLATES {
        env.add_template(name, src).map_err(|source| Error::Template {
            template: name,
            source,
        })?;
    }
    Ok(env)
}

/// `{{ text|truncate(n) }}`: at most `n` characters, with `…` when cut (minijinja has no such
/// built-in).
fn truncate(value: String, n: usize) -> String {
    if value.chars().count() <= n {
        value
    } else {
        let mut s: String = value.chars().take(n).collect();
        s.push('…');
        s
    }
}

/// Renders the template `kind` (`report`, `sitrep`) for `medium` with the context from
/// [`crate::gather`] (plus anything the caller added).
pub fn render(kind: &'static str, medium: Medium, ctx: &serde_json::Value) -> Result<String, Error> {
    let env = environment()?;
    let name: &'static str = match (kind, medium) {
        ("sitrep", _) => "sitrep.md",
        ("comms_customer", _) => "comms_customer.txt",
        ("comms_staff", _) => "comms_staff.txt",
        ("comms_regulator", _) => "comms_regulator.txt",
        (_, Medium::Html) => "report.html",
        (_, Medium::Markdown) => "report.md",
    };
    let tmpl = env.get_template(name).map_err(|source| Error::Template {
        template: name,
        source,
    })?;
    tmpl.render(Value::from(Serde(ctx)))
        .map_err(|source| Error::Template {
            template: name,
            source,
        })
}

/// Renders the Incident Response Plan for `facts`; the facts themselves go in verbatim as a TOML
/// block (marked safe: inside a code fence Markdown escaping would corrupt them).
pub fn render_plan(facts: &crate::plan::OrgFacts, now: &str) -> Result<String, Error> {
    let env = environment()?;
    let toml = facts.to_toml()?;
    if toml.contains("```") {
        return Err(Error::Plan(
            "a fact contains ``` which would end the facts block; remove it".into(),
        ));
    }
    let c = |title: &str, c: &Option<crate::plan::Contact>| serde_json::json!({"title": title, "c": c.clone().unwrap_or_default()});
    let roles = serde_json::json!([
        c("Incident lead", &facts.incident_lead),
        c("Deputy", &facts.deputy),
        c("Management", &facts.management),
        c("Legal counsel", &facts.legal),
        c("Communications", &facts.communications),
        c("IR retainer", &facts.retainer),
        c("Law enforcement", &facts.law_enforcement),
        c("Insurer", &facts.insurer),
    ]);
    let ctx = minijinja::context! {
        f => Value::from(Serde(facts)),
        roles => Value::from(Serde(&roles)),
        tool => format!("cordon {}", env!("CARGO_PKG_VERSION")),
        generated_at => now,
        marker => Value::from_safe_string(crate::plan::FACTS_MARKER.to_owned()),
        facts_toml => Value::from_safe_string(toml),
    };
    let tmpl = env.get_template("plan.md").map_err(|source| Error::Template {
        template: "plan.md",
        source,
    })?;
    tmpl.render(ctx).map_err(|source| Error::Template {
        template: "plan.md",
        source,
    })
}
