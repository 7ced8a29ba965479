#!/usr/bin/env bash
# catalog-build benchmark: 60 bundle versions of a realistic operator (the
# oadp-operator bundle shape: ~100 KB CSV, 13 CRDs; our own fixture when
# ../shared/reference is absent) pushed into a local docker-registry.
#
# Prints our time and peak memory, the floor (skopeo copy pushing the same
# images from an OCI layout, one `skopeo copy` per image, one at a time and
# six at a time, each into its own empty registry so no run can reuse
# another's blobs), the ratio to skopeo six at a time (target, issue 24:
# <= 0.85; the local registry's own CPU puts the floor near 0.8 on 2 cores),
# the no-change re-run time (target < 10% of the first run; the build cache
# answers after the registry confirms every manifest), and the re-run with
# --no-cache (everything rebuilt, every blob found present). One run of each:
# the machine's load is printed with them.
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
bench_require_gnu_time
VERSIONS="${VERSIONS:-60}"

for tool in docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "bench catalog: $tool is not installed" >&2; exit 2; }
done
bench_build
BIN="$(bench_target_dir)/release/catalog-build"

WORK="$(mktemp -d)"
# A fresh build cache: the first run must build everything.
export XDG_CACHE_HOME="$WORK/cache"
# shellcheck disable=SC2329 # run by the EXIT trap
cleanup() {
  bench_stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- generate the bundles -------------------------------------------------
TEMPLATE=../shared/reference/bundles/oadp-operator/0.5.6
PKG=oadp-operator OLD=0.5.6
if [[ ! -d "$TEMPLATE" ]]; then
  TEMPLATE=tests/fixtures/catalog/good/main/1.0.0 PKG=demo-operator OLD=1.0.0
fi
BUNDLES="$WORK/bundles"
# ~70 KB of incompressible-ish text, so the CSV is ~100 KB as in large operators.
PADDING="$(head -c 52000 /dev/urandom | base64 -w0)"
for i in $(seq 0 $((VERSIONS - 1))); do
  v="1.$i.0"
  dir="$BUNDLES/main/$v"
  mkdir -p "$dir"
  cp -r "$TEMPLATE/manifests" "$TEMPLATE/metadata" "$dir/"
  chmod -R u+w "$dir"
  csv="$(ls "$dir"/manifests/*clusterserviceversion.yaml)"
  replaces="  replaces: $PKG.v1.$((i - 1)).0"
  [[ $i -eq 0 ]] && replaces=""
  awk -v old="$OLD" -v v="$v" -v pkg="$PKG" -v rep="$replaces" -v pad="$PADDING" '
    /^  annotations:$/ && !done { print; print "    bench.addon-flow.io/padding: \"" pad "\""; done=1; next }
    $0 == "  name: " pkg ".v" old { print "  name: " pkg ".v" v; next }
    $0 == "  version: " old { print "  version: " v; next }
    /^  replaces: / { if (rep != "") print rep; next }
    /^  skips:$/ { skipping=1; next }
    skipping && /^  - / { next }
    { skipping=0; gsub("<" old, "<" v); print }
  ' "$csv" >"$csv.new"
  mv "$csv.new" "$csv"
  if [[ $i -gt 0 ]] && ! grep -q '^  replaces: ' "$csv"; then
    sed -i "s/^  version: $v\$/  version: $v\n$replaces/" "$csv"
  fi
  sed -i "s/channels.v1: .*/channels.v1: stable/; s/channel.default.v1: .*/channel.default.v1: stable/" "$dir/metadata/annotations.yaml"
done
csv_kb=$(( $(stat -c %s "$(ls "$BUNDLES"/main/1.0.0/manifests/*clusterserviceversion.yaml)") / 1024 ))
crds=$(grep -l '^kind: CustomResourceDefinition' "$BUNDLES"/main/1.0.0/manifests/* | wc -l)
echo "bench catalog: $VERSIONS bundles of $PKG (CSV ${csv_kb} KB, $crds CRDs)"
echo "start: $(bench_load)"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# --- ours -----------------------------------------------------------------
bench_start_registry "$WORK/ours" false; OURS="$REGISTRY"
t0=$(now)
bench_run "$WORK/ours.stats" "$BIN" --bundles "$BUNDLES" --repo "$OURS/bench/$PKG" --base-image scratch </dev/null >"$WORK/ours.json" 2>"$WORK/ours.err"
t1=$(now)
"$BIN" --bundles "$BUNDLES" --repo "$OURS/bench/$PKG" --base-image scratch </dev/null >"$WORK/rerun.json" 2>"$WORK/rerun.err"
t2=$(now)
"$BIN" --bundles "$BUNDLES" --repo "$OURS/bench/$PKG" --base-image scratch --no-cache </dev/null >"$WORK/nocache.json" 2>"$WORK/nocache.err"
t2b=$(now)
for run in rerun nocache; do
  cmp -s "$WORK/ours.json" "$WORK/$run.json" || { echo "bench catalog: the $run gave a different result" >&2; exit 1; }
done
tail -1 "$WORK/ours.err"
tail -1 "$WORK/rerun.err"
tail -1 "$WORK/nocache.err"

# --- floor: skopeo pushing the same images from an OCI layout --------------
bench_start_registry "$WORK/floor" false; FLOOR="$REGISTRY"
"$BIN" --bundles "$BUNDLES" --repo "$FLOOR/bench/$PKG" --base-image scratch --oci-layout "$WORK/layout" </dev/null >/dev/null 2>&1
mapfile -t refs < <(sed -n 's/.*"org.opencontainers.image.ref.name": "\(.*\)".*/\1/p' "$WORK/layout/index.json")
push_floor() { # registry, parallelism
  local registry="$1" jobs="$2"
  for ref in "${refs[@]}"; do
    if [[ "$ref" == latest ]]; then dest="$registry/bench/$PKG:latest"; else dest="$registry/bench/$PKG-bundle:$ref"; fi
    printf '%s %s\n' "oci:$WORK/layout:$ref" "docker://$dest"
  done | xargs -P "$jobs" -n 2 skopeo copy -q --dest-tls-verify=false >/dev/null
}
t3=$(now)
push_floor "$FLOOR" 1
t4=$(now)
bench_start_registry "$WORK/floor6" false; FLOOR6="$REGISTRY"
t5=$(now)
push_floor "$FLOOR6" 6
t6=$(now)

ours=$(elapsed "$t0" "$t1"); rerun=$(elapsed "$t1" "$t2"); nocache=$(elapsed "$t2" "$t2b"); floor1=$(elapsed "$t3" "$t4"); floor6=$(elapsed "$t5" "$t6")
echo "catalog-build (build + push ${#refs[@]} images): ${ours}s, peak RSS $(bench_peak_mb "$WORK/ours.stats") MB"
echo "floor: skopeo copy of the same ${#refs[@]} images from an OCI layout: ${floor6}s six at a time (xargs -P 6), ${floor1}s one at a time"
awk -v o="$ours" -v f="$floor6" 'BEGIN { r = o / f; printf "ratio ours / skopeo six at a time: %.2f (target <= 0.85: %s)\n", r, (r <= 0.85 ? "met" : "NOT MET") }'
awk -v r="$rerun" -v o="$ours" 'BEGIN { p = 100 * r / o; printf "no-change re-run: %ss = %.1f%% of the first run (target < 10%%: %s)\n", r, p, (p < 10 ? "met" : "NOT MET") }'
awk -v r="$nocache" -v o="$ours" 'BEGIN { printf "no-change re-run with --no-cache: %ss = %.1f%% of the first run\n", r, 100 * r / o }'
echo "end: $(bench_load)"
