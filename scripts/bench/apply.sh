#!/usr/bin/env bash
# Render and apply SyncSets for 2,000 clusters (one ClusterDeployment
# namespace each) to the Kubernetes API test server (fake-hive), with
# hive-apply's default concurrency (16) and with --concurrency 1, and the
# ratio (target, issue 24: >= 12x). The test server answers in microseconds,
# so it adds a fixed per-request latency (LATENCY_MS, default 5 ms) to model a
# real API server. Median of RUNS (default 3) runs of each, interleaved; with
# the peak memory (GNU time) of syncset-render and hive-apply, which reads
# the stream.
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
clusters="${CLUSTERS:-2000}"
latency="${LATENCY_MS:-5}"
runs="${RUNS:-3}"
bench_require_gnu_time
bench_prepare
server_pid=""
stop_server() { if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; fi; }
trap 'stop_server; rm -rf "$work"' EXIT
for i in $(seq 1 "$clusters"); do printf 'uhc-%05d/cluster-%05d\n' "$i" "$i"; done > "$work/clusters"
addon=tests/fixtures/sss/addons/full-addon/metadata/stage/addon.yaml

# The API server refuses objects in a namespace that does not exist: the
# clusters' namespaces, and the one of full-addon's extra resource, exist.
namespace_args=(--namespace redhat-full-addon)
while IFS=/ read -r namespace _; do namespace_args+=(--namespace "$namespace"); done < "$work/clusters"

start_server() {
  "$bin"/fake-hive --latency-ms "$latency" --kubeconfig-out "$work/kubeconfig" "${namespace_args[@]}" > "$work/server.out" &
  server_pid=$!
  for _ in $(seq 1 100); do [[ -s "$work/kubeconfig" ]] && grep -q url= "$work/server.out" && return; sleep 0.05; done
  echo "apply.sh: fake-hive did not start" >&2; exit 1
}

# One timed run against a fresh server: render, then apply everything.
# Sets elapsed, count, render_peak and apply_peak (MB).
run() {
  rm -f "$work/kubeconfig"
  start_server
  local start end
  start=$(date +%s.%N)
  bench_run "$work/render.stats" "$bin"/syncset-render "$addon" --cluster-deployments-from "$work/clusters" -o json \
    | KUBECONFIG="$work/kubeconfig" bench_run "$work/apply.stats" "$bin"/hive-apply --summary "$@" > "$work/applied.txt"
  end=$(date +%s.%N)
  stop_server
  elapsed=$(bench_calc "$end - $start")
  count=$(wc -l < "$work/applied.txt")
  render_peak=$(bench_peak_mb "$work/render.stats")
  apply_peak=$(bench_peak_mb "$work/apply.stats")
}

echo "start: $(bench_load)"
default_times=() serial_times=() default_peaks=() serial_peaks=() render_peaks=()
for _ in $(seq 1 "$runs"); do
  run
  default_times+=("$elapsed") default_peaks+=("$apply_peak") render_peaks+=("$render_peak") default_count=$count
  run --concurrency 1
  serial_times+=("$elapsed") serial_peaks+=("$apply_peak") serial_count=$count
done
default_time=$(bench_median "${default_times[@]}")
serial_time=$(bench_median "${serial_times[@]}")
ratio=$(bench_calc "$serial_time / $default_time")
printf 'render + apply, %s clusters (%s objects applied: one SyncSet per cluster namespace + integrations), median of %s\n' "$clusters" "$default_count" "$runs"
printf '  test server latency: %s ms per request (fixed, models a real API server)\n' "$latency"
printf '  hive-apply default concurrency (16): %.3f s   peak RSS %s MB\n' "$default_time" "$(bench_median "${default_peaks[@]}")"
printf '  hive-apply --concurrency 1:          %.3f s   peak RSS %s MB (%s objects)\n' "$serial_time" "$(bench_median "${serial_peaks[@]}")" "$serial_count"
printf '  syncset-render peak RSS:             %s MB\n' "$(bench_median "${render_peaks[@]}")"
printf '  ratio: %.1fx faster (target >= 12x: %s)\n' "$ratio" "$(awk -v r="$ratio" 'BEGIN { print (r >= 12 ? "met" : "NOT MET") }')"
echo "end: $(bench_load)"
