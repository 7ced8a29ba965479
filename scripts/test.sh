#!/usr/bin/env bash
# The test command of README.md: formatting, lints, then every test (unit
# tests beside the code, end-to-end tests in tests/ that run the built tools).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins
cargo test --workspace
