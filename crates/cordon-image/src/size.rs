//! Sizes given on the command line (`4G`, `650M`, `512`).

use crate::Error;

/// Parses a byte count with an optional binary suffix (K, M, G, T; `KiB`/`KB`/`k` all mean 1024).
pub fn parse_size(s: &str) -> Result<u64, Error> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    let invalid = |why| Error::Invalid {
        what: "size",
        value: s.to_owned(),
        why,
    };
    let n: u64 = num
        .parse()
        .map_err(|_| invalid("expected a number with an optional K/M/G/T suffix"))?;
    let mult: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(invalid("unknown suffix (use K, M, G or T)")),
    };
    let v = n.checked_mul(mult).ok_or_else(|| invalid("too large"))?;
    if v == 0 {
        return Err(invalid("must be greater than zero"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("650M").unwrap(), 650 << 20);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1KiB").unwrap(), 1024);
        assert!(parse_size("0").is_err());
        assert!(parse_size("4X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
