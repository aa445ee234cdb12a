//! Civil (calendar) time to UTC, fast enough for millions of log lines.
//!
//! Traditional syslog lines carry the examined host's local time without a year or zone. The zone
//! comes from the examined system (its `/etc/timezone` and zoneinfo file, read as data with jiff's
//! TZif parser), or from the responder, or is assumed UTC — and every event says which.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Days since 1970-01-01 of a proleptic Gregorian date.
///
/// Hand-written (H. Hinnant's `days_from_civil`) because it runs once per log line: jiff's checked
/// civil-to-timestamp conversion is several times slower than the whole line parse.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Number of days in a month (`m` 1–12).
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// `Jan` … `Dec` (case as syslog writes it) to 1–12.
pub fn month_from_abbr(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// Seconds since the epoch of a local civil time, *as if* it were UTC (validated).
pub fn civil_seconds(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s.min(59)))
}

/// The time zone local times of the examined system are read in.
#[derive(Debug, Clone)]
pub struct LocalZone {
    name: String,
    tz: Option<TimeZone>,
    /// Where the zone came from (`/etc/timezone`, `--tz`, `assumed`).
    pub origin: String,
    cache_hour: i64,
    cache_offset: i64,
}

impl LocalZone {
    /// UTC, with where that came from.
    pub fn utc(origin: &str) -> LocalZone {
        LocalZone {
            name: "UTC".into(),
            tz: None,
            origin: origin.into(),
            cache_hour: i64::MIN,
            cache_offset: 0,
        }
    }

    /// A zone from TZif bytes (a zoneinfo file of the examined system, read as data).
    pub fn from_tzif(name: &str, bytes: &[u8], origin: &str) -> Result<LocalZone, crate::Error> {
        let tz = TimeZone::tzif(name, bytes).map_err(|e| crate::Error::TimeZone {
            name: name.to_owned(),
            what: e.to_string(),
        })?;
        Ok(LocalZone {
            name: name.to_owned(),
            tz: Some(tz),
            origin: origin.into(),
            cache_hour: i64::MIN,
            cache_offset: 0,
        })
    }

    /// A zone from the examiner's own zone database, by IANA name (`--tz Europe/Paris`).
    pub fn named(name: &str) -> Result<LocalZone, crate::Error> {
        if name.eq_ignore_ascii_case("utc") || name == "Z" {
            return Ok(LocalZone::utc("--tz"));
        }
        let tz = TimeZone::get(name).map_err(|e| crate::Error::TimeZone {
            name: name.to_owned(),
            what: e.to_string(),
        })?;
        Ok(LocalZone {
            name: name.to_owned(),
            tz: Some(tz),
            origin: "--tz".into(),
            cache_hour: i64::MIN,
            cache_offset: 0,
        })
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for UTC.
    pub fn is_utc(&self) -> bool {
        self.tz.is_none()
    }

    /// UTC seconds of a local civil time given as [`civil_seconds`]. Ambiguous local times (the hour
    /// repeated when clocks go back) take the earlier instant; skipped ones the later offset.
    pub fn to_utc(&mut self, local: i64) -> i64 {
        let Some(tz) = &self.tz else {
            return local;
        };
        let hour = local.div_euclid(3600);
        if hour != self.cache_hour {
            self.cache_offset = offset_at(tz, local).unwrap_or(0);
            self.cache_hour = hour;
        }
        local - self.cache_offset
    }

    /// The local civil date (year, month, day) of an instant in this zone.
    pub fn local_date(&self, ts: Timestamp) -> (i64, u32, u32) {
        let zone = self.tz.clone().unwrap_or(TimeZone::UTC);
        let dt = zone.to_datetime(ts);
        (
            i64::from(dt.year()),
            u32::try_from(dt.month()).unwrap_or(1),
            u32::try_from(dt.day()).unwrap_or(1),
        )
    }
}

fn offset_at(tz: &TimeZone, local: i64) -> Option<i64> {
    let as_utc = Timestamp::from_second(local).ok()?;
    let dt: DateTime = TimeZone::UTC.to_datetime(as_utc);
    let real = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
    Some(local - real.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_matches_jiff() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2024, 12, 31),
            (1969, 12, 31),
            (2038, 1, 19),
        ] {
            let ts = TimeZone::UTC
                .to_ambiguous_timestamp(jiff::civil::date(y as i16, m as i8, d as i8).at(0, 0, 0, 0))
                .compatible()
                .unwrap()
                .as_second();
            assert_eq!(days_from_civil(y, m, d) * 86_400, ts, "{y}-{m}-{d}");
        }
        assert_eq!(civil_seconds(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(civil_seconds(2024, 2, 29, 0, 0, 0), Some(1_709_164_800));
    }

    #[test]
    fn a_named_zone_converts_with_daylight_saving() {
        let mut z = LocalZone::named("Europe/Paris").unwrap();
        let winter = civil_seconds(2024, 1, 15, 12, 0, 0).unwrap();
        let summer = civil_seconds(2024, 7, 15, 12, 0, 0).unwrap();
        assert_eq!(z.to_utc(winter), winter - 3600);
        assert_eq!(z.to_utc(summer), summer - 7200);
    }
}
