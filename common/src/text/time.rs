//! Durations and timestamps as people type and read them: `--timeout 10m`,
//! `"2024-07-02T10:00:00Z"`. One implementation for every tool and server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest duration we accept (a year): beyond it a deadline is
/// meaningless, and `Instant + Duration` would overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

/// `30s`, `5m`, `1h`, `1h30m`, `500ms`, or a number of seconds; at most a year.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let too_long = || format!("{text:?} is longer than the longest duration allowed (366d)");
    let seconds_to_duration = |seconds: f64| {
        Duration::try_from_secs_f64(seconds)
            .ok()
            .filter(|d| *d <= MAX_DURATION)
            .ok_or_else(too_long)
    };
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return seconds_to_duration(seconds);
        }
    }
    let bad = || format!("{text:?} is not a duration (examples: 30s, 5m, 1h30m, 500ms)");
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            "d" => number * 86400.0,
            _ => return Err(bad()),
        };
        total = total
            .checked_add(seconds_to_duration(seconds)?)
            .filter(|d| *d <= MAX_DURATION)
            .ok_or_else(too_long)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// UTC time as RFC 3339 (`2024-07-02T10:00:00Z`), for the events.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds_of_day = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

/// Reads an RFC 3339 time (`2024-07-02T10:00:00Z`, with fractions of a
/// second or a `+02:00` offset too) as a point in time: the inverse of
/// [`rfc3339`], for the expiry a credential plugin reports.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if bytes.len() < 20
        || separators.iter().any(|&(at, c)| bytes[at] != c)
        || !matches!(bytes[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<9}", &fraction[..digits.min(9)]);
        nanos = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // Days since 1970-01-01 from a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let since_epoch = Duration::new(seconds.unsigned_abs(), 0);
    let at = if seconds >= 0 {
        UNIX_EPOCH.checked_add(since_epoch)?
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)?
    };
    at.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// The current UTC time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("0.5s").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn huge_durations_are_refused_not_a_panic() {
        for text in [
            "1e20",
            "1e20s",
            "99999999999999999999h",
            "367d",
            "300d300d",
            "inf",
        ] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert_eq!(parse_duration("366d").unwrap(), MAX_DURATION);
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_719_914_400), "2024-07-02T10:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn reads_rfc3339_times_as_it_writes_them_and_with_offsets_and_fractions() {
        let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
        for seconds in [0, 951_782_400, 1_719_914_400, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(seconds)), Some(at(seconds)));
        }
        assert_eq!(
            parse_rfc3339("2024-07-02T12:00:00+02:00"),
            Some(at(1_719_914_400))
        );
        assert_eq!(
            parse_rfc3339("2024-07-02T09:30:00-00:30"),
            Some(at(1_719_914_400))
        );
        assert_eq!(
            parse_rfc3339("2024-07-02T10:00:00.25Z"),
            Some(at(1_719_914_400) + Duration::from_millis(250))
        );
        assert!(parse_rfc3339("1969-12-31T23:59:59Z").unwrap() < UNIX_EPOCH);
        for text in [
            "",
            "2024-07-02",
            "2024-07-02T10:00:00",
            "2024-13-02T10:00:00Z",
            "2024-07-02T25:00:00Z",
            "2024-07-02T10:00:00.Z",
            "2024-07-02T10:00:00+0200",
            "2024/07/02T10:00:00Z",
            "tomorrow, maybe",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }
}
