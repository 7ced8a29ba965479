#!/usr/bin/env bash
# The main job on the embedded default: the examples/ managed-tenants tree
# through every stage of the flow, with nothing from outside this machine.
#   - the catalog is written as an OCI image layout (not pushed),
#   - Hive and OCM are our loopback API servers (fake-hive, fake-ocm),
#   - telemetry is a real Prometheus fed by a pushgateway, when Debian's
#     prometheus and prometheus-pushgateway are installed (.ci/run installs them);
#     otherwise csv-wait only prints the query it would send.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace --bins
bin=$PWD/target/release
out=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

addon=examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml
bundles=examples/managed-tenants-bundles/addons/reference-addon

say "addon-validate --all: the whole example tree"
"$bin/addon-validate" --all examples/managed-tenants --bundles examples/managed-tenants-bundles -o json >"$out/report.json"

say "addon-validate | catalog-build: the add-on document, its bundles built into a catalog"
"$bin/addon-validate" "$addon" --bundles "$bundles" \
  | "$bin/catalog-build" --bundles "$bundles" --repo quay.io/osd-addons/reference-addon --oci-layout "$out/catalog" \
  >"$out/addon.json"
grep -m1 '"indexImage"' "$out/addon.json"
if command -v skopeo >/dev/null; then
  skopeo inspect "oci:$out/catalog:latest" | grep -A2 '"Labels"'
fi

say "fake-hive: a Kubernetes API server on loopback"
"$bin/fake-hive" --kubeconfig-out "$out/kubeconfig" --sync-delay-ms 200 >"$out/hive.txt" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do [[ -s "$out/kubeconfig" ]] && break; sleep 0.1; done
head -1 "$out/hive.txt"
# Two clusters, as Hive knows them.
for n in 1 2; do
  printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: cluster-ns}\n'
  printf -- '---\napiVersion: hive.openshift.io/v1\nkind: ClusterDeployment\nmetadata: {name: cluster-%s, namespace: cluster-ns}\nspec: {clusterName: cluster-%s, baseDomain: example.com}\n' "$n" "$n"
done | "$bin/hive-apply" --kubeconfig "$out/kubeconfig" --summary

say "syncset-render --selector | hive-apply --label-cluster (the legacy, label-matched install)"
"$bin/syncset-render" --selector "$out/addon.json" \
  | "$bin/hive-apply" --kubeconfig "$out/kubeconfig" --label-cluster cluster-ns/cluster-1 --summary

say "syncset-render --cluster-deployment | hive-apply --wait (one cluster, a SyncSet)"
"$bin/syncset-render" --cluster-deployment cluster-ns/cluster-2 "$out/addon.json" \
  | "$bin/hive-apply" --kubeconfig "$out/kubeconfig" --wait --timeout 30s --summary

say "fake-ocm + ocm-post: the add-on and its image set version in OCM"
"$bin/fake-ocm" >"$out/ocm.txt" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do [[ -s "$out/ocm.txt" ]] && break; sleep 0.1; done
ocm_url=$(head -1 "$out/ocm.txt")
OCM_REFRESH_TOKEN=fake-ocm-refresh-token "$bin/ocm-post" --url "$ocm_url" --token-url "$ocm_url/token" "$out/addon.json" >"$out/ocm.json"
grep -m2 -E '"(id|enabled)"' "$out/ocm.json"

say "csv-wait: the operator's CSV on the cluster, from telemetry"
cluster=049ea229-6d2e-4c7b-9b1f-3f1a1c4c2a10
if command -v prometheus >/dev/null && command -v prometheus-pushgateway >/dev/null; then
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  pg=$(free_port); prom=$(free_port)
  prometheus-pushgateway --web.listen-address="127.0.0.1:$pg" --persistence.file="$out/pg.data" >/dev/null 2>&1 &
  pids+=($!)
  cat >"$out/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$pg"]}]
EOF
  prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
    --web.listen-address="127.0.0.1:$prom" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$pg/-/ready" >/dev/null && break; sleep 0.1; done
  # The cluster's telemetry: the CSV has succeeded.
  printf 'csv_succeeded{_id="%s",name="reference-addon.v0.3.0",namespace="redhat-reference-addon",version="0.3.0"} 1\n' "$cluster" \
    | curl -sf --data-binary @- "http://127.0.0.1:$pg/metrics/job/telemetry"
  "$bin/csv-wait" --url "http://127.0.0.1:$prom" --cluster-id "$cluster" --interval 1s --timeout 60s "$out/addon.json"
else
  echo "(prometheus not installed: showing the query csv-wait would send)"
  "$bin/csv-wait" --cluster-id "$cluster" --show-query "$out/addon.json"
fi

say "demo finished: validated, built, rendered, applied, published and watched"
