#!/usr/bin/env bash
# scripts/bench.sh validate [N]: addon-validate --all on a generated
# managed-tenants tree of N add-ons (default 500) x 3 environments, with three
# bundle versions each (one add-on in four with extra resources), against two
# floors that parse the same YAML files and do nothing else:
#   - Python's libyaml (PyYAML's CSafeLoader, scripts/bench/libyaml_floor.py),
#     2 processes, against addon-validate on 2 cores. Target (issue 24):
#     ours <= 0.1x its time.
#   - serde_yaml (bench-yaml-floor), one core, against addon-validate -j 1 on
#     one core (taskset): printed for reference, no target.
#   - reading every file of the tree once, parsing nothing (bench-yaml-floor
#     --read-only, 2 threads): the file system's share of any budget, printed
#     beside what the target leaves for parsing and checking.
# Median of RUNS (default 3) runs, the sides interleaved. Also prints
# addon-validate's peak memory (GNU time).
# When ../shared/reference is present, also times managed-tenants-cli's own
# schema validation (PyYAML + jsonschema, from PyPI) on the same add-ons.
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
count="${1:-500}"
runs="${RUNS:-3}"
bench_require_gnu_time
python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null \
  || { echo "bench validate: python3 needs PyYAML with libyaml (yaml.CSafeLoader)" >&2; exit 2; }
bench_prepare
trap 'rm -rf "$work"' EXIT
python3 scripts/bench/gen_tree.py "$count" "$work" >"$work/gen.txt"
files=$(find "$work" -name '*.yaml' -o -name '*.yml' | wc -l)
mib=$(du -sm "$work" | cut -f1)
echo "tree: $(sed 's/^gen_tree: //; s/ in [^ ,]*//' "$work/gen.txt"); $files YAML files, ${mib} MiB"
echo "start: $(bench_load)"

one_core() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
# Wall seconds of one run of COMMAND (its output dropped).
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  bench_calc "$end - $start"
}
validate=("$bin"/addon-validate --all "$work/managed-tenants" --bundles "$work/managed-tenants-bundles" -o json)
"$bin"/addon-validate --all "$work/managed-tenants" --bundles "$work/managed-tenants-bundles" -o json >/dev/null 2>"$work/stderr" \
  || { echo "addon-validate found problems in the generated tree:"; tail -5 "$work/stderr"; exit 1; }

ours1_runs=() ours2_runs=() serde_runs=() libyaml_runs=() read_runs=()
for _ in $(seq 1 "$runs"); do
  ours1_runs+=("$(timed one_core "${validate[@]}" -j 1)")
  serde_runs+=("$(timed one_core "$bin"/bench-yaml-floor "$work")")
  ours2_runs+=("$(timed "${validate[@]}" -j 2)")
  libyaml_runs+=("$(timed python3 scripts/bench/libyaml_floor.py "$work" 2)")
  read_runs+=("$(timed "$bin"/bench-yaml-floor --read-only "$work" 2)")
done
bench_run "$work/validate.stats" "${validate[@]}" -j 2 >/dev/null 2>&1
ours1=$(bench_median "${ours1_runs[@]}") ours2=$(bench_median "${ours2_runs[@]}")
serde=$(bench_median "${serde_runs[@]}") libyaml=$(bench_median "${libyaml_runs[@]}")
read_floor=$(bench_median "${read_runs[@]}")
libyaml_ratio=$(bench_calc "$ours2 / $libyaml")

echo "median of $runs runs:"
printf '  addon-validate --all (2 cores):             %.3f s   peak RSS %s MB\n' "$ours2" "$(bench_peak_mb "$work/validate.stats")"
printf '  floor: Python libyaml parse only (2 procs): %.3f s\n' "$libyaml"
printf '  ratio ours / libyaml:                       %.3f   (target <= 0.1: %s)\n' "$libyaml_ratio" \
  "$(awk -v r="$libyaml_ratio" 'BEGIN { print (r <= 0.1 ? "met" : "NOT MET") }')"
printf '  floor: reading every file, no parsing (2 threads): %.3f s; ours %.1fx it. The target leaves %.3f s beyond it\n' \
  "$read_floor" "$(bench_calc "$ours2 / $read_floor")" "$(bench_calc "$libyaml * 0.1 - $read_floor")"
printf '  addon-validate --all -j 1 (1 core):         %.3f s\n' "$ours1"
printf '  serde_yaml parse only (1 core):             %.3f s\n' "$serde"
printf '  ratio ours / serde_yaml:                    %.3f   (for reference)\n' "$(bench_calc "$ours1 / $serde")"

schemas=../shared/reference/managed-tenants-cli/managedtenants/schemas
if [[ -d "$schemas" ]]; then
  venv="${BENCH_VENV:-/tmp/addon-flow-bench-venv}"
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q pyyaml jsonschema >/dev/null
  fi
  mtcli_runs=()
  for _ in $(seq 1 "$runs"); do
    mtcli_runs+=("$(timed one_core "$venv/bin/python" scripts/bench/mtcli_schema.py "$schemas" "$work/managed-tenants")")
  done
  mtcli=$(bench_median "${mtcli_runs[@]}")
  printf '  managed-tenants-cli schema check (PyYAML + jsonschema, 1 core): %.3f s (the add-on files only), %.1fx ours on 1 core\n' \
    "$mtcli" "$(bench_calc "$mtcli / $ours1")"
else
  echo "  mtcli schema check skipped: ../shared/reference is not present"
fi
echo "end: $(bench_load)"
