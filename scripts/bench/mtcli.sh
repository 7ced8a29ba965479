#!/usr/bin/env bash
# scripts/bench.sh mtcli [N]: the whole-tree CI job (validate every add-on,
# render every SelectorSyncSet, build every OCM payload; no network) on a
# generated managed-tenants tree of N add-ons (default 500; one in four with
# extra resources: Jinja templates with loops and conditionals, and plain
# YAML), environment stage, with our tools and with managed-tenants-cli doing
# the same work on the same tree. Target (issue 24): ours >= 100x faster at
# every size (it measured 50, 500 and 5,000).
#
# Ours: `addon-validate --all --documents | tee | syncset-render --selector`,
# with `ocm-post --dry-run` reading the same stream at the same time
# (bench_whole_tree_job in _lib.sh); printed too, not judged: ocm-post after
# the pipe, as the deploy orders it. managed-tenants-cli: its own CLI as its CI job runs it,
# `managedtenants --addons-dir DIR --environment stage --dry-run run TASKS`,
# whose loader validates every add-on and renders its SelectorSyncSet List,
# with the task of scripts/bench/mtcli_tasks/ writing each List and building
# the add-on's OCM payloads with OcmCli's builders (sending nothing).
# Both sides write what they produced to files; the bench checks that both
# wrote the same objects and payloads (scripts/bench/mtcli_compare.py) and
# exits 1 when they did not.
#
# managed-tenants-cli is not on PyPI and not in this repository: MTCLI_SRC=DIR
# names a checkout of github.com/mt-sre/managed-tenants-cli, MTCLI_VENV=DIR a
# virtualenv where that checkout is installed (bin/managedtenants). Without
# them the bench says so and exits 2.
#
# RUNS (default 3): runs of managed-tenants-cli; OURS_RUNS (default 21) of
# ours, interleaved with them (our job takes milliseconds, where one
# scheduling hiccup of the machine is a tenth of it); medians are printed.
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
count="${1:-500}"
runs="${RUNS:-3}"
ours_runs="${OURS_RUNS:-21}"
env=stage
if ! [[ "$count" =~ ^[1-9][0-9]*$ && "$runs" =~ ^[1-9][0-9]*$ && "$ours_runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/bench.sh mtcli [N]   (N add-ons, default 500; RUNS=3, MTCLI_SRC=DIR, MTCLI_VENV=DIR)" >&2
  exit 2
fi
bench_require_gnu_time
root="$PWD"

# --- managed-tenants-cli's environment -----------------------------------------
mtcli_missing() {
  echo "bench mtcli: $1" >&2
  echo "  set MTCLI_SRC to a checkout of github.com/mt-sre/managed-tenants-cli and" >&2
  echo "  MTCLI_VENV to a virtualenv with it installed (pip install -e \"\$MTCLI_SRC\")" >&2
  exit 2
}
[[ -n "${MTCLI_SRC:-}" ]] || mtcli_missing "MTCLI_SRC is not set"
[[ -n "${MTCLI_VENV:-}" ]] || mtcli_missing "MTCLI_VENV is not set"
[[ -f "$MTCLI_SRC/managedtenants/cli/__init__.py" ]] \
  || mtcli_missing "MTCLI_SRC=$MTCLI_SRC is not a managed-tenants-cli checkout (no managedtenants/cli/)"
mtcli="$MTCLI_VENV/bin/managedtenants"
[[ -x "$mtcli" ]] || mtcli_missing "MTCLI_VENV=$MTCLI_VENV has no bin/managedtenants"
"$MTCLI_VENV/bin/python" -c 'import managedtenants' 2>/dev/null \
  || mtcli_missing "MTCLI_VENV=$MTCLI_VENV cannot import managedtenants"

bench_prepare
trap 'rm -rf "$work"' EXIT
python3 scripts/bench/gen_tree.py "$count" "$work/gen" --no-bundles >"$work/gen.txt"
tree="$work/gen/managed-tenants"
echo "bench mtcli: $(sed 's/^gen_tree: //; s/ in [^ ,]*//' "$work/gen.txt"), environment $env"
echo "managed-tenants-cli: $MTCLI_SRC at $(git -C "$MTCLI_SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), $("$MTCLI_VENV/bin/python" --version 2>&1)"
echo "start: $(bench_load)"

# --- the runs ------------------------------------------------------------------
# Timed runs are bare: wall time from bash's clock ($EPOCHREALTIME, no fork)
# around each job, nothing else on it. Then, untimed, each side once more
# with its CPU time (bash's `times`, bench_cpu_run) and each process's peak
# memory (GNU time): a wrapper is a fork and an exec, some milliseconds of a
# job of 30.
ours_job() { # out dir [order]
  bench_whole_tree_job "$bin" "$tree" "$env" "$1" "${2:-overlap}"
}
mtcli_job() { # out dir (the stats file is named mtcli.stats there)
  : >"$1/out.txt"
  local run=("$mtcli" --addons-dir "$tree/addons" --environment "$env" --dry-run
    run "$root/scripts/bench/mtcli_tasks")
  if [[ "${BENCH_STATS:-}" == 1 ]]; then run=(bench_run "$1/mtcli.stats" "${run[@]}"); fi
  if ! (cd "$work/gen" && BENCH_MTCLI_OUT="$1/out.txt" "${run[@]}" >"$1/mtcli.log" 2>&1); then
    echo "bench mtcli: managed-tenants-cli failed:" >&2
    tail -20 "$1/mtcli.log" >&2
    return 1
  fi
}
timed() { # function args...: the wall seconds of one call
  local start=$EPOCHREALTIME
  "$@" || exit 1
  bench_calc "$EPOCHREALTIME - $start"
}
ours_walls=() after_walls=() mtcli_walls=() ours_cpus=() mtcli_cpus=()
# Ours runs ours_runs / runs times (at least once) before each run of
# managed-tenants-cli, in both orders, so both sides see the same machine.
per_run=$(((ours_runs + runs - 1) / runs))
for run in $(seq 1 "$runs"); do
  bench_whole_tree_prepare "$work/ours.$run"
  bench_whole_tree_prepare "$work/after.$run"
  mkdir -p "$work/mtcli.$run"
  walls=() afters=()
  for _ in $(seq 1 "$per_run"); do
    walls+=("$(timed ours_job "$work/ours.$run")")
    afters+=("$(timed ours_job "$work/after.$run" after)")
  done
  ours_walls+=("${walls[@]}")
  after_walls+=("${afters[@]}")
  mtcli_walls+=("$(timed mtcli_job "$work/mtcli.$run")")
  echo "run $run: ours $(bench_median "${walls[@]}") s (median of $per_run; ocm-post after: $(bench_median "${afters[@]}") s), managed-tenants-cli ${mtcli_walls[-1]} s   ($(bench_load))"
done
for run in $(seq 1 "$runs"); do
  BENCH_STATS=1 bench_cpu_run "$work/ours.$run.times" ours_job "$work/ours.$run" || exit 1
  ours_cpus+=("$(bench_children_cpu "$work/ours.$run.times")")
done
BENCH_STATS=1 bench_cpu_run "$work/mtcli.1.times" mtcli_job "$work/mtcli.1" || exit 1
mtcli_cpus+=("$(bench_children_cpu "$work/mtcli.1.times")")

# --- results -----------------------------------------------------------------------
peak_of() { # tool stats file name, side dir prefix: the largest peak of the runs
  local peak=0 run
  for run in $(seq 1 "$runs"); do
    [[ -f "$work/$2.$run/$1.stats" ]] || continue
    peak=$(awk -v a="$peak" -v b="$(bench_peak_mb "$work/$2.$run/$1.stats")" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "$peak"
}
peaks=""
for tool in "${BENCH_JOB_TOOLS[@]}"; do peaks+="${peaks:+, }$tool $(peak_of "$tool" ours) MB"; done
ours_wall=$(bench_median "${ours_walls[@]}")
after_wall=$(bench_median "${after_walls[@]}")
ours_cpu=$(bench_median "${ours_cpus[@]}")
printf 'ours:  wall %.3f s (median of %s); CPU %.3f s; peak RSS: %s\n' "$ours_wall" "${#ours_walls[@]}" "$ours_cpu" "$peaks"
printf '       ocm-post after the pipe (the deploy'"'"'s order): wall %.3f s\n' "$after_wall"
mtcli_wall=$(bench_median "${mtcli_walls[@]}")
mtcli_cpu=$(bench_median "${mtcli_cpus[@]}")
printf 'managed-tenants-cli: wall %.3f s (median of %s); CPU %.3f s; peak RSS %s MB\n' \
  "$mtcli_wall" "$runs" "$mtcli_cpu" "$(peak_of mtcli mtcli)"
ratio=$(bench_calc "$mtcli_wall / $ours_wall")
printf 'ratio managed-tenants-cli / ours: %.1fx wall (target >= 100x at every size: %s), %.1fx CPU; %.1fx wall with ocm-post after\n' \
  "$ratio" "$(awk -v r="$ratio" 'BEGIN { print (r >= 100 ? "met" : "NOT MET") }')" \
  "$(bench_calc "$mtcli_cpu / $ours_cpu")" "$(bench_calc "$mtcli_wall / $after_wall")"
echo "end: $(bench_load)"
# Not timed: both sides wrote the same objects and payloads (first runs).
printf 'work: '
python3 scripts/bench/mtcli_compare.py "$work/ours.1" "$work/mtcli.1/out.txt"
for file in docs.jsonl sss.json payloads.json; do
  cmp -s "$work/ours.1/$file" "$work/after.1/$file" \
    || { echo "bench mtcli: ocm-post after the pipe wrote another $file" >&2; exit 1; }
done
