//! Seals: one line that pins the journal's head, to be sent out of band.
//!
//! `cordon-seal v1 case=<uuid> entries=<N> head=<sha256 hex> time=<UTC>`. Once management holds the
//! line (in an e-mail, a chat), nobody can rewrite entries 1..N without `case verify --seal LINE`
//! noticing — not even someone with write access to the case media, because the chain would need a
//! different head.

use cordon_core::{Clock, format_utc};
use serde_json::json;

use crate::case::{Actor, Case};
use crate::{Error, journal};

/// A parsed seal line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Case UUID.
    pub case_id: String,
    /// Number of entries sealed (the seq of the last one).
    pub entries: i64,
    /// Hash of entry `entries`.
    pub head: String,
    /// When the seal was made.
    pub time: String,
}

impl Seal {
    /// The line to send.
    pub fn line(&self) -> String {
        format!(
            "cordon-seal v1 case={} entries={} head={} time={}",
            self.case_id, self.entries, self.head, self.time
        )
    }

    /// Reads a line produced by [`Seal::line`] (surrounding white space and quoting by mail clients ignored).
    pub fn parse(line: &str) -> Result<Seal, Error> {
        let line = line.trim().trim_start_matches('>').trim();
        let mut words = line.split_whitespace();
        if words.next() != Some("cordon-seal") || words.next() != Some("v1") {
            return Err(Error::BadSeal("it must start with \"cordon-seal v1\"".into()));
        }
        let (mut case_id, mut entries, mut head, mut time) = (None, None, None, None);
        for w in words {
            match w.split_once('=') {
                Some(("case", v)) => case_id = Some(v.to_owned()),
                Some(("entries", v)) => {
                    entries = Some(
                        v.parse::<i64>()
                            .map_err(|_| Error::BadSeal(format!("entries={v} is not a number")))?,
                    )
                }
                Some(("head", v)) => head = Some(v.to_ascii_lowercase()),
                Some(("time", v)) => time = Some(v.to_owned()),
                _ => return Err(Error::BadSeal(format!("unexpected word {w:?}"))),
            }
        }
        let missing = |f: &str| Error::BadSeal(format!("{f}= is missing"));
        let head = head.ok_or_else(|| missing("head"))?;
        if head.len() != 64 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::BadSeal("head= must be 64 hex digits".into()));
        }
        Ok(Seal {
            case_id: case_id.ok_or_else(|| missing("case"))?,
            entries: entries.ok_or_else(|| missing("entries"))?,
            head,
            time: time.ok_or_else(|| missing("time"))?,
        })
    }
}

impl Case {
    /// Seals the journal as it is now and journals that it did (the seal entry itself comes after
    /// the sealed head).
    pub fn seal(&mut self, clock: &dyn Clock, actor: &Actor) -> Result<Seal, Error> {
        let case_id = self.info()?.id;
        self.transaction(|tx| {
            let (entries, head): (i64, String) = tx
                .query_row(
                    "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(Error::sql("read journal head"))?;
            let now = format_utc(clock.now());
            let seal = Seal {
                case_id: case_id.clone(),
                entries,
                head,
                time: now.clone(),
            };
            journal::append(
                tx,
                &now,
                &actor.label(),
                "seal",
                seal.line().as_bytes(),
                &json!({"entries": seal.entries, "head": seal.head}),
            )?;
            Ok(seal)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_round_trips_and_tolerates_mail_quoting() {
        let s = Seal {
            case_id: "0190".into(),
            entries: 42,
            head: "ab".repeat(32),
            time: "2026-11-24T00:00:00.000000000Z".into(),
        };
        assert_eq!(Seal::parse(&s.line()).unwrap(), s);
        assert_eq!(Seal::parse(&format!("> {}\r\n", s.line())).unwrap(), s);
        assert!(Seal::parse("cordon-seal v1 case=x entries=1 head=zz time=t").is_err());
        assert!(Seal::parse("hello").is_err());
    }
}
