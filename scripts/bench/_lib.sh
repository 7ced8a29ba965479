# shellcheck shell=bash
# Shared by the stages of scripts/bench.sh (sourced, not a stage): GNU time
# for peak memory, the machine's load printed beside every number, medians.
# The machine is shared: a number without its load cannot be compared.
#
# Sourcing it sets a stage up: bash's strict mode, and the repository's root
# as the working directory (the stages' paths are relative to it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

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

# bench_prepare: builds the binaries (bench_build) and sets `bin`, the folder
# they are in, and `work`, a new temporary folder for the stage to remove.
bench_prepare() {
  bench_build
  # shellcheck disable=SC2034 # read by the stage that called it
  bin="$(bench_target_dir)/release"
  # shellcheck disable=SC2034 # read by the stage that called it
  work="$(mktemp -d)"
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
# readers below take the last line). With BENCH_FIXED_LAYOUT=1 (see
# bench_fix_layout) COMMAND runs without address-space randomisation.
bench_run() {
  local stats="$1" layout=()
  shift
  if [[ "${BENCH_FIXED_LAYOUT:-}" == 1 ]]; then layout=(setarch -R); fi
  /usr/bin/time -f '%e %U %S %M' -o "$stats" "${layout[@]}" "$@"
}

# bench_fix_layout: sets BENCH_FIXED_LAYOUT=1 when `setarch -R` works. With
# the address space randomised, one tool's peak RSS on the same input
# wandered by up to 0.9 MB from run to run (ocm-post, 6.9-7.8 MB); with it
# fixed, the same peak every run. A peak measures the program's memory, not
# where the kernel happened to put it.
bench_fix_layout() {
  if setarch -R true 2>/dev/null; then
    BENCH_FIXED_LAYOUT=1
  else
    echo "bench: setarch -R is not available: peaks vary with address-space randomisation" >&2
  fi
}

# Fields of a STATS file: wall seconds, CPU seconds (user + system), peak MB.
bench_wall() { tail -n 1 "$1" | awk '{ printf "%.3f", $1 }'; }
bench_cpu() { tail -n 1 "$1" | awk '{ printf "%.3f", $2 + $3 }'; }
bench_peak_mb() { tail -n 1 "$1" | awk '{ printf "%.1f", $4 * 1024 / 1e6 }'; }

# bench_cpu_run TIMES COMMAND...: runs COMMAND (a function too) in a
# subshell and writes bash's `times` into TIMES: its second line is the CPU
# time of every process COMMAND ran, to the millisecond (GNU time has 10 ms).
bench_cpu_run() {
  local times="$1"
  shift
  ( "$@" && times >"$times" )
}
# CPU seconds (user + system) of the children, from a TIMES file.
bench_children_cpu() {
  awk 'function secs(t, p) { sub(/s$/, "", t); split(t, p, "m"); return p[1] * 60 + p[2] }
       NR == 2 { printf "%.3f", secs($1) + secs($2) }' "$1"
}

# The median of the numbers given.
bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_calc EXPRESSION: floating-point arithmetic, three decimals.
bench_calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# The PIDs of the servers a stage started in the background;
# bench_stop_servers ends them (from the stage's EXIT trap).
BENCH_PIDS=()
bench_stop_servers() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}

# A free loopback TCP port.
bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench_start_registry DIR ACCESS_LOG: Debian's docker-registry on a free
# loopback port, its config, storage (DIR/data) and log (DIR/log) in DIR;
# ACCESS_LOG true logs every request (to count writes), false none. Sets
# REGISTRY to its host:port once it answers. Not called in $(...): a
# subshell would lose the PID and the registry would outlive the stage.
bench_start_registry() {
  local dir="$1" access_log="$2" port disabled=true
  [[ "$access_log" == true ]] && disabled=false
  port="$(bench_free_port)"
  mkdir -p "$dir"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: $disabled
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  BENCH_PIDS+=("$!")
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  # shellcheck disable=SC2034 # read by the stage that started it
  REGISTRY="127.0.0.1:$port"
}

# The whole-tree CI job with our tools, no network: validate every add-on of
# TREE's environment ENV and print the documents, render every add-on's
# SelectorSyncSet from that stream, and build every OCM payload from the same
# stream (`ocm-post --dry-run`: the requests, not sent; the URL is loopback
# and never contacted).
#   bench_whole_tree_prepare OUT_DIR     (untimed: the folder and a FIFO)
#   bench_whole_tree_job BIN_DIR TREE ENV OUT_DIR [ORDER]
# ORDER `overlap` (the default): syncset-render and ocm-post both read the
# stream while addon-validate writes it (tee into ocm-post's FIFO), as a job
# that sends nothing can run them. ORDER `after`: ocm-post reads the saved
# stream once the pipe is done, as the fleet's deploy runs it (SPEC.md: the
# add-ons are posted to OCM after Hive has them).
# Writes OUT_DIR/{docs.jsonl,sss.json,payloads.json} and each tool's stderr
# in OUT_DIR/<tool>.err. With BENCH_STATS=1 each tool runs under GNU time
# (OUT_DIR/<tool>.stats: peak memory); timed runs go without it, since each
# wrapper is a fork and an exec on the clock of a job of some 30 ms.
bench_whole_tree_prepare() {
  mkdir -p "$1"
  rm -f "$1/stream.fifo"
  mkfifo "$1/stream.fifo"
}
bench_whole_tree_job() {
  local bin="$1" tree="$2" env="$3" out="$4" order="${5:-overlap}" ocm=""
  local ocm_args=(--dry-run --url http://127.0.0.1:9 -o json)
  _bench_tool() { # TOOL ARGS...: $bin/TOOL, under GNU time with BENCH_STATS=1
    local tool="$1"
    shift
    if [[ "${BENCH_STATS:-}" == 1 ]]; then
      bench_run "$out/$tool.stats" "$bin/$tool" "$@"
    else
      "$bin/$tool" "$@"
    fi
  }
  local sinks=("$out/docs.jsonl")
  if [[ "$order" == overlap ]]; then
    _bench_tool ocm-post "${ocm_args[@]}" <"$out/stream.fifo" >"$out/payloads.json" 2>"$out/ocm-post.err" &
    ocm=$!
    sinks+=("$out/stream.fifo")
  fi
  local status=0
  _bench_tool addon-validate --all "$tree" --env "$env" --documents 2>"$out/addon-validate.err" \
    | tee "${sinks[@]}" \
    | _bench_tool syncset-render --selector -o json >"$out/sss.json" 2>"$out/syncset-render.err" \
    || status=1
  if [[ -n "$ocm" ]]; then
    wait "$ocm" || status=1
  elif ((status == 0)); then
    _bench_tool ocm-post "${ocm_args[@]}" <"$out/docs.jsonl" >"$out/payloads.json" 2>"$out/ocm-post.err" \
      || status=1
  fi
  if ((status != 0)); then
    echo "bench: the whole-tree job failed:" >&2
    local tool
    for tool in addon-validate syncset-render ocm-post; do
      [[ -f "$out/$tool.err" ]] && tail -5 "$out/$tool.err" | sed "s/^/  $tool: /" >&2
    done
    return 1
  fi
}

# The three tools of bench_whole_tree_job, in pipeline order.
# shellcheck disable=SC2034 # used by the stages that source this file
BENCH_JOB_TOOLS=(addon-validate syncset-render ocm-post)
