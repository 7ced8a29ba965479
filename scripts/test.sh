#!/usr/bin/env bash
# The test command of README.md: formatting, lints, then every test (unit
# tests beside the code, end-to-end tests in tests/ that run the built tools),
# closing with how long it took and one line that counts them all (alone on
# its line, as CI reads it).
#
# A test whose prerequisite (docker-registry, skopeo, prometheus, script,
# ../shared/reference) is missing says SKIPPED and is counted as skipped,
# not passed; with ADDON_FLOW_REQUIRE_ALL=1 (set by .ci/run) it fails instead.
# Fuzzing (scripts/fuzz.sh --smoke) is not run here: its nightly sanitizer
# build takes about 15 minutes from scratch on 2 cores (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins
log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT
export ADDON_FLOW_SKIP_LOG=$skips
# The end-to-end tests spend most of their time waiting on servers, child
# processes and timeouts, not on the CPU: on 2 cores, 6 at once finish in
# about half the time of the default (one a core). RUST_TEST_THREADS wins.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-6}
status=0
cargo test --workspace --all-targets 2>&1 | tee "$log" || status=$?
if [ -s "$skips" ]; then
  echo "skipped (a prerequisite is missing):"
  sed 's/^/  /' "$skips"
fi
awk -v skipped="$(wc -l <"$skips")" -v seconds="$((SECONDS - start))" '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
  END { printf "took %d s (formatting, lints, build and tests)\n%d passed, %d failed, %d skipped\n", seconds, p - skipped, f, s + skipped }' "$log"
exit "$status"
