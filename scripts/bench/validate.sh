#!/usr/bin/env bash
# scripts/bench.sh validate [N]: addon-validate --all on a generated
# managed-tenants tree of N add-ons (default 500) x 3 environments, with three
# bundle versions each, against the floor of serde_yaml merely parsing the same
# YAML files. Both single-threaded (taskset to one core); best of 3 runs.
# When ../shared/reference is present, also times managed-tenants-cli's own
# schema validation (PyYAML + jsonschema, from PyPI) on the same add-ons.
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-500}"
cargo build --release -q -p addon-validate -p e2e --bins
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/bench/gen_tree.py "$count" "$work"
files=$(find "$work" -name '*.yaml' -o -name '*.yml' | wc -l)
mib=$(du -sm "$work" | cut -f1)
echo "tree: $count add-ons x 3 environments, $files YAML files, ${mib} MiB"

one_core() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
best_of_3() {
  local best=""
  for _ in 1 2 3; do
    local start end t
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  printf '%.3f' "$best"
}

ours=$(best_of_3 one_core target/release/addon-validate --all "$work/managed-tenants" --bundles "$work/managed-tenants-bundles" -j 1 -o json)
ours_parallel=$(best_of_3 target/release/addon-validate --all "$work/managed-tenants" --bundles "$work/managed-tenants-bundles" -o json)
floor=$(best_of_3 one_core target/release/bench-yaml-floor "$work")
target/release/addon-validate --all "$work/managed-tenants" --bundles "$work/managed-tenants-bundles" -o json >/dev/null 2>"$work/stderr" \
  || { echo "addon-validate found problems in the generated tree:"; tail -5 "$work/stderr"; exit 1; }

echo "addon-validate --all (1 core):       ${ours}s"
echo "floor, serde_yaml parse only (1 core): ${floor}s"
echo "ratio:                               $(echo "scale=2; $ours / $floor" | bc -l)   (target <= 1.5; whole tree under 1 s on one core)"
echo "addon-validate --all ($(nproc) cores):      ${ours_parallel}s"

schemas=../shared/reference/managed-tenants-cli/managedtenants/schemas
if [[ -d "$schemas" ]]; then
  venv="${BENCH_VENV:-/tmp/addon-flow-bench-venv}"
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q pyyaml jsonschema >/dev/null
  fi
  mtcli=$(best_of_3 one_core "$venv/bin/python" scripts/bench/mtcli_schema.py "$schemas" "$work/managed-tenants")
  echo "managed-tenants-cli schema check (PyYAML + jsonschema, 1 core): ${mtcli}s   (it checks only the add-on files)"
  echo "ratio mtcli / ours:                  $(echo "scale=1; $mtcli / $ours" | bc -l)x"
else
  echo "mtcli comparison skipped: ../shared/reference is not present"
fi
