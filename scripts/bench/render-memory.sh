#!/usr/bin/env bash
# syncset-render's memory on a large add-on: the example add-on with
# NAMESPACES (default 300,000) entries in `namespaces` (about 4 MB of
# addon.yaml), rendered as the YAML SelectorSyncSet. Prints our maximum
# resident set size (GNU time), the size of the output, and the ratio.
# Floor: the output itself, which a renderer must hold to write it whole
# (nothing half-written). Target: ours / output <= 4 (it was 754 MB, issue 14).
set -euo pipefail
cd "$(dirname "$0")/../.."
namespaces="${NAMESPACES:-300000}"
if [[ ! -x /usr/bin/time ]]; then echo "render-memory.sh: needs GNU time (/usr/bin/time)" >&2; exit 2; fi
cargo build --release -q -p syncset-render --bin syncset-render
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
/usr/bin/time -v target/release/syncset-render "$addon" --selector -o yaml > "$work/out.yaml" 2> "$work/time.txt"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
out_bytes=$(stat -c %s "$work/out.yaml")
printf 'syncset-render --selector -o yaml, %s namespaces (%.1f MB of addon.yaml)\n' "$namespaces" "$(echo "$input_bytes / 1000000" | bc -l)"
printf '  ours (maximum resident set size): %.1f MB\n' "$(echo "$rss_kb * 1024 / 1000000" | bc -l)"
printf '  floor (the output, %s lines):  %.1f MB\n' "$(wc -l < "$work/out.yaml")" "$(echo "$out_bytes / 1000000" | bc -l)"
printf '  ratio ours/output: %.2f (target <= 4)\n' "$(echo "$rss_kb * 1024 / $out_bytes" | bc -l)"
