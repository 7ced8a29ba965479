#!/usr/bin/env bash
# Render and apply SyncSets for 2,000 clusters (one ClusterDeployment
# namespace each) to the Kubernetes API test server (fake-hive), with
# hive-apply's default concurrency and with --concurrency 1, and the ratio
# (target >= 4x). The test server answers in microseconds, so it adds a fixed
# per-request latency (LATENCY_MS, default 5 ms) to model a real API server.
set -euo pipefail
cd "$(dirname "$0")/../.."
clusters="${CLUSTERS:-2000}"
latency="${LATENCY_MS:-5}"
cargo build --release -q -p syncset-render -p hive-apply -p addon-flow-testservers --bins
work="$(mktemp -d)"
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
  target/release/fake-hive --latency-ms "$latency" --kubeconfig-out "$work/kubeconfig" "${namespace_args[@]}" > "$work/server.out" &
  server_pid=$!
  for _ in $(seq 1 100); do [[ -s "$work/kubeconfig" ]] && grep -q url= "$work/server.out" && return; sleep 0.05; done
  echo "apply.sh: fake-hive did not start" >&2; exit 1
}

# One timed run against a fresh server: render, then apply everything.
run() {
  rm -f "$work/kubeconfig"
  start_server
  local start end
  start=$(date +%s.%N)
  target/release/syncset-render "$addon" --cluster-deployments-from "$work/clusters" -o json \
    | KUBECONFIG="$work/kubeconfig" target/release/hive-apply --summary "$@" > "$work/applied.txt"
  end=$(date +%s.%N)
  stop_server
  elapsed=$(echo "$end - $start" | bc -l)
  count=$(wc -l < "$work/applied.txt")
}

run
default_time=$elapsed default_count=$count
run --concurrency 1
serial_time=$elapsed serial_count=$count
printf 'render + apply, %s clusters (%s objects applied: one SyncSet per cluster namespace + integrations)\n' "$clusters" "$default_count"
printf '  test server latency: %s ms per request (fixed, models a real API server)\n' "$latency"
printf '  hive-apply default concurrency (16): %.3f s\n' "$default_time"
printf '  hive-apply --concurrency 1:          %.3f s (%s objects)\n' "$serial_time" "$serial_count"
printf '  ratio: %.1fx faster (target >= 4x)\n' "$(echo "$serial_time / $default_time" | bc -l)"
