#!/usr/bin/env bash
# Fleet benchmark: a generated managed-tenants tree of ADDONS add-ons (stage;
# default 500, three bundle versions each) deployed through the streamed
# pipeline of SPEC.md ("Fleet") against a local docker-registry, the
# Kubernetes test server (fake-hive) and the OCM test server (fake-ocm):
#
#   addon-validate --all TREE --env stage --documents
#     | catalog-build --bundles-root BUNDLES --repo-prefix REGISTRY/osd-addons
#     | tee docs.jsonl | syncset-render --selector | hive-apply --prune=all
#   ocm-post --url OCM < docs.jsonl
#
# Three runs: the first (everything new), one with nothing changed, one with
# one add-on's bundle changed. For each: the time and the state-changing
# requests each server saw (POST/PUT/PATCH/DELETE, blob uploads included),
# counted in docker-registry's access log and in the fake servers' access
# logs (FAKE_SERVER_ACCESS_LOG=1). Targets: nothing changed -> 0 writes and
# <= 5% of the first run's time; one add-on changed -> only its objects: the
# last run's writes are listed per repository and object, with the add-ons
# they name, and the script exits 1 when a write target is not met (the time
# target is printed, not enforced: the machine may be shared). Each run also
# prints every tool's peak memory (RSS, GNU time) and the machine's load.
#
# PROFILE=dev uses debug binaries (faster to build, slower to run).
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
bench_require_gnu_time
ADDONS="${ADDONS:-500}"
PROFILE="${PROFILE:-release}"

for tool in docker-registry curl python3; do
  command -v "$tool" >/dev/null || { echo "bench fleet: $tool is not installed" >&2; exit 2; }
done
bench_build "$PROFILE"
TARGET_DIR="$(bench_target_dir)"
BIN="$TARGET_DIR/$([[ "$PROFILE" == dev ]] && echo debug || echo "$PROFILE")"

WORK="$(mktemp -d)"
export XDG_CACHE_HOME="$WORK/cache"   # a fresh build cache: the first run builds everything
# shellcheck disable=SC2329 # run by the EXIT trap
cleanup() {
  bench_stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_line() { # file
  for _ in $(seq 100); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  echo "bench fleet: $1 stayed empty" >&2; exit 3
}

# --- the servers ---------------------------------------------------------------
bench_start_registry "$WORK/registry" true

FAKE_SERVER_ACCESS_LOG=1 "$BIN/fake-hive" --kubeconfig-out "$WORK/kubeconfig" >"$WORK/hive.out" 2>"$WORK/hive.log" &
BENCH_PIDS+=("$!")
FAKE_SERVER_ACCESS_LOG=1 "$BIN/fake-ocm" >"$WORK/ocm.url" 2>"$WORK/ocm.log" &
BENCH_PIDS+=("$!")
wait_for_line "$WORK/ocm.url"
wait_for_line "$WORK/kubeconfig"
OCM_URL="$(head -1 "$WORK/ocm.url")"
export KUBECONFIG="$WORK/kubeconfig" OCM_TOKEN=fake-ocm-static-access-token

# --- the tree --------------------------------------------------------------------
python3 scripts/bench/gen_tree.py "$ADDONS" "$WORK/gen" >/dev/null
TREE="$WORK/gen/managed-tenants"
BUNDLES="$WORK/gen/managed-tenants-bundles/addons"

# --- one deploy ------------------------------------------------------------------
writes() { # log file, first line: state-changing requests from that line on
  tail -n +"$2" "$1" | grep -cE '^access: (POST|PUT|PATCH|DELETE) |"(POST|PUT|PATCH|DELETE) /v2/' || true
}
deploy() { # label
  local label="$1" r h o start end
  r=$(($(wc -l <"$WORK/registry/log") + 1))
  h=$(($(wc -l <"$WORK/hive.log") + 1))
  o=$(($(wc -l <"$WORK/ocm.log") + 1))
  start="$(date +%s.%N)"
  # The documents name a loopback registry, not quay.io/osd-addons: each tool
  # warns about it once per document (kept in the .err files).
  if ! { bench_run "$WORK/validate.stats" "$BIN/addon-validate" --all "$TREE" --env stage --documents 2>"$WORK/validate.err" \
    | bench_run "$WORK/catalog.stats" "$BIN/catalog-build" --bundles-root "$BUNDLES" --repo-prefix "$REGISTRY/osd-addons" \
        --base-image scratch 2>"$WORK/catalog.err" \
    | tee "$WORK/docs.jsonl" \
    | bench_run "$WORK/render.stats" "$BIN/syncset-render" --selector 2>"$WORK/render.err" \
    | bench_run "$WORK/apply.stats" "$BIN/hive-apply" --prune=all --summary >"$WORK/applied.txt" 2>"$WORK/apply.err" \
    && bench_run "$WORK/ocm-post.stats" "$BIN/ocm-post" --url "$OCM_URL" <"$WORK/docs.jsonl" >"$WORK/posted.jsonl" 2>"$WORK/ocm-post.err"; }; then
    echo "bench fleet: the $label deploy failed:" >&2
    for err in validate catalog render apply ocm-post; do
      grep -v 'warning SC0003' "$WORK/$err.err" | tail -5 | sed "s/^/  $err: /" >&2
    done
    exit 1
  fi
  end="$(date +%s.%N)"
  SECONDS_TAKEN="$(python3 -c "print(round($end - $start, 2))")"
  local rw hw ow
  rw="$(writes "$WORK/registry/log" "$r")"
  hw="$(writes "$WORK/hive.log" "$h")"
  ow="$(writes "$WORK/ocm.log" "$o")"
  # Every state-changing request of this run, reduced to what it wrote:
  # the registry repository (osd-addons/<id>), the hive object, the OCM path.
  TOUCHED="$(
    { tail -n +"$r" "$WORK/registry/log" | grep -oE '"(POST|PUT|PATCH|DELETE) /v2/[^ ]+/(blobs|manifests)/' \
        | sed -E 's#^"([A-Z]+) /v2/(.*)/(blobs|manifests)/$#registry \1 \2/\3#' || true
      tail -n +"$h" "$WORK/hive.log" | grep -E '^access: (POST|PUT|PATCH|DELETE) ' \
        | awk '{sub(/\?.*/, "", $3); print "hive " $2 " " $3}' || true
      tail -n +"$o" "$WORK/ocm.log" | grep -E '^access: (POST|PUT|PATCH|DELETE) ' \
        | awk '{sub(/\?.*/, "", $3); print "ocm " $2 " " $3}' || true
    } | sort | uniq -c | sed 's/^ *//')"
  TOUCHED_ADDONS="$(echo "$TOUCHED" | grep -oE 'bench-addon-[a-z]+' | sort -u || true)"
  printf '%-22s %8ss   writes: registry %5s  hive %5s  ocm %5s   add-ons written %4s   (%s documents)\n' \
    "$label" "$SECONDS_TAKEN" "$rw" "$hw" "$ow" "$(echo "$TOUCHED_ADDONS" | sed '/^$/d' | wc -l)" \
    "$(wc -l <"$WORK/docs.jsonl")"
  printf '%-22s peak RSS MB: addon-validate %s, catalog-build %s, syncset-render %s, hive-apply %s, ocm-post %s   (%s)\n' "" \
    "$(bench_peak_mb "$WORK/validate.stats")" "$(bench_peak_mb "$WORK/catalog.stats")" "$(bench_peak_mb "$WORK/render.stats")" \
    "$(bench_peak_mb "$WORK/apply.stats")" "$(bench_peak_mb "$WORK/ocm-post.stats")" "$(bench_load)"
}

echo "fleet: $ADDONS add-ons (stage), registry $REGISTRY, $PROFILE binaries"
deploy "first run"
first="$SECONDS_TAKEN"
deploy "nothing changed"
unchanged="$SECONDS_TAKEN"
MISSED=0
if [[ -n "$(echo "$TOUCHED" | sed '/^$/d')" ]]; then
  echo "  NOT MET: the run with nothing changed wrote:"; echo "$TOUCHED" | head -20 | sed 's/^/    /'
  MISSED=1
fi
# One add-on's newest bundle changes (its CSV description): a new catalog, a
# new indexImage, so its SelectorSyncSet and its OCM version change.
ids=("$BUNDLES"/*)   # a glob, not `ls | head`: pipefail would see ls's SIGPIPE
changed_id="$(basename "${ids[0]}")"
csvs=("$BUNDLES/$changed_id"/main/0.3.0/manifests/*clusterserviceversion.yaml)
csv="${csvs[0]}"
before="$(sha256sum <"$csv")"
sed -i 's/Paragraph 0:/Paragraph zero:/' "$csv"
if [[ "$(sha256sum <"$csv")" == "$before" ]]; then
  echo "bench fleet: could not change $csv (no 'Paragraph 0:' in it)" >&2
  exit 1
fi
echo "changed: $changed_id (its newest bundle's CSV description)"
deploy "one add-on changed"
echo "writes of the last run, per repository / object (count, server, method, path or repository):"
echo "$TOUCHED" | sed '/^$/d; s/^/  /'
echo "add-ons written in the last run: $(echo "$TOUCHED_ADDONS" | tr '\n' ' ')"
if [[ "$(echo "$TOUCHED_ADDONS" | sed '/^$/d')" == "$changed_id" ]] \
  && ! echo "$TOUCHED" | sed '/^$/d' | grep -vq "$changed_id"; then
  echo "only $changed_id's objects touched: met"
else
  echo "only $changed_id's objects touched: NOT MET (a write above names no or another add-on)"
  MISSED=1
fi
awk -v u="$unchanged" -v f="$first" 'BEGIN { p = 100 * u / f; printf "nothing changed / first run: %.1f%% (target <= 5%%: %s)\n", p, (p <= 5 ? "met" : "NOT MET") }'
exit "$MISSED"
