#!/usr/bin/env bash
# syncset-render's memory on a large add-on: the example add-on with
# NAMESPACES (default 300,000) entries in `namespaces` (about 4 MB of
# addon.yaml), rendered as the SelectorSyncSet with -o yaml and -o json.
# Prints our maximum resident set size (GNU time), the size of the output,
# and the ratio. Target: ours / output <= 3 (it was 754 MB, issue 14); the
# JSON is held whole before writing (nothing half-written on a serialisation
# failure), YAML is emitted from that compact JSON in chunks.
# SYNCSET_RENDER=path measures another build (a before/after comparison).
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
namespaces="${NAMESPACES:-300000}"
bench_require_gnu_time
binary="${SYNCSET_RENDER:-}"
if [[ -z "$binary" ]]; then
  bench_build
  binary="$(bench_target_dir)/release/syncset-render"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r examples/. "$work/"
addon="$work/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml"
python3 - "$addon" "$namespaces" <<'PY'
import sys
path, count = sys.argv[1], int(sys.argv[2])
text = open(path).read()
extra = "".join(f"  - ns-{i:06d}\n" for i in range(count))
marker = "namespaces:\n  - redhat-reference-addon\n"
assert marker in text, "the example add-on changed: update render-memory.sh"
open(path, "w").write(text.replace(marker, marker + extra, 1))
PY
input_bytes=$(stat -c %s "$addon")
printf 'syncset-render --selector, %s namespaces (%.1f MB of addon.yaml)\n' "$namespaces" "$(echo "$input_bytes / 1000000" | bc -l)"
for format in yaml json; do
  /usr/bin/time -v "$binary" "$addon" --selector -o "$format" > "$work/out.$format" 2> "$work/time.txt"
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  out_bytes=$(stat -c %s "$work/out.$format")
  printf '  -o %s: max RSS %.1f MB, output %.1f MB (%s lines), ratio %.2f (target <= 3)\n' "$format" \
    "$(echo "$rss_kb * 1024 / 1000000" | bc -l)" "$(echo "$out_bytes / 1000000" | bc -l)" \
    "$(wc -l < "$work/out.$format")" "$(echo "$rss_kb * 1024 / $out_bytes" | bc -l)"
done
