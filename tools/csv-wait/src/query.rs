//! The one PromQL query a poll sends, and the small parsers of the command line.

use std::time::Duration;

use common::prometheus::{quote, regex_escape};

use crate::state::{ABNORMAL, SUCCEEDED};

/// The query for every watched cluster at once:
///
/// ```text
/// {__name__=~"csv_succeeded|csv_abnormal",name=~"<operator>\\..*",_id=~"<id1>|<id2>|..."}
///   or count by (_id) (csv_succeeded{_id=~"<id1>|<id2>|..."})
/// ```
///
/// The left side is the add-on's CSV series (CSV names are
/// `<operatorName>.v<version>`); the right side, one series per cluster with
/// only the cluster label, says which clusters report CSV telemetry at all,
/// so a cluster that has not installed the add-on yet (`pending`) is told
/// from one that sends nothing (`unknown`) without a second query. An
/// alternation of literal ids is what Prometheus and Thanos turn into a set
/// lookup on the label index, so 2,000 ids cost one index lookup, not 2,000
/// queries.
pub fn poll_query(operator: &str, clusters: &[String], cluster_label: &str) -> String {
    let ids = clusters
        .iter()
        .map(|id| regex_escape(id))
        .collect::<Vec<_>>()
        .join("|");
    let ids = quote(&ids);
    let names = quote(&format!("{}\\..*", regex_escape(operator)));
    format!(
        "{{__name__=~\"{SUCCEEDED}|{ABNORMAL}\",name=~{names},{cluster_label}=~{ids}}} \
         or count by ({cluster_label}) ({SUCCEEDED}{{{cluster_label}=~{ids}}})"
    )
}

/// `30s`, `5m`, `1h`, `1h30m`, `500ms`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(Duration::from_secs_f64(seconds));
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
        total += Duration::from_secs_f64(seconds);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A cluster id as telemetry spells it: no spaces, no quotes.
pub fn check_cluster_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '|')
    {
        return Err(format!(
            "{id:?} is not a cluster id (expected the external cluster id, such as 049ea229-...)"
        ));
    }
    Ok(())
}

/// Cluster ids from a list: one per line (or separated by spaces or commas);
/// `#` starts a comment.
pub fn parse_cluster_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(|c: char| c.is_whitespace() || c == ','))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_covers_every_cluster() {
        let clusters = vec!["049ea229-aaaa".to_string(), "c.2".to_string()];
        assert_eq!(
            poll_query("my-addon", &clusters, "_id"),
            r#"{__name__=~"csv_succeeded|csv_abnormal",name=~"my-addon\\..*",_id=~"049ea229-aaaa|c\\.2"} or count by (_id) (csv_succeeded{_id=~"049ea229-aaaa|c\\.2"})"#
        );
    }

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
    fn cluster_lists_and_ids() {
        assert_eq!(
            parse_cluster_list("a\n# comment\nb c, d # trailing\n\n"),
            ["a", "b", "c", "d"]
        );
        assert!(check_cluster_id("049ea229-0b27-4b0e-9b2e-3f0f3b6a1b2c").is_ok());
        assert!(check_cluster_id("a|b").is_err());
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_719_914_400), "2024-07-02T10:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
