//! Duration strings for config vars: `500ms`, `90s`, `60m`, `2h`, `7d`; a bare number means
//! minutes, as CherryPy's `timeout` does.

use std::time::Duration;

use super::Error;

/// Parses a duration var. `name` is only used in the error message.
pub fn parse_duration(name: &str, text: &str) -> Result<Duration, Error> {
    let bad = || {
        Error::Config(format!(
            "{name} must be a duration like 60m or 90s, got \"{text}\""
        ))
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ms_per = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "" | "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(ms_per)
        .map(Duration::from_millis)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_minutes() {
        let ms = |s| parse_duration("X", s).unwrap().as_millis();
        assert_eq!(ms("90s"), 90_000);
        assert_eq!(ms("60m"), 3_600_000);
        assert_eq!(ms("60"), 3_600_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("250ms"), 250);
        assert_eq!(ms(" 5s "), 5_000);
    }

    #[test]
    fn errors_name_the_var_and_value() {
        let e = parse_duration("SESSION_TIMEOUT", "abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"SESSION_TIMEOUT must be a duration like 60m or 90s, got "abc""#
        );
        for bad in [
            "",
            "m",
            "-5m",
            "5 minutes",
            "1.5h",
            "99999999999999999999d",
            "5x",
        ] {
            assert!(parse_duration("T", bad).is_err(), "{bad}");
        }
    }
}
