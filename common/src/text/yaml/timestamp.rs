//! PyYAML's timestamps: its resolver's pattern and its constructor's
//! arithmetic, so `2001-12-14` is a date and `2001-12-14 21:59:43.10 -5` a
//! datetime exactly where `yaml.safe_load` makes them.

use super::scalars::{PythonKind, PythonScalar};

/// The parts of a timestamp the resolver's regex accepts:
/// `YYYY-MM-DD`, or `YYYY-M?M-D?D([Tt]|[ \t]+)H?H:MM:SS(\.F*)?([ \t]*(Z|[-+]H?H(:MM)?))?`.
struct Parts<'a> {
    year: &'a str,
    month: &'a str,
    day: &'a str,
    time: Option<Time<'a>>,
}

struct Time<'a> {
    hour: &'a str,
    minute: &'a str,
    second: &'a str,
    fraction: &'a str,
    /// `None`: naive; `Some(None)`: `Z`; `Some(Some((sign, h, m)))`.
    zone: Option<Option<(char, &'a str, &'a str)>>,
}

/// Takes `min` to `max` ASCII digits from the front of `text`.
fn digits(text: &str, min: usize, max: usize) -> Option<(&str, &str)> {
    let count = text
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    (count >= min).then(|| text.split_at(count))
}

fn parse(text: &str) -> Option<Parts<'_>> {
    let (year, rest) = digits(text, 4, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = digits(rest, 1, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = digits(rest, 1, 2)?;
    if rest.is_empty() {
        // The date-only form wants two digits each.
        return (month.len() == 2 && day.len() == 2).then_some(Parts {
            year,
            month,
            day,
            time: None,
        });
    }
    let rest = match rest.strip_prefix(['T', 't']) {
        Some(after) => after,
        None => {
            let after = rest.trim_start_matches([' ', '\t']);
            if after.len() == rest.len() {
                return None;
            }
            after
        }
    };
    let (hour, rest) = digits(rest, 1, 2)?;
    let (minute, rest) = digits(rest.strip_prefix(':')?, 2, 2)?;
    let (second, mut rest) = digits(rest.strip_prefix(':')?, 2, 2)?;
    let mut fraction = "";
    if let Some(after) = rest.strip_prefix('.') {
        let count = after.bytes().take_while(u8::is_ascii_digit).count();
        (fraction, rest) = after.split_at(count);
    }
    let zone_text = rest.trim_start_matches([' ', '\t']);
    let zone = if rest.is_empty() {
        None
    } else if zone_text == "Z" {
        Some(None)
    } else {
        let sign = zone_text
            .chars()
            .next()
            .filter(|c| matches!(c, '-' | '+'))?;
        let (tz_hour, tail) = digits(&zone_text[1..], 1, 2)?;
        let tz_minute = match tail.strip_prefix(':') {
            Some(after) => {
                let (minute, tail) = digits(after, 2, 2)?;
                if !tail.is_empty() {
                    return None;
                }
                minute
            }
            None if tail.is_empty() => "",
            None => return None,
        };
        Some(Some((sign, tz_hour, tz_minute)))
    };
    Some(Parts {
        year,
        month,
        day,
        time: Some(Time {
            hour,
            minute,
            second,
            fraction,
            zone,
        }),
    })
}

fn number(text: &str) -> i64 {
    text.parse().unwrap_or(0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What PyYAML makes of `text` when its timestamp pattern matches;
/// `Err` with Python's words when the date or time cannot exist.
pub(super) fn timestamp(text: &str) -> Result<Option<PythonScalar>, String> {
    let Some(parts) = parse(text) else {
        return Ok(None);
    };
    let fail = |why: &str| {
        Err(format!(
            "PyYAML reads the unquoted {text:?} as a timestamp and cannot build it ({why}); \
             quote it to keep a string"
        ))
    };
    let (year, month, day) = (number(parts.year), number(parts.month), number(parts.day));
    if year < 1 {
        return fail(&format!("year {year} is out of range"));
    }
    if !(1..=12).contains(&month) {
        return fail("month must be in 1..12");
    }
    if day < 1 || day > days_in_month(year, month) {
        return fail("day is out of range for month");
    }
    let Some(time) = parts.time else {
        return Ok(Some(PythonScalar {
            kind: PythonKind::Date,
            text: text.to_string(),
            repr: format!("datetime.date({year}, {month}, {day})"),
        }));
    };
    let (hour, minute, second) = (number(time.hour), number(time.minute), number(time.second));
    if hour > 23 {
        return fail("hour must be in 0..23");
    }
    if minute > 59 {
        return fail("minute must be in 0..59");
    }
    if second > 59 {
        return fail("second must be in 0..59");
    }
    // `fraction[:6]`, padded with zeros: microseconds.
    let mut micro: String = time.fraction.chars().take(6).collect();
    while !micro.is_empty() && micro.len() < 6 {
        micro.push('0');
    }
    let microsecond = number(&micro);
    let mut fields = vec![year, month, day, hour, minute];
    if microsecond != 0 {
        fields.extend([second, microsecond]);
    } else if second != 0 {
        fields.push(second);
    }
    let mut repr = format!(
        "datetime.datetime({}",
        fields
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    match time.zone {
        None => {}
        Some(None) => repr.push_str(", tzinfo=datetime.timezone.utc"),
        Some(Some((sign, tz_hour, tz_minute))) => {
            let mut offset = number(tz_hour) * 3600 + number(tz_minute) * 60;
            if sign == '-' {
                offset = -offset;
            }
            if offset.abs() >= 86_400 {
                return fail("the UTC offset must be strictly between -24 and 24 hours");
            }
            if offset == 0 {
                repr.push_str(", tzinfo=datetime.timezone.utc");
            } else {
                repr.push_str(&format!(
                    ", tzinfo=datetime.timezone({})",
                    timedelta_repr(offset)
                ));
            }
        }
    }
    repr.push(')');
    Ok(Some(PythonScalar {
        kind: PythonKind::DateTime,
        text: text.to_string(),
        repr,
    }))
}

/// Python's `repr(timedelta(seconds=offset))`: days may be negative,
/// seconds are in 0..86400.
fn timedelta_repr(offset: i64) -> String {
    let days = offset.div_euclid(86_400);
    let seconds = offset.rem_euclid(86_400);
    let mut fields = Vec::new();
    if days != 0 {
        fields.push(format!("days={days}"));
    }
    if seconds != 0 {
        fields.push(format!("seconds={seconds}"));
    }
    format!("datetime.timedelta({})", fields.join(", "))
}
