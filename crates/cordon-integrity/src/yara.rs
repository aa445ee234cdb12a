//! YARA rules with yara-x: compiling rule files (one namespace per file, the external variables
//! that public rule sets expect) and scanning bytes.
//!
//! A rule that fails to compile is reported by file, line and rule name, and left out; the other
//! rules still make a rule set. Rule text is never embedded in cordon: an embedded rule would match
//! cordon's own binary and every evidence copy of it.

use std::path::{Path, PathBuf};

use yara_x::{Compiler, MetaValue, Rules, Scanner, SourceCode};

use crate::Error;

/// External variables defined for every rule set (signature-base and THOR-style rules use them);
/// set per file while scanning.
pub const EXTERNALS: [&str; 6] = ["filename", "filepath", "extension", "filetype", "owner", "md5"];

/// Largest rule file read.
pub const RULE_FILE_CAP: u64 = 64 * 1024 * 1024;

/// Compiled rules and what happened while compiling them.
pub struct RuleSet {
    /// The compiled rules.
    pub rules: Rules,
    /// Rule files that compiled without error.
    pub files: Vec<PathBuf>,
    /// Rules left out, each with a message naming file, line and rule.
    pub problems: Vec<String>,
    /// Number of compiler warnings (slow patterns, duplicate patterns …).
    pub warnings: usize,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.iter().len())
            .field("files", &self.files)
            .field("problems", &self.problems)
            .finish()
    }
}

impl RuleSet {
    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.iter().len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The rule files named: files as given, directories searched recursively for `*.yar`/`*.yara`.
pub fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io("stat", p, e))?;
        if meta.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(dir) = stack.pop() {
                let rd = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
                let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                entries.sort();
                for e in entries {
                    let ft = std::fs::symlink_metadata(&e).map(|m| m.file_type());
                    if ft.as_ref().is_ok_and(std::fs::FileType::is_dir) {
                        stack.push(e);
                    } else if ft.as_ref().is_ok_and(std::fs::FileType::is_file)
                        && e.extension().is_some_and(|x| x == "yar" || x == "yara")
                    {
                        out.push(e);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The line of the `-->` location in a yara-x report, and the rule declared last before it.
fn locate(report: &str, source: &str) -> (Option<usize>, Option<String>) {
    let line = report.lines().find_map(|l| {
        let loc = l.trim_start().strip_prefix("-->")?.trim();
        let mut parts = loc.rsplitn(3, ':');
        let _col = parts.next()?;
        parts.next()?.parse::<usize>().ok()
    });
    let rule = line.and_then(|n| source.lines().take(n).filter_map(rule_name).last());
    (line, rule)
}

fn rule_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    loop {
        match words.next()? {
            "private" | "global" => continue,
            "rule" => {
                let name: String = words
                    .next()?
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                return (!name.is_empty()).then_some(name);
            }
            _ => return None,
        }
    }
}

/// Compiles the rule files under `paths`. Fails only when no rule at all could be compiled.
pub fn compile(paths: &[PathBuf]) -> Result<RuleSet, Error> {
    let files = rule_files(paths)?;
    let mut compiler = Compiler::new();
    compiler.colorize_errors(false);
    for name in EXTERNALS {
        compiler
            .define_global(name, "")
            .map_err(|e| Error::NoRules { what: e.to_string() })?;
    }
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let text = match read_rule_file(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        compiler.new_namespace(&format!("{i}_{stem}"));
        let origin = file.display().to_string();
        let src = SourceCode::from(text.as_slice()).with_origin(origin.clone());
        match compiler.add_source(src) {
            Ok(_) => ok.push(file.clone()),
            Err(e) => {
                let report = e.to_string();
                let (line, rule) = locate(&report, &String::from_utf8_lossy(&text));
                problems.push(format!(
                    "{origin}{}{}: {}; that rule is left out (the file's other rules are kept)",
                    line.map(|l| format!(":{l}")).unwrap_or_default(),
                    rule.map(|r| format!(": rule {r}")).unwrap_or_default(),
                    e.title(),
                ));
            }
        }
    }
    let warnings = compiler.warnings().len();
    let rules = compiler.build();
    if rules.iter().len() == 0 {
        return Err(Error::NoRules {
            what: if problems.is_empty() {
                "no .yar/.yara files found".to_owned()
            } else {
                problems.join("\n")
            },
        });
    }
    Ok(RuleSet {
        rules,
        files: ok,
        problems,
        warnings,
    })
}

fn read_rule_file(path: &Path) -> Result<Vec<u8>, Error> {
    let f = cordon_host::open::read_capped(path, RULE_FILE_CAP)?;
    if f.truncated {
        return Err(Error::Malformed {
            path: path.to_owned(),
            what: format!("larger than {RULE_FILE_CAP} bytes"),
        });
    }
    Ok(f.bytes)
}

/// One matching rule.
#[derive(Debug, Clone, PartialEq)]
pub struct YaraMatch {
    /// Rule identifier.
    pub rule: String,
    /// Namespace (`<n>_<file stem>`).
    pub namespace: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Metadata, values as text.
    pub meta: Vec<(String, String)>,
    /// Pattern identifier and the first offsets it matched at.
    pub patterns: Vec<(String, Vec<usize>)>,
}

impl YaraMatch {
    /// A metadata value.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Per-file values of the external variables.
#[derive(Debug, Default, Clone)]
pub struct FileVars<'a> {
    /// Base name.
    pub filename: &'a str,
    /// Full path.
    pub filepath: &'a str,
    /// Extension with its dot (`.php`), as signature-base expects.
    pub extension: &'a str,
    /// `ELF`, `SCRIPT`, `TEXT` or empty.
    pub filetype: &'a str,
    /// Owner's user name.
    pub owner: &'a str,
    /// MD5 when known.
    pub md5: &'a str,
}

/// Scans `data`, returning the matching rules (at most 8 offsets per pattern are kept).
pub fn scan_bytes(
    scanner: &mut Scanner<'_>,
    data: &[u8],
    vars: &FileVars<'_>,
) -> Result<Vec<YaraMatch>, String> {
    for (k, v) in [
        ("filename", vars.filename),
        ("filepath", vars.filepath),
        ("extension", vars.extension),
        ("filetype", vars.filetype),
        ("owner", vars.owner),
        ("md5", vars.md5),
    ] {
        scanner.set_global(k, v).map_err(|e| e.to_string())?;
    }
    let results = scanner.scan(data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in results.matching_rules() {
        let meta = r
            .metadata()
            .map(|(k, v)| {
                let v = match v {
                    MetaValue::Integer(i) => i.to_string(),
                    MetaValue::Float(f) => f.to_string(),
                    MetaValue::Bool(b) => b.to_string(),
                    MetaValue::String(s) => s.to_owned(),
                    MetaValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                };
                (k.to_owned(), v)
            })
            .collect();
        let patterns = r
            .patterns()
            .filter_map(|p| {
                let offs: Vec<usize> = p.matches().take(8).map(|m| m.range().start).collect();
                (!offs.is_empty()).then(|| (p.identifier().to_owned(), offs))
            })
            .collect();
        out.push(YaraMatch {
            rule: r.identifier().to_owned(),
            namespace: r.namespace().to_owned(),
            tags: r.tags().map(|t| t.identifier().to_owned()).collect(),
            meta,
            patterns,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rule_before_an_error_line() {
        let src =
            "rule a { condition: true }\n\nprivate rule b_2 : t {\n strings: $x = \"x\"\n condition: $y\n}\n";
        let report = "error[E009]: unknown pattern `$y`\n --> rules/x.yar:5:13\n  |";
        assert_eq!(locate(report, src), (Some(5), Some("b_2".to_owned())));
        assert_eq!(rule_name("global private rule z{"), Some("z".to_owned()));
        assert_eq!(rule_name("// rule q"), None);
    }
}
