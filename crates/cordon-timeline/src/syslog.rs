//! Syslog headers: `Mmm dd HH:MM:SS host prog[pid]: msg` (traditional, no year, no zone) and
//! `2026-03-12T11:20:07.118402+09:00 host prog[pid]: msg` (RFC 3339, rsyslog's high-precision form).
//!
//! Hand-written rather than a regex: this runs on every line of a brute-forced auth.log (millions of
//! lines) and must not backtrack on hostile input.
//!
//! Years: a traditional line has none. The last line of a file was written at or before the file's
//! mtime, so its year is the mtime's year (or the one before, when its date lies after the mtime's
//! date: a December log closed in January). Every New Year inside the file shows as the month going
//! down by six or more (December → January); counting them in a first pass gives the year of the first
//! line, and the second pass steps the year at each rollover. See [`YearPlan`].

use jiff::Timestamp;

use crate::civil::{LocalZone, civil_seconds, days_from_civil, month_from_abbr};

/// The parts of a syslog line, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// When the line says it was written.
    pub time: Stamp,
    /// Host name field.
    pub host: &'a [u8],
    /// Program (tag) without the pid: `sshd`, `sudo`, `CRON` (empty when the line has no tag).
    pub program: &'a [u8],
    /// Pid in brackets after the program.
    pub pid: Option<u32>,
    /// The message after `prog[pid]: `.
    pub message: &'a [u8],
}

/// The time in a syslog header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Traditional: local civil time without year (month 1–12).
    Traditional {
        /// Month 1–12.
        month: u32,
        /// Day of month.
        day: u32,
        /// Seconds since midnight.
        secs: u32,
    },
    /// A complete instant (RFC 3339 with offset).
    Exact(Timestamp),
}

fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let hi = *b.get(at)?;
    let lo = *b.get(at + 1)?;
    if hi.is_ascii_digit() && lo.is_ascii_digit() {
        Some(u32::from(hi - b'0') * 10 + u32::from(lo - b'0'))
    } else {
        None
    }
}

/// Parses the traditional timestamp at the start of `line`: `Mmm dd HH:MM:SS` (day space-padded).
/// Returns month, day, seconds since midnight and the length consumed (15).
pub fn parse_traditional_time(line: &[u8]) -> Option<(u32, u32, u32, usize)> {
    let month = month_from_abbr(line.get(0..3)?)?;
    if line.get(3) != Some(&b' ') {
        return None;
    }
    let day = match (line.get(4)?, line.get(5)?) {
        (b' ', d) if d.is_ascii_digit() => u32::from(d - b'0'),
        _ => two_digits(line, 4)?,
    };
    if line.get(6) != Some(&b' ') || line.get(9) != Some(&b':') || line.get(12) != Some(&b':') {
        return None;
    }
    let (h, m, s) = (two_digits(line, 7)?, two_digits(line, 10)?, two_digits(line, 13)?);
    if day == 0 || day > 31 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((month, day, h * 3600 + m * 60 + s, 15))
}

/// Parses a syslog line's header. `None` when the line does not start like syslog.
pub fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    let (time, rest) = if let Some((month, day, secs, used)) = parse_traditional_time(line) {
        // Some writers add fractional seconds or a year after the time; not standard, not handled.
        (Stamp::Traditional { month, day, secs }, line.get(used..)?)
    } else if line.first().is_some_and(u8::is_ascii_digit) && line.get(4) == Some(&b'-') {
        let end = memchr::memchr(b' ', line)?;
        let text = std::str::from_utf8(line.get(..end)?).ok()?;
        let ts: Timestamp = text.parse().ok()?;
        (Stamp::Exact(ts), line.get(end..)?)
    } else {
        return None;
    };
    let rest = rest.strip_prefix(b" ")?;
    let (host, rest) = match memchr::memchr(b' ', rest) {
        Some(i) => (rest.get(..i)?, rest.get(i + 1..)?),
        None => (rest, &b""[..]),
    };
    let (program, pid, message) = split_tag(rest);
    Some(Header {
        time,
        host,
        program,
        pid,
        message,
    })
}

/// Splits `prog[pid]: message`. A tag is at most 64 bytes without spaces; anything else is all message.
fn split_tag(rest: &[u8]) -> (&[u8], Option<u32>, &[u8]) {
    let limit = rest.len().min(64);
    let head = rest.get(..limit).unwrap_or_default();
    let Some(colon) = head.iter().position(|&c| c == b':' || c == b' ') else {
        return (&[], None, rest);
    };
    if head.get(colon) != Some(&b':') {
        return (&[], None, rest);
    }
    let tag = rest.get(..colon).unwrap_or_default();
    let message = rest.get(colon + 1..).unwrap_or_default();
    let message = message.strip_prefix(b" ").unwrap_or(message);
    if let Some(open) = tag.iter().position(|&c| c == b'[')
        && tag.last() == Some(&b']')
    {
        let pid = tag
            .get(open + 1..tag.len() - 1)
            .and_then(|p| std::str::from_utf8(p).ok())
            .and_then(|p| p.parse().ok());
        return (tag.get(..open).unwrap_or_default(), pid, message);
    }
    (tag, None, message)
}

/// True when going from month `prev` to `month` is a New Year (December → January and the like):
/// the month drops by six or more. Small drops are out-of-order lines, not a new year.
pub fn is_rollover(prev: u32, month: u32) -> bool {
    prev >= month + 6
}

/// Which year each traditional line of one file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearPlan {
    /// Year of the first line.
    pub first_year: i64,
    /// New Years seen in the file.
    pub rollovers: u32,
}

/// First pass of year inference: counts New Years and remembers the last date.
#[derive(Debug, Clone, Copy, Default)]
pub struct YearScan {
    prev: Option<u32>,
    rollovers: u32,
    last: Option<(u32, u32)>,
}

impl YearScan {
    /// Feeds the (month, day) of the next traditional line.
    pub fn feed(&mut self, month: u32, day: u32) {
        if let Some(p) = self.prev
            && is_rollover(p, month)
        {
            self.rollovers += 1;
        }
        self.prev = Some(month);
        self.last = Some((month, day));
    }

    /// The plan, given the file's mtime as a local date (year, month, day).
    pub fn finish(&self, mtime_date: (i64, u32, u32)) -> YearPlan {
        let (my, mm, md) = mtime_date;
        let mut end_year = my;
        if let Some((m, d)) = self.last {
            // One day of slack for a zone difference between the writer and the mtime's reading.
            if days_from_civil(my, m, d) > days_from_civil(my, mm, md) + 1 {
                end_year = my - 1;
            }
        }
        YearPlan {
            first_year: end_year - i64::from(self.rollovers),
            rollovers: self.rollovers,
        }
    }
}

impl YearPlan {
    /// Plans the years of a file from the (month, day) of its lines in order, and its mtime's local
    /// date (year, month, day).
    pub fn new(months: impl IntoIterator<Item = (u32, u32)>, mtime_date: (i64, u32, u32)) -> YearPlan {
        let mut scan = YearScan::default();
        for (m, d) in months {
            scan.feed(m, d);
        }
        scan.finish(mtime_date)
    }

    /// A tracker that hands out the year of each line in the second pass.
    pub fn tracker(&self) -> YearTracker {
        YearTracker {
            year: self.first_year,
            prev: None,
        }
    }
}

/// Steps the year at each rollover while a file is read (see [`YearPlan`]).
#[derive(Debug, Clone, Copy)]
pub struct YearTracker {
    year: i64,
    prev: Option<u32>,
}

impl YearTracker {
    /// The year of the next line, whose month is `month`.
    pub fn year_for(&mut self, month: u32) -> i64 {
        if let Some(p) = self.prev
            && is_rollover(p, month)
        {
            self.year += 1;
        }
        self.prev = Some(month);
        self.year
    }
}

/// Turns header stamps into instants for one file: years from a [`YearTracker`], zone from a
/// [`LocalZone`]. Caches the day so the per-line cost is a few additions.
#[derive(Debug)]
pub struct Resolver<'z> {
    years: YearTracker,
    zone: &'z mut LocalZone,
    cache: (i64, u32, u32, i64),
}

impl<'z> Resolver<'z> {
    /// A resolver for one file.
    pub fn new(plan: &YearPlan, zone: &'z mut LocalZone) -> Resolver<'z> {
        Resolver {
            years: plan.tracker(),
            zone,
            cache: (i64::MIN, 0, 0, 0),
        }
    }

    /// The instant of a stamp (`None` for an impossible date such as Feb 30).
    pub fn resolve(&mut self, stamp: Stamp) -> Option<Timestamp> {
        match stamp {
            Stamp::Exact(ts) => Some(ts),
            Stamp::Traditional { month, day, secs } => {
                let year = self.years.year_for(month);
                let day_start = if (year, month, day) == (self.cache.0, self.cache.1, self.cache.2) {
                    self.cache.3
                } else {
                    let s = civil_seconds(year, month, day, 0, 0, 0)?;
                    self.cache = (year, month, day, s);
                    s
                };
                let utc = self.zone.to_utc(day_start + i64::from(secs));
                Timestamp::from_second(utc).ok()
            }
        }
    }

    /// The zone in use.
    pub fn zone(&self) -> &LocalZone {
        self.zone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_traditional_and_rfc3339_headers() {
        let h =
            parse_header(b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 1.2.3.4").unwrap();
        assert_eq!(
            h.time,
            Stamp::Traditional {
                month: 12,
                day: 10,
                secs: 6 * 3600 + 55 * 60 + 46
            }
        );
        assert_eq!(
            (h.host, h.program, h.pid),
            (&b"LabSZ"[..], &b"sshd"[..], Some(24200))
        );
        assert_eq!(h.message, b"Invalid user webmaster from 1.2.3.4");

        let h = parse_header(b"Jan  3 00:00:01 web01 kernel: [ 1.0] x").unwrap();
        assert_eq!(
            h.time,
            Stamp::Traditional {
                month: 1,
                day: 3,
                secs: 1
            }
        );
        assert_eq!(
            (h.program, h.pid, h.message),
            (&b"kernel"[..], None, &b"[ 1.0] x"[..])
        );

        let h = parse_header(
            b"2026-03-12T11:20:07.118402+09:00 web01 su[4120]: FAILED SU (to root) bob on pts/0",
        )
        .unwrap();
        assert_eq!(
            h.time,
            Stamp::Exact("2026-03-12T02:20:07.118402Z".parse().unwrap())
        );
        assert_eq!(h.program, b"su");

        assert!(parse_header(b"garbage").is_none());
        assert!(parse_header(b"Dec 99 06:55:46 x y: z").is_none());
        assert!(parse_header(b"\xff\xfe\x00").is_none());
    }

    #[test]
    fn year_comes_from_the_mtime_and_steps_at_new_year() {
        // A log running Dec 30 → Jan 2, closed on Jan 2 2025.
        let months = [(12, 30), (12, 31), (1, 1), (1, 2)];
        let plan = YearPlan::new(months, (2025, 1, 2));
        assert_eq!(
            plan,
            YearPlan {
                first_year: 2024,
                rollovers: 1
            }
        );
        let mut t = plan.tracker();
        let years: Vec<i64> = months.iter().map(|(m, _)| t.year_for(*m)).collect();
        assert_eq!(years, vec![2024, 2024, 2025, 2025]);

        // A December log whose mtime is in the next November: last line in the previous year.
        assert_eq!(YearPlan::new([(12, 10)], (2026, 11, 24)).first_year, 2025);
        // Same month, earlier day: same year.
        assert_eq!(YearPlan::new([(11, 20)], (2026, 11, 24)).first_year, 2026);
        // Out-of-order lines (Mar → Feb) are not a New Year.
        assert_eq!(
            YearPlan::new([(3, 1), (2, 28), (3, 2)], (2024, 3, 2)).rollovers,
            0
        );
    }
}
