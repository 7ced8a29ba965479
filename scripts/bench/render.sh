#!/usr/bin/env bash
# syncset-render for 10,000 clusters (one SyncSet per ClusterDeployment
# namespace, the full-addon fixture: 2 namespaces, 2 catalogs, integrations,
# an extra resource), as JSON. Floor: serde_json alone writing the same
# objects (tools/syncset-render/examples/json-floor.rs), measured in the same
# run. Target: ours / floor <= 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
clusters="${CLUSTERS:-10000}"
cargo build --release -q -p syncset-render --bin syncset-render --example json-floor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$clusters"); do printf 'uhc-%05d/cluster-%05d\n' "$i" "$i"; done > "$work/clusters"
addon=tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml

best_ours=""
for _ in 1 2 3; do
  start=$(date +%s.%N)
  target/release/syncset-render "$addon" --cluster-deployments-from "$work/clusters" -o json > "$work/ours.json"
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc -l)
  if [[ -z "$best_ours" ]] || (( $(echo "$t < $best_ours" | bc -l) )); then best_ours=$t; fi
done
best_floor=""
for _ in 1 2 3; do
  t=$(target/release/examples/json-floor "$work/ours.json" "$work/floor.json")
  if [[ -z "$best_floor" ]] || (( $(echo "$t < $best_floor" | bc -l) )); then best_floor=$t; fi
done
cmp -s "$work/ours.json" "$work/floor.json" || { echo "render.sh: the floor wrote different bytes" >&2; exit 1; }
objects=$(grep -c '"kind": "SyncSet"' "$work/ours.json")
size=$(du -h "$work/ours.json" | cut -f1)
printf 'syncset-render, %s clusters (%s SyncSets, %s of JSON), best of 3\n' "$clusters" "$objects" "$size"
printf '  ours (whole process: load addon.yaml, render, write): %.3f s\n' "$best_ours"
printf '  floor (serde_json writing the same objects):          %.3f s\n' "$best_floor"
printf '  ratio ours/floor: %.2f (target <= 2)\n' "$(echo "$best_ours / $best_floor" | bc -l)"
