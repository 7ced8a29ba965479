# shellcheck shell=bash
# Shared by the stages of scripts/bench.sh (sourced, not a stage): GNU time
# for peak memory, the machine's load printed beside every number, medians.
# The machine is shared: a number without its load cannot be compared.

# The directory cargo builds into (CARGO_TARGET_DIR, a config's build.target-dir,
# or the workspace's target/): asked of cargo, never assumed.
bench_target_dir() {
  cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# bench_build [PROFILE]: builds every binary a stage runs (PROFILE, default
# release). Every stage asks for the same packages, whichever it needs: cargo
# unifies features over the packages it is asked to build, so a different
# set would build `common` again in another feature set, stage after stage.
bench_build() {
  cargo build -q --profile "${1:-release}" -p addon-validate -p catalog-build -p syncset-render \
    -p hive-apply -p ocm-post -p csv-wait -p addon-flow-testservers -p e2e --bins --example json-floor
}

# GNU time (Debian's `time` package) reports a process's peak RSS (%M);
# bash's `time` keyword cannot.
bench_require_gnu_time() {
  if ! /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
    echo "bench: needs GNU time for peak memory: apt-get install time" >&2
    exit 2
  fi
}

# "load 1.20 0.80 0.60 (2 cores)": the 1, 5 and 15 minute load averages.
bench_load() {
  printf 'load %s (%s cores)' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
}

# bench_run STATS COMMAND...: runs COMMAND under GNU time and writes
# "wall user system peak_kib" into STATS; COMMAND's exit status is kept (GNU
# time then writes "Command exited with non-zero status N" first: the
# readers below take the last line).
bench_run() {
  local stats="$1"
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$stats" "$@"
}

# Fields of a STATS file: wall seconds, CPU seconds (user + system), peak MB.
bench_wall() { tail -n 1 "$1" | awk '{ printf "%.3f", $1 }'; }
bench_cpu() { tail -n 1 "$1" | awk '{ printf "%.3f", $2 + $3 }'; }
bench_peak_mb() { tail -n 1 "$1" | awk '{ printf "%.1f", $4 * 1024 / 1e6 }'; }

# The median of the numbers given.
bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_calc EXPRESSION: floating-point arithmetic, three decimals.
bench_calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
