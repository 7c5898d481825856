//! Duration strings for config vars: `500ms`, `90s`, `60m`, `2h`, `7d`; a bare number means
//! minutes, as CherryPy's `timeout` does. Every duration is at most [`MAX_DURATION`] (400
//! days), so no setting can overflow the millisecond arithmetic done with it later (a lock
//! lease of `213503982334d` once made every write fail).

use std::time::Duration;

use crate::engine::Error;

/// Longest duration any setting accepts: 400 days, the browsers' cookie lifetime cap
/// ([`crate::engine::config::MAX_COOKIE_AGE`]).
pub const MAX_DURATION: Duration = Duration::from_secs(400 * 86_400);

/// Parses a duration var, at most [`MAX_DURATION`]. `name` is only used in the error message.
/// Overflow-proof: the number is parsed and scaled with checked arithmetic, and anything too
/// large for that is reported as over the bound.
pub fn parse_duration(name: &str, text: &str) -> Result<Duration, Error> {
    let bad = || {
        Error::Config(format!(
            "{name} must be a duration like 60m or 90s, got \"{text}\""
        ))
    };
    let too_long = || {
        Error::Config(format!(
            "{name} must be a duration like 60m or 90s, at most 400d, got \"{text}\""
        ))
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let ms_per: u64 = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "" | "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    // Only digits are left, so a parse failure is an overflow.
    let n: u64 = digits.parse().map_err(|_| too_long())?;
    let ms = n.checked_mul(ms_per).ok_or_else(too_long)?;
    let d = Duration::from_millis(ms);
    if d > MAX_DURATION {
        return Err(too_long());
    }
    Ok(d)
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
    fn durations_are_bounded_to_400_days_without_overflow() {
        let ms = |s| parse_duration("X", s).unwrap().as_millis();
        assert_eq!(ms("400d"), 400 * 86_400_000);
        assert_eq!(ms("9600h"), 400 * 86_400_000);
        assert_eq!(ms("576000"), 400 * 86_400_000);
        for big in [
            "401d",
            "9601h",
            "576001m",
            "34560000001ms",
            "213503982334d",
            "18446744073709551615ms",
            "99999999999999999999d",
        ] {
            let e = parse_duration("SESSION_LOCK_LEASE", big).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "SESSION_LOCK_LEASE must be a duration like 60m or 90s, at most 400d, got \"{big}\""
                )
            );
        }
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
