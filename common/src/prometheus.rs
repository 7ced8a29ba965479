//! The Prometheus HTTP API as Thanos and Prometheus serve it: instant queries
//! (`/api/v1/query`), their answers, and PromQL quoting.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, RemoteKind, Result};
use crate::http::{encode_query, snippet, Client, Request, Response};

/// Past this length a query goes as a POST form: a GET URL that long is
/// refused by many proxies in front of Thanos.
pub const MAX_GET_QUERY_BYTES: usize = 4000;

/// How a query is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryMethod {
    /// GET for short queries, POST form for long ones.
    #[default]
    Auto,
    Get,
    Post,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VectorSample {
    /// The labels, `__name__` included when the series has one.
    pub metric: BTreeMap<String, String>,
    /// `[unix seconds, "value"]`.
    pub value: (f64, String),
}

impl VectorSample {
    /// A sample with these labels and value, at time 1 (for tests and the
    /// simulated OCM, which read labels and value only).
    pub fn with_labels(labels: &[(&str, &str)], value: &str) -> VectorSample {
        VectorSample {
            metric: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: (1.0, value.to_string()),
        }
    }

    /// The sample value (`NaN` when it is not a number).
    pub fn number(&self) -> f64 {
        self.value.1.parse().unwrap_or(f64::NAN)
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.metric.get(name).map(String::as_str)
    }
}

/// The API's envelope (`status`, `data` or `errorType`/`error`, `warnings`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryData {
    result_type: String,
    result: serde_json::Value,
}

/// The answer to an instant query that returns a vector.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub samples: Vec<VectorSample>,
    pub warnings: Vec<String>,
}

/// Why a query failed: the server's `errorType` tells a query we got wrong
/// (`bad_data`) from a server in trouble.
#[derive(Debug)]
pub struct QueryError {
    pub error: Error,
    /// The request can never succeed as sent (bad query, refused credentials).
    pub permanent: bool,
}

/// Runs an instant query and returns its vector.
pub fn query(
    client: &Client,
    promql: &str,
    method: QueryMethod,
) -> Result<QueryResult, QueryError> {
    let target = client.base_url().to_string();
    let encoded = format!("query={}", encode_query(promql));
    let post = match method {
        QueryMethod::Get => false,
        QueryMethod::Post => true,
        QueryMethod::Auto => encoded.len() > MAX_GET_QUERY_BYTES,
    };
    let path_with_query;
    let request = if post {
        Request::new("POST", "/api/v1/query")
            .body("application/x-www-form-urlencoded", encoded.into_bytes())
    } else {
        path_with_query = format!("/api/v1/query?{encoded}");
        Request::new("GET", &path_with_query)
    }
    .header("Accept", "application/json");
    // A 100 MB answer is no more the query API's than an HTML page is: both
    // end the wait (exit 3) rather than count as one failed poll.
    let failed = |error: Error| QueryError {
        permanent: error.remote_kind() == Some(RemoteKind::Oversized),
        error,
    };
    let response = client.send(&request).map_err(failed)?;
    read_answer(&target, &response)
}

/// Reads a query API answer (any status, any body) into its vector or into
/// the reason it holds none. Pure, so that any bytes a server sends can be
/// checked without a server (fuzz/fuzz_targets/prometheus_answer.rs).
pub fn read_answer(target: &str, response: &Response) -> Result<QueryResult, QueryError> {
    let envelope: Option<Envelope> = serde_json::from_slice(&response.body).ok();
    if let Some(Envelope {
        status,
        error_type,
        error,
        ..
    }) = &envelope
    {
        if status == "error" {
            let error_type = error_type.clone().unwrap_or_default();
            let message = format!(
                "the query failed (HTTP {}, {error_type}): {}",
                response.status,
                error.clone().unwrap_or_default()
            );
            let permanent =
                error_type == "bad_data" || response.status == 400 || response.status == 422;
            return Err(QueryError {
                error: Error::remote_as(RemoteKind::Status(response.status), target, message),
                permanent,
            });
        }
    }
    if !response.is_success() {
        let hint = match response.status {
            401 | 403 => " (the bearer token was refused: check PROMETHEUS_TOKEN or --token-file)",
            404 => " (no Prometheus query API here: is --url the Prometheus/Thanos base URL?)",
            _ => "",
        };
        // A 4xx says the request itself is wrong: asking again cannot help,
        // except after a timeout (408), too early (425) or too often (429).
        let permanent =
            (400..500).contains(&response.status) && !matches!(response.status, 408 | 425 | 429);
        let message = format!(
            "HTTP {}{hint}: {}",
            response.status,
            snippet(&response.text())
        );
        return Err(QueryError {
            error: Error::remote_as(RemoteKind::Status(response.status), target, message),
            permanent,
        });
    }
    let Some(Envelope {
        data: Some(data),
        warnings,
        ..
    }) = envelope
    else {
        return Err(QueryError {
            error: Error::remote_as(
                RemoteKind::NotTheApi,
                target,
                format!(
                    "answered something that is not a Prometheus API answer: {}",
                    snippet(&response.text())
                ),
            ),
            permanent: true,
        });
    };
    if data.result_type != "vector" {
        return Err(QueryError {
            error: Error::remote_as(
                RemoteKind::NotTheApi,
                target,
                format!(
                    "answered a {} where an instant vector was expected",
                    data.result_type
                ),
            ),
            permanent: true,
        });
    }
    let samples = serde_json::from_value(data.result).map_err(|err| QueryError {
        error: Error::remote_as(
            RemoteKind::NotTheApi,
            target,
            format!("answered a vector that cannot be read: {err}"),
        ),
        permanent: true,
    })?;
    Ok(QueryResult { samples, warnings })
}

/// Quotes a label value for a PromQL string literal.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// Escapes the RE2 metacharacters of `text`, so it matches itself inside a
/// `=~` regex.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_escaping() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(regex_escape("my.op+x"), r"my\.op\+x");
    }

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn failed_answers_say_their_kind() {
        let kind = |status, body| {
            read_answer("t", &answer(status, body))
                .unwrap_err()
                .error
                .remote_kind()
        };
        let bad_query = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(kind(400, bad_query), Some(RemoteKind::Status(400)));
        assert_eq!(kind(503, "overloaded"), Some(RemoteKind::Status(503)));
        assert_eq!(kind(200, "<html>"), Some(RemoteKind::NotTheApi));
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(kind(200, matrix), Some(RemoteKind::NotTheApi));
    }

    #[test]
    fn reads_vector_samples() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"csv_succeeded","_id":"c1"},"value":[1700000000.5,"1"]}]}}"#;
        let envelope: Envelope = serde_json::from_str(body).unwrap();
        let samples: Vec<VectorSample> =
            serde_json::from_value(envelope.data.unwrap().result).unwrap();
        assert_eq!(samples[0].label("_id"), Some("c1"));
        assert_eq!(samples[0].number(), 1.0);
    }
}
