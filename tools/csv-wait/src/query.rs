//! The one PromQL query a poll sends, and the small parsers of the command line.

use common::remote::prometheus::{quote, regex_escape};

use crate::state::{ABNORMAL, SUCCEEDED};

/// The query for every watched cluster and every watched add-on at once:
///
/// ```text
/// {__name__=~"csv_succeeded|csv_abnormal",name=~"<operator>\\..*",_id=~"<id1>|<id2>|..."}
///   or count by (_id) (csv_succeeded{_id=~"<id1>|<id2>|..."})
/// ```
///
/// With several add-ons (a stream of documents) the name matcher is one
/// alternation, `name=~"(<op1>|<op2>|...)\\..*"`, and [`crate::addons`]
/// hands each add-on the series of its own CSVs: N add-ons cost one query
/// per poll, not N.
///
/// The left side is the add-on's CSV series (CSV names are
/// `<operatorName>.v<version>`); the right side, one series per cluster with
/// only the cluster label, says which clusters report CSV telemetry at all,
/// so a cluster that has not installed the add-on yet (`pending`) is told
/// from one that sends nothing (`unknown`) without a second query. An
/// alternation of literal ids is what Prometheus and Thanos turn into a set
/// lookup on the label index, so 2,000 ids cost one index lookup, not 2,000
/// queries.
pub fn poll_query(operators: &[&str], clusters: &[String], cluster_label: &str) -> String {
    let ids = clusters
        .iter()
        .map(|id| regex_escape(id))
        .collect::<Vec<_>>()
        .join("|");
    let ids = quote(&ids);
    let mut operators: Vec<String> = operators.iter().map(|op| regex_escape(op)).collect();
    operators.sort();
    operators.dedup();
    let operators = match operators.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join("|")),
    };
    let names = quote(&format!("{operators}\\..*"));
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
            poll_query(&["my-addon"], &clusters, "_id"),
            r#"{__name__=~"csv_succeeded|csv_abnormal",name=~"my-addon\\..*",_id=~"049ea229-aaaa|c\\.2"} or count by (_id) (csv_succeeded{_id=~"049ea229-aaaa|c\\.2"})"#
        );
    }

    #[test]
    fn one_query_covers_every_addon_of_a_stream() {
        let clusters = vec!["c1".to_string(), "c2".to_string()];
        let operators = ["wait-b", "wait-a", "wait.c", "wait-a"];
        let query = poll_query(&operators, &clusters, "_id");
        assert_eq!(
            query,
            r#"{__name__=~"csv_succeeded|csv_abnormal",name=~"(wait-a|wait-b|wait\\.c)\\..*",_id=~"c1|c2"} or count by (_id) (csv_succeeded{_id=~"c1|c2"})"#
        );
        // However many add-ons: one selector, one query.
        let many: Vec<String> = (0..500).map(|i| format!("addon-{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let query = poll_query(&many, &clusters, "_id");
        assert_eq!(query.matches("__name__").count(), 1);
        assert_eq!(query.matches(" or ").count(), 1);
        assert!(query.contains("addon-0|addon-1|addon-10|"), "{query}");
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
