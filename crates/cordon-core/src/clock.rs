//! The one source of "now" in cordon, and the one textual form of an instant.
//!
//! Everything cordon stores is UTC with nanoseconds, written RFC 3339 with exactly nine fractional
//! digits and a `Z` (`2026-11-24T22:37:58.123456789Z`). A fixed width keeps the stored strings
//! sortable and makes the journal's hash input unambiguous.

use jiff::Timestamp;

/// Something that tells the time. Libraries take `&dyn Clock`; only the binary picks the real one.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always answers the same instant (tests, reproducible output).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The canonical text of an instant: UTC, RFC 3339, nine fractional digits, `Z`.
pub fn format_utc(ts: Timestamp) -> String {
    format!("{ts:.9}")
}

/// Parses any RFC 3339 instant (with any offset) back into a [`Timestamp`].
pub fn parse_utc(s: &str) -> Result<Timestamp, jiff::Error> {
    s.parse::<Timestamp>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_has_nine_digits_and_z() {
        let ts = Timestamp::new(1_713_582_847, 5).unwrap();
        assert_eq!(format_utc(ts), "2024-04-20T03:14:07.000000005Z");
        let ts = Timestamp::new(0, 0).unwrap();
        assert_eq!(format_utc(ts), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn round_trips_and_accepts_offsets() {
        let ts = Timestamp::new(1_713_582_847, 123_456_789).unwrap();
        assert_eq!(parse_utc(&format_utc(ts)).unwrap(), ts);
        let with_offset = parse_utc("2024-04-20T05:14:07.123456789+02:00").unwrap();
        assert_eq!(with_offset, ts);
    }
}
