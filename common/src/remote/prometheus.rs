//! The Prometheus HTTP API as Thanos and Prometheus serve it: instant queries
//! (`/api/v1/query`), their answers, and PromQL quoting.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::cli::error::{Error, RemoteKind, Result};
use crate::remote::http::{encode_query, snippet, Client, Request, Response};

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
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// The labels (the ones asked for: [`Labels`]), `__name__` included
    /// when the series has one.
    pub metric: BTreeMap<String, String>,
    /// `[unix seconds, "value"]`.
    pub value: (f64, String),
}

/// Which labels of each sample to keep. Telemetry series carry many labels
/// a caller never reads; those are skipped as the answer is read, never
/// allocated.
#[derive(Debug, Clone, Copy)]
pub enum Labels<'a> {
    All,
    /// These names (`__name__` is one, for the metric's name).
    Only(&'a [&'a str]),
}

impl Labels<'_> {
    fn keeps(&self, name: &str) -> bool {
        match self {
            Labels::All => true,
            Labels::Only(names) => names.contains(&name),
        }
    }
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
/// The result is kept as its text until its type is known: a vector is then
/// read straight into samples, without a generic JSON tree first.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<QueryData<'a>>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryData<'a> {
    result_type: String,
    #[serde(borrow)]
    result: &'a RawValue,
}

/// Reads a vector's samples (`[{"metric": {...}, "value": [t, "v"]}, ...]`)
/// keeping the labels `0` asks for.
struct SamplesSeed<'k>(Labels<'k>);

impl<'de> DeserializeSeed<'de> for SamplesSeed<'_> {
    type Value = Vec<VectorSample>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SamplesSeed<'_> {
    type Value = Vec<VectorSample>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of samples")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut samples = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(sample) = seq.next_element_seed(SampleSeed(self.0))? {
            samples.push(sample);
        }
        Ok(samples)
    }
}

/// One sample: `metric` (its labels, filtered) and `value`.
struct SampleSeed<'k>(Labels<'k>);

impl<'de> DeserializeSeed<'de> for SampleSeed<'_> {
    type Value = VectorSample;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SampleSeed<'_> {
    type Value = VectorSample;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sample with metric and value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut metric, mut value) = (None, None);
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "metric" => metric = Some(map.next_value_seed(MetricSeed(self.0))?),
                "value" => value = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(VectorSample {
            metric: metric.ok_or_else(|| serde::de::Error::missing_field("metric"))?,
            value: value.ok_or_else(|| serde::de::Error::missing_field("value"))?,
        })
    }
}

/// A sample's labels, those `0` keeps.
struct MetricSeed<'k>(Labels<'k>);

impl<'de> DeserializeSeed<'de> for MetricSeed<'_> {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetricSeed<'_> {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of label names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut labels = BTreeMap::new();
        while let Some(Key(name)) = map.next_key()? {
            if self.0.keeps(&name) {
                labels.insert(name.into_owned(), map.next_value::<String>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(labels)
    }
}

/// A map key, borrowed from the answer unless it holds an escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
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

/// Runs an instant query and returns its vector, every label kept.
pub fn query(
    client: &Client,
    promql: &str,
    method: QueryMethod,
) -> Result<QueryResult, QueryError> {
    query_keeping(client, promql, method, Labels::All)
}

/// [`query`], keeping only the labels `labels` names in each sample.
pub fn query_keeping(
    client: &Client,
    promql: &str,
    method: QueryMethod,
    labels: Labels,
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
    // end the wait (exit 3) rather than count as one failed poll; nor does a
    // request we refuse to send (a token for plain http elsewhere, exit 2).
    let failed = |error: Error| QueryError {
        permanent: matches!(error, Error::Usage(_))
            || error.remote_kind() == Some(RemoteKind::Oversized),
        error,
    };
    let response = client.send(&request).map_err(failed)?;
    read_answer_keeping(&target, &response, labels)
}

/// Reads a query API answer (any status, any body) into its vector or into
/// the reason it holds none, every label kept. Pure, so that any bytes a
/// server sends can be checked without a server
/// (fuzz/fuzz_targets/prometheus_answer.rs).
pub fn read_answer(target: &str, response: &Response) -> Result<QueryResult, QueryError> {
    read_answer_keeping(target, response, Labels::All)
}

/// [`read_answer`], keeping only the labels `labels` names in each sample.
pub fn read_answer_keeping(
    target: &str,
    response: &Response,
    labels: Labels,
) -> Result<QueryResult, QueryError> {
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
    let mut reader = serde_json::Deserializer::from_str(data.result.get());
    let samples = SamplesSeed(labels)
        .deserialize(&mut reader)
        .map_err(|err| QueryError {
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
        let samples = read_answer("t", &answer(200, body)).unwrap().samples;
        assert_eq!(samples[0].label("_id"), Some("c1"));
        assert_eq!(samples[0].label("__name__"), Some("csv_succeeded"));
        assert_eq!(samples[0].number(), 1.0);
        assert_eq!(samples[0].value.0, 1700000000.5);
    }

    #[test]
    fn only_the_labels_asked_for_are_kept_whatever_the_order_of_fields() {
        // resultType after result, a label name with an escape, extra fields.
        let body = r#"{"data":{"result":[
            {"value":[1,"0"],"metric":{"__name__":"csv_succeeded","_id":"c1","tenant_id":"t","na\u006de":"op.v1"},"x":[]},
            {"metric":{},"value":[2,"NaN"]}],"resultType":"vector"},"status":"success","warnings":["w"]}"#;
        let result =
            read_answer_keeping("t", &answer(200, body), Labels::Only(&["_id", "name"])).unwrap();
        let first = &result.samples[0].metric;
        assert_eq!(first.len(), 2, "{first:?}");
        assert_eq!(first["_id"], "c1");
        assert_eq!(first["name"], "op.v1");
        assert!(result.samples[1].metric.is_empty());
        assert!(result.samples[1].number().is_nan());
        assert_eq!(result.warnings, ["w"]);
        let all = read_answer("t", &answer(200, body)).unwrap();
        assert_eq!(all.samples[0].metric.len(), 4);
    }

    #[test]
    fn a_vector_that_is_not_samples_is_not_the_api() {
        for result in [
            r#"[{"metric":{}}]"#,
            r#"[{"value":[1,"1"]}]"#,
            r#"[1]"#,
            r#"{}"#,
        ] {
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":{result}}}}}"#
            );
            let err = read_answer("t", &answer(200, &body)).unwrap_err();
            assert!(err.permanent, "{result}");
            assert_eq!(err.error.remote_kind(), Some(RemoteKind::NotTheApi));
            assert!(
                err.error
                    .to_string()
                    .contains("a vector that cannot be read"),
                "{}",
                err.error
            );
        }
    }
}
