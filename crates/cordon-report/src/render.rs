//! Filling the templates. Autoescaping is chosen by the template's extension: `.html` → HTML,
//! `.md` → Markdown (our escaper); templates mark nothing as safe that came from the case.

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
];

fn environment() -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else if name.ends_with(".md") {
            AutoEscape::Custom("markdown".into())
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
