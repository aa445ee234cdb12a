//! Indicators of compromise from plain text or CSV files, and matching them.
//!
//! One indicator a line: `value`, `value,description`, or `type,value[,description]` (also with `;`
//! or a tab). `#` and `//` start comments. Types are detected (MD5/SHA-1/SHA-256 by length, IPs,
//! CIDRs, URLs, domains, absolute paths and globs, bare file names) or given explicitly: `md5`,
//! `sha1`, `sha256`, `filename`, `path`, `ip`, `cidr`, `domain`, `url`. Defanged values
//! (`hxxp://`, `evil[.]com`) are refanged. Junk lines are reported with their number and skipped.
//!
//! Files are matched by hash, name and path; text is searched for IPs, domains and URLs with one
//! Aho-Corasick automaton, each hit checked for word boundaries (`1.2.3.4` does not match inside
//! `11.2.3.45`; `evil.com` matches `www.evil.com` but not `notevil.com`).

use std::collections::HashMap;
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ipnet::IpNet;

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IocKind {
    /// MD5 of a file.
    Md5,
    /// SHA-1 of a file.
    Sha1,
    /// SHA-256 of a file.
    Sha256,
    /// A file's base name.
    FileName,
    /// An absolute path or glob (`/tmp/.*/kworker*`).
    PathGlob,
    /// An IP address.
    Ip,
    /// A network.
    Cidr,
    /// A domain (matches its subdomains too).
    Domain,
    /// A URL.
    Url,
}

impl IocKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Md5 => "md5",
            IocKind::Sha1 => "sha1",
            IocKind::Sha256 => "sha256",
            IocKind::FileName => "filename",
            IocKind::PathGlob => "path",
            IocKind::Ip => "ip",
            IocKind::Cidr => "cidr",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
        }
    }

    fn parse(s: &str) -> Option<IocKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "md5" => IocKind::Md5,
            "sha1" => IocKind::Sha1,
            "sha256" => IocKind::Sha256,
            "filename" | "name" | "file" => IocKind::FileName,
            "path" | "glob" => IocKind::PathGlob,
            "ip" | "ipv4" | "ipv6" => IocKind::Ip,
            "cidr" | "net" | "network" => IocKind::Cidr,
            "domain" | "hostname" | "fqdn" => IocKind::Domain,
            "url" | "uri" => IocKind::Url,
            _ => return None,
        })
    }
}

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioc {
    /// What it is.
    pub kind: IocKind,
    /// Normalised value (hashes and domains lowercase).
    pub value: String,
    /// Description from the file.
    pub note: String,
    /// `file:line` it came from.
    pub source: String,
}

fn refang(s: &str) -> String {
    s.replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[:]", ":")
        .replace("hxxps://", "https://")
        .replace("hxxp://", "http://")
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// Detects the kind of a value written without a type.
pub fn detect(value: &str) -> Option<IocKind> {
    let v = value;
    if is_hex(v) {
        match v.len() {
            32 => return Some(IocKind::Md5),
            40 => return Some(IocKind::Sha1),
            64 => return Some(IocKind::Sha256),
            _ => {}
        }
    }
    if v.parse::<IpAddr>().is_ok() {
        return Some(IocKind::Ip);
    }
    if v.parse::<IpNet>().is_ok() {
        return Some(IocKind::Cidr);
    }
    if v.contains("://") {
        return Some(IocKind::Url);
    }
    if v.starts_with('/') || v.starts_with('*') {
        return Some(IocKind::PathGlob);
    }
    if is_domain(v) {
        return Some(IocKind::Domain);
    }
    if !v.contains('/') && !v.is_empty() {
        return Some(IocKind::FileName);
    }
    None
}

fn valid(kind: IocKind, v: &str) -> bool {
    match kind {
        IocKind::Md5 => v.len() == 32 && is_hex(v),
        IocKind::Sha1 => v.len() == 40 && is_hex(v),
        IocKind::Sha256 => v.len() == 64 && is_hex(v),
        IocKind::Ip => v.parse::<IpAddr>().is_ok(),
        IocKind::Cidr => v.parse::<IpNet>().is_ok(),
        IocKind::Domain => is_domain(v),
        IocKind::Url => v.contains("://") && v.len() > 8,
        IocKind::PathGlob => v.starts_with('/') || v.starts_with('*'),
        IocKind::FileName => !v.contains('/') && !v.is_empty(),
    }
}

/// Parses one IOC file. Returns the indicators and, for each junk line, `source:line: why`.
pub fn parse(text: &[u8], source: &str) -> (Vec<Ioc>, Vec<String>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            bad.push(format!("{source}:{n}: not UTF-8; skipped"));
            continue;
        };
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        if line.chars().any(|c| c.is_control() && c != '\t') || line.len() > 4096 {
            bad.push(format!(
                "{source}:{n}: control characters or over-long line; skipped"
            ));
            continue;
        }
        let fields: Vec<&str> = line
            .split([',', ';', '\t'])
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        let (kind, value, note) = match fields.as_slice() {
            [t, v, rest @ ..] if IocKind::parse(t).is_some() => {
                (IocKind::parse(t), refang(v), rest.join(" "))
            }
            [v, rest @ ..] => {
                let v = refang(v);
                (detect(&v), v, rest.join(" "))
            }
            [] => continue,
        };
        let Some(kind) = kind else {
            bad.push(format!("{source}:{n}: not a recognisable indicator; skipped"));
            continue;
        };
        let value = match kind {
            IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 | IocKind::Domain => value.to_ascii_lowercase(),
            _ => value,
        };
        if value.contains(' ') || !valid(kind, &value) {
            bad.push(format!("{source}:{n}: not a valid {}; skipped", kind.as_str()));
            continue;
        }
        if kind == IocKind::Domain && value.len() < 4 {
            bad.push(format!("{source}:{n}: domain too short to search for; skipped"));
            continue;
        }
        out.push(Ioc {
            kind,
            value,
            note,
            source: format!("{source}:{n}"),
        });
    }
    (out, bad)
}

/// A hit: which indicator, where in the searched bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`IocSet::iocs`].
    pub ioc: usize,
    /// Byte offset of the match.
    pub offset: usize,
}

/// All indicators, ready to match.
#[derive(Debug, Default)]
pub struct IocSet {
    /// The indicators.
    pub iocs: Vec<Ioc>,
    hashes: HashMap<String, usize>,
    names: HashMap<Vec<u8>, usize>,
    globs: Option<(GlobSet, Vec<usize>)>,
    text: Option<(AhoCorasick, Vec<usize>)>,
    cidrs: Vec<(IpNet, usize)>,
}

impl IocSet {
    /// Builds the matchers.
    pub fn new(iocs: Vec<Ioc>) -> Result<IocSet, String> {
        let mut set = IocSet::default();
        let mut glob_b = GlobSetBuilder::new();
        let mut glob_idx = Vec::new();
        let mut pats = Vec::new();
        let mut pat_idx = Vec::new();
        for (i, ioc) in iocs.iter().enumerate() {
            match ioc.kind {
                IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => {
                    set.hashes.insert(ioc.value.clone(), i);
                }
                IocKind::FileName => {
                    set.names.insert(ioc.value.as_bytes().to_vec(), i);
                }
                IocKind::PathGlob => {
                    let g = GlobBuilder::new(&ioc.value)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| format!("{}: {e}", ioc.source))?;
                    glob_b.add(g);
                    glob_idx.push(i);
                }
                IocKind::Ip | IocKind::Domain | IocKind::Url => {
                    pats.push(ioc.value.to_ascii_lowercase());
                    pat_idx.push(i);
                }
                IocKind::Cidr => {
                    if let Ok(n) = ioc.value.parse::<IpNet>() {
                        set.cidrs.push((n, i));
                    }
                }
            }
        }
        if !glob_idx.is_empty() {
            set.globs = Some((glob_b.build().map_err(|e| e.to_string())?, glob_idx));
        }
        if !pats.is_empty() {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&pats)
                .map_err(|e| e.to_string())?;
            set.text = Some((ac, pat_idx));
        }
        set.iocs = iocs;
        Ok(set)
    }

    /// True when there is nothing to match.
    pub fn is_empty(&self) -> bool {
        self.iocs.is_empty()
    }

    /// True when content has to be searched (IPs, domains, URLs, CIDRs).
    pub fn wants_text(&self) -> bool {
        self.text.is_some() || !self.cidrs.is_empty()
    }

    /// Which hash algorithms the indicators use.
    pub fn hash_algos(&self) -> Vec<crate::hash::Algo> {
        use crate::hash::Algo;
        let mut out = Vec::new();
        for (kind, algo) in [
            (IocKind::Md5, Algo::Md5),
            (IocKind::Sha1, Algo::Sha1),
            (IocKind::Sha256, Algo::Sha256),
        ] {
            if self.iocs.iter().any(|i| i.kind == kind) {
                out.push(algo);
            }
        }
        out
    }

    /// The indicator a digest (lowercase hex) matches.
    pub fn match_hash(&self, hex: &str) -> Option<usize> {
        self.hashes.get(hex).copied()
    }

    /// Indicators a path matches by base name or glob.
    pub fn match_path(&self, path: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        if let Some(&i) = self.names.get(name) {
            out.push(i);
        }
        if let Some((g, idx)) = &self.globs {
            let p = String::from_utf8_lossy(path);
            for m in g.matches(p.as_ref()) {
                if let Some(&i) = idx.get(m) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// IPs, domains and URLs in `text`, and IPv4 addresses inside an indicator network.
    pub fn match_text(&self, text: &[u8]) -> Vec<Hit> {
        let mut out = Vec::new();
        if let Some((ac, idx)) = &self.text {
            for m in ac.find_overlapping_iter(text) {
                let Some(&i) = idx.get(m.pattern().as_usize()) else {
                    continue;
                };
                let Some(ioc) = self.iocs.get(i) else {
                    continue;
                };
                if bounded(ioc.kind, text, m.start(), m.end()) {
                    out.push(Hit {
                        ioc: i,
                        offset: m.start(),
                    });
                }
            }
        }
        if !self.cidrs.is_empty() {
            for (off, ip) in ipv4_candidates(text) {
                for (net, i) in &self.cidrs {
                    if net.contains(&IpAddr::V4(ip)) {
                        out.push(Hit { ioc: *i, offset: off });
                    }
                }
            }
        }
        out.sort_by_key(|h| (h.offset, h.ioc));
        out.dedup();
        out
    }

    /// The indicators an address matches (IP or CIDR).
    pub fn match_ip(&self, ip: IpAddr) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .iocs
            .iter()
            .enumerate()
            .filter(|(_, i)| i.kind == IocKind::Ip && i.value.parse::<IpAddr>().ok() == Some(ip))
            .map(|(n, _)| n)
            .collect();
        out.extend(
            self.cidrs
                .iter()
                .filter(|(n, _)| n.contains(&ip))
                .map(|(_, i)| *i),
        );
        out
    }
}

fn bounded(kind: IocKind, text: &[u8], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).and_then(|i| text.get(i)).copied();
    let after = text.get(end).copied();
    let after2 = text.get(end + 1).copied();
    match kind {
        IocKind::Ip => {
            let digitish = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
            !(digitish(before)
                || before == Some(b'.')
                || digitish(after)
                || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit())))
        }
        IocKind::Domain => {
            let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            !(word(before) || word(after) || (after == Some(b'.') && word(after2)))
        }
        _ => true,
    }
}

/// Dotted-quad IPv4 addresses in text, with their offsets.
fn ipv4_candidates(text: &[u8]) -> Vec<(usize, std::net::Ipv4Addr)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(&b) = text.get(i) else { break };
        let prev_ok = i == 0 || !text.get(i - 1).is_some_and(|p| p.is_ascii_digit() || *p == b'.');
        if b.is_ascii_digit() && prev_ok {
            let mut j = i;
            while j < text.len()
                && j - i < 15
                && text.get(j).is_some_and(|c| c.is_ascii_digit() || *c == b'.')
            {
                j += 1;
            }
            if let Some(s) = text.get(i..j).and_then(|s| std::str::from_utf8(s).ok())
                && let Ok(ip) = s.trim_end_matches('.').parse::<std::net::Ipv4Addr>()
            {
                out.push((i, ip));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_csv_defanged_and_junk() {
        let text = b"# comment\n44d88612fea8a8f36de82e1278abb02f\nsha256,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,empty\n\
203.0.113.7\n198.51.100.0/24;scanner net\nevil[.]example\nhxxp://203.0.113.9/k.sh\n/tmp/.*/kworker*\nkinsing\n\
junk with spaces here\nip,999.1.1.1\n\x01\x02\nmd5,nothex\n\xff\xfe\n";
        let (iocs, bad) = parse(text, "f");
        let kinds: Vec<IocKind> = iocs.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![
                IocKind::Md5,
                IocKind::Sha256,
                IocKind::Ip,
                IocKind::Cidr,
                IocKind::Domain,
                IocKind::Url,
                IocKind::PathGlob,
                IocKind::FileName
            ]
        );
        assert_eq!(
            iocs[1].value,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(iocs[3].note, "scanner net");
        assert_eq!(iocs[4].value, "evil.example");
        assert_eq!(iocs[5].value, "http://203.0.113.9/k.sh");
        assert_eq!(bad.len(), 5, "{bad:?}");
        assert!(bad[0].starts_with("f:10:"), "{bad:?}");
    }

    #[test]
    fn text_matches_respect_boundaries() {
        let (iocs, _) = parse(b"1.2.3.4\nevil.com\n10.9.0.0/16\n", "f");
        let set = IocSet::new(iocs).unwrap();
        let hits = |t: &[u8]| set.match_text(t).len();
        assert_eq!(hits(b"connect 1.2.3.4:443"), 1);
        assert_eq!(hits(b"11.2.3.45 and 1.2.3.40 and 1.2.3.4.5"), 0);
        assert_eq!(hits(b"curl http://www.EVIL.com/x"), 1);
        assert_eq!(hits(b"notevil.com evil.community"), 0);
        assert_eq!(hits(b"ssh root@10.9.200.1"), 1);
        assert_eq!(hits(b"10.99.0.1"), 0);
        assert_eq!(set.match_ip("10.9.1.1".parse().unwrap()), vec![2]);
    }
}
