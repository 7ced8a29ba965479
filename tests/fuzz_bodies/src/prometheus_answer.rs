//! A Prometheus query API answer (status and body) through the reader
//! csv-wait polls with, then csv-wait's classification of the samples.

use crate::response;
use csv_wait::state::{classify, Tracker};

/// One input, as the fuzz target and the seed test give it.
pub fn run(data: &[u8]) {
    let answer = response(data);
    match common::remote::prometheus::read_answer("http://prometheus.fuzz", &answer) {
        Ok(result) => {
            let clusters: Vec<String> = result
                .samples
                .iter()
                .filter_map(|sample| sample.label("_id").map(str::to_string))
                .chain(["cluster-a".to_string()])
                .collect();
            let mut tracker = Tracker::new(&clusters, "_id");
            let _ = tracker.observe(&result.samples);
            let _ = tracker.outcome();
            let samples: Vec<_> = result.samples.iter().collect();
            let _ = classify(&samples, true);
            let _ = classify(&samples, false);
            for sample in &result.samples {
                let _ = sample.number();
            }
        }
        Err(err) => {
            let _ = err.error.to_string();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = csv_wait::query::parse_cluster_list(text);
    }
}
