//! Human duration syntax shared by configuration and rate limits.
//!
//! The original accepts `^(\d+)\s?(ms|s|m|h|d)$` ("60s", "1 m", "7d"); flint
//! accepts exactly that, so limits and timeouts read the same in both systems.

use std::time::Duration;

/// Parses `"<integer>[ ]<unit>"` with unit one of `ms s m h d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits_end =
        text.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| format!("'{text}' has no unit (use ms, s, m, h or d, e.g. \"30s\")"))?;
    if digits_end == 0 {
        return Err(format!("'{text}' must start with a whole number, e.g. \"30s\""));
    }
    let (number, rest) = text.split_at(digits_end);
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    let value: u64 = number.parse().map_err(|_| format!("'{number}' is too large a number"))?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("'{text}' has an unknown unit (use ms, s, m, h or d)")),
    };
    value.checked_mul(millis_per_unit).map(Duration::from_millis).ok_or_else(|| format!("'{text}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_original_syntax() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1 h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in ["", "s", "10", "1.5s", "-1s", "1  s", "1 sec", "1x", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
