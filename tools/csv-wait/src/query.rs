//! The one PromQL query a poll sends, and the small parsers of the command line.

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
    fn cluster_lists_and_ids() {
        assert_eq!(
            parse_cluster_list("a\n# comment\nb c, d # trailing\n\n"),
            ["a", "b", "c", "d"]
        );
        assert!(check_cluster_id("049ea229-0b27-4b0e-9b2e-3f0f3b6a1b2c").is_ok());
        assert!(check_cluster_id("a|b").is_err());
    }
}
