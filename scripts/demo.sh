#!/usr/bin/env bash
# The whole flow in one command, on the examples/ tree, with nothing from
# outside this machine:
#   deploy:  addon-validate -> catalog-build (pushed to a local docker-registry
#            when installed, else an OCI layout) -> SelectorSyncSet into Hive
#            -> the add-on and its version into OCM;
#   install: ocm-post --install on two clusters (one healthy, one told to
#            fail), watched by csv-wait from telemetry and from OCM, then
#            ocm-post --uninstall.
# Hive, OCM and the two clusters are our loopback stand-ins (fake-hive,
# fake-ocm acting as OCM, fake-cluster playing Hive's syncer and OLM);
# telemetry is Debian's prometheus + prometheus-pushgateway (.ci/run installs
# them). Exits 0 only when the healthy cluster reached `ready` and the
# failing one was reported `failed`.
#
# It uses only its own credentials and endpoints, whatever the environment
# holds: the OCM_*, PROMETHEUS_*, QUAY_*, KUBECONFIG, REGISTRY_AUTH_FILE and
# proxy variables are dropped once the build is done, and the tools' settings
# folders (XDG_CONFIG_HOME for the ocm CLI's ocm.json, XDG_CACHE_HOME) are
# its own.
#
# DEMO_BIN_DIR=DIR uses the binaries already built there instead of building them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${DEMO_BIN_DIR:-}" ]]; then
  bin=$DEMO_BIN_DIR
else
  # Only what the demo runs: the tools and the loopback stand-ins. Cargo shows
  # its progress; the first build takes minutes.
  packages=(-p addon-flow-testservers)
  for tool in tools/*/Cargo.toml; do packages+=(-p "$(basename "$(dirname "$tool")")"); done
  echo "demo: building the tools and the stand-ins (cargo build --bins ${packages[*]}); the first build takes minutes" >&2
  cargo build --bins "${packages[@]}"
  target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  bin=$target/debug
fi
out=$(mktemp -d)
# The demo's own endpoints and credentials only (see above).
while IFS= read -r name; do
  case $name in
    OCM_* | PROMETHEUS_* | QUAY_* | KUBECONFIG | REGISTRY_AUTH_FILE | DOCKER_CONFIG | \
      http_proxy | https_proxy | all_proxy | HTTP_PROXY | HTTPS_PROXY | ALL_PROXY) unset "$name" ;;
  esac
done < <(compgen -e)
mkdir -p "$out/config" "$out/cache"
export XDG_CONFIG_HOME=$out/config XDG_CACHE_HOME=$out/cache
# No registry credentials (the local registry needs none), given to
# catalog-build alone: docker-registry reads REGISTRY_* as its settings.
printf '{"auths": {}}\n' >"$out/auth.json"
catalog_build() { REGISTRY_AUTH_FILE=$out/auth.json "$bin/catalog-build" "$@"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# serve NAME PATH CMD...: starts server NAME, CMD with every @PORT@ in it
# replaced by a free port, in the background, and waits (30 s) until
# http://127.0.0.1:PORT/PATH answers; sets $port. A free port can be taken
# between free_port and the server's bind (the tests run several demos and
# servers at once): a server that exits before it answers is started again
# on another port, up to three times, then its log is shown.
serve() {
  local name=$1 path=$2 attempt pid
  shift 2
  for attempt in 1 2 3; do
    port=$(free_port)
    "${@//@PORT@/$port}" >"$out/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 300); do
      # An answer counts only while ours is running: a server that lost the
      # port exits at once, and what answers there is someone else's.
      if curl -sf --max-time 2 "http://127.0.0.1:$port/$path" >/dev/null 2>&1; then
        kill -0 "$pid" 2>/dev/null && return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  done
  echo "demo: $name did not start (attempt $attempt on 127.0.0.1:$port); its log ends:" >&2
  tail -5 "$out/$name.log" >&2
  return 1
}
# The add-on document names the local registry, which managed-tenants would
# not accept: that warning is expected here, so it is not shown each time.
quiet() { "$@" 2> >(grep -v 'warning SC0003: .*indexImage' >&2); }
first_line() { # FILE: wait until it has a line, print it
  for _ in $(seq 100); do [[ -s "$1" ]] && break; sleep 0.1; done
  head -1 "$1"
}

for tool in prometheus prometheus-pushgateway; do
  if ! command -v "$tool" >/dev/null; then
    echo "demo: $tool is not installed (apt-get install prometheus prometheus-pushgateway, as .ci/run does)" >&2
    exit 1
  fi
done

addon=examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml
bundles=examples/managed-tenants-bundles/addons/reference-addon
healthy=049ea229-6d2e-4c7b-9b1f-3f1a1c4c2a10
failing=7c1d2e3f-0000-4000-8000-00000000f001

say "deploy 1/4: addon-validate --all, the whole example tree"
"$bin/addon-validate" --all examples/managed-tenants --bundles examples/managed-tenants-bundles -o json >"$out/report.json"
echo "valid"

say "deploy 2/4: addon-validate | catalog-build, the add-on's bundles built into a catalog"
layout_flag=()
if command -v docker-registry >/dev/null; then
  # Its address comes from REGISTRY_HTTP_ADDR, which overrides the config's.
  printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:0"}\n' "$out/registry" >"$out/registry.yml"
  serve registry v2/ env REGISTRY_HTTP_ADDR=127.0.0.1:@PORT@ docker-registry serve "$out/registry.yml"
  reg=$port
  "$bin/addon-validate" "$addon" --bundles "$bundles" \
    | catalog_build --bundles "$bundles" --repo "127.0.0.1:$reg/osd-addons/reference-addon" --base-image scratch \
    >"$out/addon.json" 2>"$out/catalog.log"
  echo "pushed to the local docker-registry on 127.0.0.1:$reg"
else
  "$bin/addon-validate" "$addon" --bundles "$bundles" \
    | catalog_build --bundles "$bundles" --repo quay.io/osd-addons/reference-addon --oci-layout "$out/catalog" \
    >"$out/addon.json" 2>"$out/catalog.log"
  layout_flag=(--oci-layout "$out/catalog")
  echo "written as an OCI layout (docker-registry is not installed)"
fi
grep -m1 '"indexImage"' "$out/addon.json"

say "deploy 3/4: fake-hive, and syncset-render --selector | hive-apply (the legacy SelectorSyncSet)"
"$bin/fake-hive" --kubeconfig-out "$out/kubeconfig" --sync-delay-ms 200 >"$out/hive.txt" 2>/dev/null &
pids+=($!)
first_line "$out/hive.txt" >/dev/null
for _ in $(seq 50); do grep -q '^token=' "$out/hive.txt" && break; sleep 0.1; done
hive_url=$(sed -n 's/^url=//p' "$out/hive.txt")
hive_token=$(sed -n 's/^token=//p' "$out/hive.txt")
echo "Hive API at $hive_url"
# The two clusters, as Hive knows them (a namespace each, as OCM gives them).
for n in 1 2; do
  printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: cluster-%s-ns}\n' "$n"
  printf -- '---\napiVersion: hive.openshift.io/v1\nkind: ClusterDeployment\nmetadata: {name: cluster-%s, namespace: cluster-%s-ns}\nspec: {clusterName: cluster-%s, baseDomain: example.com}\n' "$n" "$n" "$n"
done | "$bin/hive-apply" --kubeconfig "$out/kubeconfig" --summary
quiet "$bin/syncset-render" --selector "$out/addon.json" | "$bin/hive-apply" --kubeconfig "$out/kubeconfig" --summary

say "telemetry: prometheus scraping a pushgateway"
serve pushgateway -/ready prometheus-pushgateway --web.listen-address="127.0.0.1:@PORT@" --persistence.file="$out/pg.data"
pg=$port
cat >"$out/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$pg"]}]
EOF
serve prometheus -/ready prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
  --web.listen-address="127.0.0.1:@PORT@"
prom=$port
echo "Prometheus at http://127.0.0.1:$prom"

say "deploy 4/4: fake-ocm (acting as OCM for both clusters) and ocm-post, the add-on and its version"
"$bin/fake-ocm" --cluster "$healthy=cluster-1-ns/cluster-1" --cluster "$failing=cluster-2-ns/cluster-2" \
  --document "$out/addon.json" --hive-url "$hive_url" --hive-token "$hive_token" \
  --prometheus "http://127.0.0.1:$prom" --interval-ms 500 >"$out/ocm.txt" 2>"$out/ocm.log" &
pids+=($!)
ocm_url=$(first_line "$out/ocm.txt")
export OCM_REFRESH_TOKEN=fake-ocm-refresh-token
ocm=(--url "$ocm_url" --token-url "$ocm_url/token")
quiet "$bin/ocm-post" "${ocm[@]}" "$out/addon.json" -o json >"$out/ocm.json"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print("OCM has add-on", a["id"], "version", a["version"]["id"])' "$out/ocm.json"

say "the clusters: fake-cluster plays Hive's syncer and OLM on each (the second is told to fail)"
"$bin/fake-cluster" --cluster-id "$healthy" --cluster-deployment cluster-1-ns/cluster-1 \
  --hive-url "$hive_url" --hive-token "$hive_token" --pushgateway "http://127.0.0.1:$pg" \
  "${layout_flag[@]}" --install-delay-ms 5000 --interval-ms 500 2>"$out/cluster-1.log" &
pids+=($!)
"$bin/fake-cluster" --cluster-id "$failing" --cluster-deployment cluster-2-ns/cluster-2 \
  --hive-url "$hive_url" --hive-token "$hive_token" --pushgateway "http://127.0.0.1:$pg" \
  "${layout_flag[@]}" --install-delay-ms 5000 --interval-ms 500 \
  --fail "InstallCheckFailed: install timeout" 2>"$out/cluster-2.log" &
pids+=($!)
echo "cluster-1 = $healthy (healthy), cluster-2 = $failing (told to fail)"

say "install 1/5: ocm-post --inquire, may the clusters install it?"
quiet "$bin/ocm-post" "${ocm[@]}" --inquire "$healthy" --inquire "$failing" -o json "$out/addon.json"

say "install 2/5: ocm-post --install on both clusters (a bad parameter first: refused, nothing sent)"
if "$bin/ocm-post" "${ocm[@]}" --install "$healthy" --param size=12 "$out/addon.json" 2>"$out/refused.txt"; then
  echo "demo: size=12 was not refused" >&2; exit 1
fi
grep -v 'warning SC0003' "$out/refused.txt"
# Watched from OCM from the start, in the background: its lines are shown after the telemetry watch.
"$bin/csv-wait" --source ocm "${ocm[@]}" --cluster-id "$healthy" --cluster-id "$failing" \
  --interval 500ms --timeout 90s "$out/addon.json" >"$out/ocm-watch.txt" 2>"$out/ocm-watch.log" &
ocm_watch=$!
quiet "$bin/ocm-post" "${ocm[@]}" --install "$healthy" --install "$failing" --param size=2 -o json "$out/addon.json" \
  | python3 -c 'import json,sys
for line in sys.stdin:
    r=json.loads(line); i=r["installation"]
    print(r["cluster"], r["result"], "state:", i["state"], "parameters:", i["parameters"]["items"])'

say "install 3/5: csv-wait from telemetry (the clusters' csv_succeeded / csv_abnormal)"
status=0
quiet "$bin/csv-wait" --url "http://127.0.0.1:$prom" --cluster-id "$healthy" --cluster-id "$failing" \
  --interval 1s --timeout 90s "$out/addon.json" || status=$?
echo "csv-wait --source telemetry exited $status (5: the add-on failed on a cluster, as expected)"
telemetry_status=$status

say "install 4/5: csv-wait --source ocm (the installations' state, as OCM moved it since the install)"
status=0
wait "$ocm_watch" || status=$?
cat "$out/ocm-watch.txt"
grep -v 'warning SC0003' "$out/ocm-watch.log" || true
echo "csv-wait --source ocm exited $status (5: the add-on failed on a cluster, as expected)"
ocm_status=$status
"$bin/ocm-post" "${ocm[@]}" --installation "$healthy" --installation "$failing" -o json --id reference-addon \
  | python3 -c 'import json,sys
for line in sys.stdin:
    r=json.loads(line); i=r["installation"]
    print(r["cluster"], i["state"], "-", i.get("state_description", ""), "operator", i.get("operator_version"))' \
  | tee "$out/states.txt"

say "install 5/5: ocm-post --uninstall; the installations go deleting, then away"
"$bin/ocm-post" "${ocm[@]}" --uninstall "$healthy" --uninstall "$failing" --id reference-addon -o json >/dev/null
gone=0
for _ in $(seq 60); do
  states=$("$bin/ocm-post" "${ocm[@]}" --installation "$healthy" --installation "$failing" --id reference-addon -o json 2>/dev/null \
    | python3 -c 'import json,sys; print(" ".join(json.loads(l)["installation"]["state"] for l in sys.stdin))' || true)
  if [[ -z "$states" ]]; then gone=1; echo "both installations are gone"; break; fi
  echo "states: $states"
  sleep 0.5
done

say "result"
ok=1
if grep -q "^$healthy ready" "$out/states.txt"; then echo "cluster-1 reached ready"; else echo "cluster-1 did not reach ready"; ok=0; fi
if grep -q "^$failing failed" "$out/states.txt"; then echo "cluster-2 was reported failed"; else echo "cluster-2 was not reported failed"; ok=0; fi
if [[ $telemetry_status == 5 && $ocm_status == 5 ]]; then
  echo "csv-wait exited 5 from both sources, as expected"
else
  echo "csv-wait exited $telemetry_status (telemetry) and $ocm_status (ocm), expected 5"; ok=0
fi
[[ $gone == 1 ]] || { echo "the installations were not removed"; ok=0; }
if [[ $ok == 1 ]]; then
  say "demo finished: validated, built, deployed, installed on two clusters (one ready, one failed as told), uninstalled"
else
  echo "demo FAILED (logs were in $out)" >&2
  trap - EXIT; cleanup_keep() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }; cleanup_keep
  for f in "$out"/*.log; do echo "--- $f"; tail -5 "$f"; done >&2
  exit 1
fi
