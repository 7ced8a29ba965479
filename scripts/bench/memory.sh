#!/usr/bin/env bash
# scripts/bench.sh memory: peak memory (RSS, GNU time) of the tools that read
# a stream, as the fleet grows. Targets (issue 24):
#
# 1. The whole-tree job (addon-validate --all --documents | syncset-render
#    --selector, ocm-post --dry-run reading the same stream at the same time;
#    bench_whole_tree_job in _lib.sh) on generated trees of SIZES add-ons (default "50 500 5000",
#    stage, one in four with extra resources): each tool's peak is flat, the
#    same at 5,000 add-ons as at 50. Each peak is the median of JOB_RUNS
#    runs (default 5), each with the address space not randomised
#    (bench_fix_layout): randomised, one run's peak wandered by up to
#    0.9 MB of 10 MB, as much as the 1.1x bound allows a tool to grow.
# 2. A stream of DOCUMENTS add-on documents (default 100,000; made from the
#    documents addon-validate writes for a generated tree, each copy renamed
#    to an id of its own, closed by an inventory of them all):
#    syncset-render --selector flat (its peak on this stream against its
#    peak on SMALL=1,000 documents), and hive-apply applying the rendered
#    List to the Kubernetes test server (fake-hive) at <= 2x the List's size,
#    once with --summary and once printing every applied object (-o json).
#    hive-apply runs with APPLY_DRY_RUN (default `server`: every object is
#    sent and answered as in a real apply, the test server stores none, so
#    its own memory stays small; `none` applies for real).
#
# Uses about 1 GB of disk in a tempdir (removed at the end), and about 1 GB
# of memory for hive-apply on the 100,000 documents: PARTS=job or
# PARTS=stream runs one part.
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
sizes="${SIZES:-50 500 5000}"
documents="${DOCUMENTS:-100000}"
small="${SMALL:-1000}"
dry_run="${APPLY_DRY_RUN:-server}"
parts="${PARTS:-job stream}"
job_runs="${JOB_RUNS:-5}"
env=stage
bench_require_gnu_time
bench_fix_layout
bench_prepare
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
echo "bench memory: peak RSS (GNU time); start: $(bench_load)"

# --- 1. the whole-tree job at each size -------------------------------------------
if [[ " $parts " == *" job "* ]]; then
  declare -A peak
  for size in $sizes; do
    python3 scripts/bench/gen_tree.py "$size" "$work/tree-$size" --no-bundles >/dev/null
    declare -A runs=()
    for _ in $(seq "$job_runs"); do
      bench_whole_tree_prepare "$work/job-$size"
      BENCH_STATS=1 bench_whole_tree_job "$bin" "$work/tree-$size/managed-tenants" "$env" "$work/job-$size"
      for tool in "${BENCH_JOB_TOOLS[@]}"; do runs[$tool]+=" $(bench_peak_mb "$work/job-$size/$tool.stats")"; done
    done
    # shellcheck disable=SC2086 # the runs are words
    for tool in "${BENCH_JOB_TOOLS[@]}"; do peak[$tool,$size]=$(bench_median ${runs[$tool]}); done
    echo "  $size add-ons: stream $(mb "$(stat -c %s "$work/job-$size/docs.jsonl")") MB, List $(mb "$(stat -c %s "$work/job-$size/sss.json")") MB   ($(bench_load))"
    rm -rf "$work/tree-$size"
  done
  read -r -a size_list <<<"$sizes"
  first="${size_list[0]}" last="${size_list[-1]}"
  printf '\nwhole-tree job, peak RSS in MB per tool and add-ons, median of %s runs (target: flat, the same at %s as at %s)\n' "$job_runs" "$last" "$first"
  printf '  %-16s' tool; for size in $sizes; do printf '%10s' "$size"; done; printf '%14s\n' "$last / $first"
  for tool in "${BENCH_JOB_TOOLS[@]}"; do
    printf '  %-16s' "$tool"
    for size in $sizes; do printf '%10s' "${peak[$tool,$size]}"; done
    growth=$(bench_calc "${peak[$tool,$last]} / ${peak[$tool,$first]}")
    printf '%13sx  %s\n' "$(printf '%.2f' "$growth")" "$(awk -v g="$growth" 'BEGIN { print (g <= 1.1 ? "flat: met" : "grows: NOT MET") }')"
  done
fi

# --- 2. a stream of DOCUMENTS add-on documents ------------------------------------
if [[ " $parts " == *" stream "* ]]; then
  python3 scripts/bench/gen_tree.py 4 "$work/seed" --no-bundles >/dev/null
  "$bin/addon-validate" --all "$work/seed/managed-tenants" --env "$env" --documents -o json \
    >"$work/seed.jsonl" 2>"$work/seed.err" || { cat "$work/seed.err" >&2; exit 1; }
  # Copies of the seed add-ons (one in four with extra resources), each
  # renamed everywhere its id appears (ids of letters only, as image set names
  # need), closed by an inventory listing every copy.
  make_stream() { # count, file
    python3 - "$work/seed.jsonl" "$1" "$2" <<'PY'
import json, re, sys
seed, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l for l in open(seed) if l.strip()]
inventory = json.loads(lines[-1])
assert inventory.get("kind") == "AddonInventory", "the seed stream has no inventory"
documents = lines[:-1]
ids = []
with open(out, "w") as f:
    for i in range(count):
        letters = "".join(chr(ord("a") + (i // 26 ** k) % 26) for k in (4, 3, 2, 1, 0))
        new_id = f"bench-stream-{letters}"
        ids.append(new_id)
        f.write(re.sub(r"bench-addon-[a-z]{3}", new_id, documents[i % len(documents)]))
    inventory["addons"] = sorted(ids)
    f.write(json.dumps(inventory) + "\n")
PY
  }
  make_stream "$small" "$work/small.jsonl"
  make_stream "$documents" "$work/stream.jsonl"
  bench_run "$work/render-small.stats" "$bin/syncset-render" --selector -o json <"$work/small.jsonl" >"$work/small.json"
  bench_run "$work/render.stats" "$bin/syncset-render" --selector -o json <"$work/stream.jsonl" >"$work/list.json"
  rm -f "$work/small.json" "$work/small.jsonl"
  stream_bytes=$(stat -c %s "$work/stream.jsonl")
  list_bytes=$(stat -c %s "$work/list.json")
  rm -f "$work/stream.jsonl"

  "$bin/fake-hive" --kubeconfig-out "$work/kubeconfig" >"$work/hive.out" 2>"$work/hive.log" &
  server_pid=$!
  for _ in $(seq 1 100); do [[ -s "$work/kubeconfig" ]] && break; sleep 0.1; done
  [[ -s "$work/kubeconfig" ]] || { echo "bench memory: fake-hive did not start" >&2; exit 1; }
  if ! KUBECONFIG="$work/kubeconfig" bench_run "$work/apply.stats" "$bin/hive-apply" --dry-run="$dry_run" \
      --summary <"$work/list.json" >"$work/applied.txt" 2>"$work/apply.err"; then
    echo "bench memory: hive-apply failed:" >&2; tail -5 "$work/apply.err" >&2; exit 1
  fi
  # The same apply printing every applied object (-o json), which holds more
  # per object than the summary does.
  if ! KUBECONFIG="$work/kubeconfig" bench_run "$work/apply-json.stats" "$bin/hive-apply" --dry-run="$dry_run" \
      -o json <"$work/list.json" >/dev/null 2>"$work/apply.err"; then
    echo "bench memory: hive-apply -o json failed:" >&2; tail -5 "$work/apply.err" >&2; exit 1
  fi
  applied=$(wc -l <"$work/applied.txt")
  apply_peak=$(bench_peak_mb "$work/apply.stats")
  apply_json_peak=$(bench_peak_mb "$work/apply-json.stats")
  render_peak=$(bench_peak_mb "$work/render.stats")
  render_small=$(bench_peak_mb "$work/render-small.stats")
  printf '\n%s add-on documents (%s MB of JSON lines) -> syncset-render --selector -> a List of %s MB (%s objects)\n' \
    "$documents" "$(mb "$stream_bytes")" "$(mb "$list_bytes")" "$applied"
  printf '  syncset-render: peak %s MB (%s s); on %s documents %s MB: %sx (target: flat)\n' "$render_peak" \
    "$(bench_wall "$work/render.stats")" "$small" "$render_small" "$(bench_calc "$render_peak / $render_small")"
  ratio=$(bench_calc "$apply_peak * 1e6 / $list_bytes")
  printf '  hive-apply --dry-run=%s (%s objects): peak %s MB (%s s) = %.2fx its input (target <= 2x: %s)\n' \
    "$dry_run" "$applied" "$apply_peak" "$(bench_wall "$work/apply.stats")" "$ratio" \
    "$(awk -v r="$ratio" 'BEGIN { print (r <= 2 ? "met" : "NOT MET") }')"
  ratio=$(bench_calc "$apply_json_peak * 1e6 / $list_bytes")
  printf '  hive-apply --dry-run=%s -o json: peak %s MB (%s s) = %.2fx its input (target <= 2x: %s)\n' \
    "$dry_run" "$apply_json_peak" "$(bench_wall "$work/apply-json.stats")" "$ratio" \
    "$(awk -v r="$ratio" 'BEGIN { print (r <= 2 ? "met" : "NOT MET") }')"
fi
echo "end: $(bench_load)"
