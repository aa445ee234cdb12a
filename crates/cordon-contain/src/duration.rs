//! Durations as responders type them: `90s`, `10m`, `2h`, or plain seconds.

use std::time::Duration;

/// Parses `90s`, `10m`, `1h30m`-free simple forms (`N`, `Ns`, `Nm`, `Nh`). Zero is refused: a
/// rollback window of nothing would undo the isolation before anyone could confirm it.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (use 90s, 10m, 2h)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("unknown unit in {s:?} (use s, m or h)")),
    };
    let secs = n
        .checked_mul(mult)
        .filter(|v| *v <= 7 * 24 * 3600)
        .ok_or_else(|| format!("{s:?} is too long"))?;
    if secs == 0 {
        return Err("a duration of zero is not allowed".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse("45").unwrap(), Duration::from_secs(45));
        for bad in ["", "0s", "m", "10x", "-5m", "99999999999999999999s", "1000h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
