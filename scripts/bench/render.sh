#!/usr/bin/env bash
# syncset-render for 10,000 clusters (one SyncSet per ClusterDeployment
# namespace, the full-addon fixture: 2 namespaces, 2 catalogs, integrations,
# an extra resource), as JSON. Floor: serde_json alone writing the same
# objects (tools/syncset-render/examples/json-floor.rs), measured in the same
# run. Target (issue 24): ours / floor <= 1.2. Median of RUNS (default 3)
# runs, the sides interleaved; with each tool's peak memory (GNU time).
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
clusters="${CLUSTERS:-10000}"
runs="${RUNS:-3}"
bench_require_gnu_time
bench_prepare
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$clusters"); do printf 'uhc-%05d/cluster-%05d\n' "$i" "$i"; done > "$work/clusters"
addon=tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml
echo "start: $(bench_load)"

ours_runs=() floor_runs=() ours_peak=0 floor_peak=0
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }
for _ in $(seq 1 "$runs"); do
  bench_run "$work/ours.stats" "$bin"/syncset-render "$addon" --cluster-deployments-from "$work/clusters" -o json > "$work/ours.json"
  ours_runs+=("$(bench_wall "$work/ours.stats")")
  ours_peak=$(max "$ours_peak" "$(bench_peak_mb "$work/ours.stats")")
  floor_runs+=("$(bench_run "$work/floor.stats" "$bin"/examples/json-floor "$work/ours.json" "$work/floor.json")")
  floor_peak=$(max "$floor_peak" "$(bench_peak_mb "$work/floor.stats")")
done
cmp -s "$work/ours.json" "$work/floor.json" || { echo "render.sh: the floor wrote different bytes" >&2; exit 1; }
objects=$(grep -c '"kind": "SyncSet"' "$work/ours.json")
size=$(du -h "$work/ours.json" | cut -f1)
ours=$(bench_median "${ours_runs[@]}") floor=$(bench_median "${floor_runs[@]}")
ratio=$(bench_calc "$ours / $floor")
printf 'syncset-render, %s clusters (%s SyncSets, %s of JSON), median of %s\n' "$clusters" "$objects" "$size" "$runs"
printf '  ours (whole process: load addon.yaml, render, write): %.3f s   peak RSS %s MB\n' "$ours" "$ours_peak"
printf '  floor (serde_json writing the same objects):          %.3f s   peak RSS %s MB (holds them parsed)\n' "$floor" "$floor_peak"
printf '  ratio ours/floor: %.2f (target <= 1.2: %s)\n' "$ratio" "$(awk -v r="$ratio" 'BEGIN { print (r <= 1.2 ? "met" : "NOT MET") }')"
echo "end: $(bench_load)"
