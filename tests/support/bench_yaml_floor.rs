//! The floors for `scripts/bench.sh validate`:
//!
//! - `bench-yaml-floor DIR`: read and parse every YAML file of a tree with
//!   serde_yaml, doing nothing else. Prints the file count.
//! - `bench-yaml-floor --read-only DIR JOBS`: list every folder and read
//!   every file of the tree once on JOBS threads (open, size, one read,
//!   close: the system calls addon-validate makes per file, and its
//!   listing of a folder), parsing nothing. What is left of a time budget
//!   after this is what parsing and checking may take.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, root, jobs] if flag == "--read-only" => {
            read_only(Path::new(root), jobs.parse().expect("JOBS is a number"))
        }
        [root] => parse_yaml(root),
        _ => panic!("usage: bench-yaml-floor DIR | bench-yaml-floor --read-only DIR JOBS"),
    }
}

fn parse_yaml(root: &str) {
    let start = Instant::now();
    let mut files = 0usize;
    let mut bytes = 0usize;
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
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

/// Files and bytes read.
#[derive(Default)]
struct Count {
    files: u64,
    bytes: u64,
}

fn read_only(root: &Path, jobs: usize) {
    let start = Instant::now();
    let mut count = Count::default();
    // Down the tree level by level until there are folders enough to share
    // out (the add-on folders); each thread then walks its share whole.
    let mut level = vec![root.to_path_buf()];
    while !level.is_empty() && level.len() < 64 * jobs {
        let mut next = Vec::new();
        for dir in &level {
            list(dir, &mut next, &mut count);
        }
        level = next;
    }
    let counts: Vec<Count> = std::thread::scope(|scope| {
        let level = &level;
        let workers: Vec<_> = (0..jobs)
            .map(|job| {
                scope.spawn(move || {
                    let mut count = Count::default();
                    for dir in level.iter().skip(job).step_by(jobs) {
                        walk(dir, &mut count);
                    }
                    count
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    for c in counts {
        count.files += c.files;
        count.bytes += c.bytes;
    }
    eprintln!(
        "read {} files ({} MiB) in {:.3}s",
        count.files,
        count.bytes >> 20,
        start.elapsed().as_secs_f64()
    );
}

fn walk(dir: &Path, count: &mut Count) {
    let mut dirs = Vec::new();
    list(dir, &mut dirs, count);
    for dir in dirs {
        walk(&dir, count);
    }
}

/// Reads the files of `dir` and pushes its folders onto `dirs`.
fn list(dir: &Path, dirs: &mut Vec<PathBuf>, count: &mut Count) {
    // The listing addon-validate makes (openat, getdents64, close), and its
    // opening of a listed folder's files by name.
    let (folder, entries) = common::cli::listing::list_sorted_kept(dir).expect("list");
    for entry in entries {
        if entry.kind.is_dir() {
            dirs.push(entry.path);
        } else if entry.kind.is_file() {
            let mut file = folder.open(entry.file_name()).expect("open");
            let size = file.metadata().expect("size").len() as usize;
            let mut bytes = vec![0; size + 1];
            let read = file.read(&mut bytes).expect("read");
            std::hint::black_box(&bytes[..read]);
            count.files += 1;
            count.bytes += read as u64;
        }
    }
}
