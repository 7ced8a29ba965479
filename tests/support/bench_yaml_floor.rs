//! The floor for `scripts/bench.sh validate`: read and parse every YAML file
//! of a tree with serde_yaml, doing nothing else. Prints the file count.

use std::time::Instant;

fn main() {
    let root = std::env::args()
        .nth(1)
        .expect("usage: bench-yaml-floor DIR");
    let start = Instant::now();
    let mut files = 0usize;
    let mut bytes = 0usize;
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.expect("walk");
        let name = entry.file_name().to_string_lossy();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) || !entry.file_type().is_file() {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read");
        bytes += text.len();
        let value: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::Null);
        std::hint::black_box(value);
        files += 1;
    }
    eprintln!(
        "parsed {files} files ({} MiB) in {:.3}s",
        bytes >> 20,
        start.elapsed().as_secs_f64()
    );
}
