//! The floor for scripts/bench/render.sh: how long serde_json alone takes to
//! write the same objects syncset-render wrote (read from its output, then
//! written again the same way: pretty JSON into one buffer, then to the file).
//!
//! Usage: json-floor RENDERED.json OUT  → prints the seconds spent writing.

use std::io::Write;
use std::time::Instant;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: json-floor RENDERED.json OUT");
        return std::process::ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(input) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("json-floor: {input}: {err}");
            return std::process::ExitCode::from(1);
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            eprintln!("json-floor: {input}: {err}");
            return std::process::ExitCode::from(1);
        }
    };
    let start = Instant::now();
    let written = serde_json::to_string_pretty(&value).map(|mut s| {
        s.push('\n');
        s
    });
    let result = written
        .map_err(std::io::Error::other)
        .and_then(|s| std::fs::File::create(output)?.write_all(s.as_bytes()));
    if let Err(err) = result {
        eprintln!("json-floor: {output}: {err}");
        return std::process::ExitCode::from(1);
    }
    println!("{:.4}", start.elapsed().as_secs_f64());
    std::process::ExitCode::SUCCESS
}
