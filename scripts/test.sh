#!/usr/bin/env bash
# The test command of README.md: formatting, lints, then every test (unit
# tests beside the code, end-to-end tests in tests/ that run the built tools),
# closing with one line that counts them all.
# Fuzzing (scripts/fuzz.sh --smoke) is not run here: its nightly sanitizer
# build takes about 15 minutes from scratch on 2 cores (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --all-targets 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
