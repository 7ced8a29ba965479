#!/usr/bin/env bash
# csv-wait at fleet scale: 2,000 clusters watched for 10 polls (RUNS times,
# default 3; medians are printed) against a real Prometheus (Debian's
# prometheus scraping prometheus-pushgateway on loopback).
# Prints the queries csv-wait sent per poll, as Prometheus itself counted them
# (target: 1), our time per poll, the floor (the same query sent by curl, i.e.
# Prometheus' own cost), the ratio (target, issue 24: <= 1.1), csv-wait's
# peak memory (GNU time), and the naive peer: one query per cluster.
# shellcheck source=SCRIPTDIR/_lib.sh
source "$(dirname "$0")/_lib.sh"
bench_require_gnu_time

CLUSTERS=${CLUSTERS:-2000}
POLLS=${POLLS:-10}
RUNS=${RUNS:-3}
OPERATOR=bench-operator

for bin in prometheus prometheus-pushgateway curl; do
  command -v "$bin" >/dev/null || { echo "wait.sh: $bin is not installed" >&2; exit 2; }
done
bench_build
CSV_WAIT="$(bench_target_dir)/release/csv-wait"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
push_port=$(free_port)
prom_port=$(free_port)
while [[ "$prom_port" == "$push_port" ]]; do prom_port=$(free_port); done
push="http://127.0.0.1:$push_port"
prom="http://127.0.0.1:$prom_port"

prometheus-pushgateway --web.listen-address="127.0.0.1:$push_port" \
  --persistence.file="$work/pushgateway.data" >"$work/pushgateway.log" 2>&1 &
pids+=($!)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$push_port']
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

wait_for() { # url, what (its log is $work/WHAT.log)
  for _ in $(seq 1 300); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "wait.sh: $2 did not come up in 30 s; the end of its log:" >&2
  tail -5 "$work/$2.log" >&2
  exit 3
}
wait_for "$push/-/ready" pushgateway
wait_for "$prom/-/ready" prometheus

# The fleet: every cluster installing the add-on (so no poll ends the wait)
# and running two other operators, as telemetry reports them.
awk -v n="$CLUSTERS" 'BEGIN { for (i = 1; i <= n; i++) printf "%08x-0000-4000-8000-%012x\n", i, i }' >"$work/clusters.txt"
awk -v op="$OPERATOR" '{
  printf "csv_abnormal{_id=\"%s\",name=\"%s.v1.2.0\",namespace=\"redhat-%s\",phase=\"Installing\",reason=\"InstallWaiting\",version=\"1.2.0\"} 1\n", $1, op, op
  printf "csv_succeeded{_id=\"%s\",name=\"%s.v1.2.0\",namespace=\"redhat-%s\",version=\"1.2.0\"} 0\n", $1, op, op
  printf "csv_succeeded{_id=\"%s\",name=\"other-a.v3.0.0\",namespace=\"a\",version=\"3.0.0\"} 1\n", $1
  printf "csv_succeeded{_id=\"%s\",name=\"other-b.v0.9.1\",namespace=\"b\",version=\"0.9.1\"} 1\n", $1
}' "$work/clusters.txt" >"$work/fleet.prom"
curl -sf -X PUT --data-binary @"$work/fleet.prom" "$push/metrics/job/telemetry/instance/fleet" >/dev/null
for _ in $(seq 1 600); do
  count=$(curl -sf "$prom/api/v1/query" --data-urlencode 'query=count(csv_abnormal)' | grep -o '"[0-9]*"\]' | tr -dc '0-9' || true)
  [[ "$count" == "$CLUSTERS" ]] && break
  sleep 0.1
done
[[ "${count:-}" == "$CLUSTERS" ]] || { echo "wait.sh: Prometheus never scraped the samples" >&2; exit 3; }

queries_served() {
  curl -sf "$prom/metrics" | awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query"/ { sum += $NF } END { print sum + 0 }'
}

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# Ours: csv-wait, polls back to back; the floor: the same query, sent by
# curl (Prometheus' own cost plus transfer). RUNS runs of each, interleaved.
"$CSV_WAIT" --operator "$OPERATOR" --clusters "$work/clusters.txt" --show-query >"$work/query.promql"
echo "start: $(bench_load)"
ours_runs=() floor_runs=() per_poll_runs=()
for _ in $(seq 1 "$RUNS"); do
  before=$(queries_served)
  start=$(now)
  bench_run "$work/csv-wait.stats" "$CSV_WAIT" --url "$prom" --operator "$OPERATOR" --clusters "$work/clusters.txt" \
    --interval 0s --polls "$POLLS" >"$work/events.jsonl" 2>"$work/csv-wait.log" && status=0 || status=$?
  end=$(now)
  after=$(queries_served)
  [[ "$status" == 4 ]] || { echo "wait.sh: csv-wait exited $status, expected 4 (polls used up)" >&2; cat "$work/csv-wait.log" >&2; exit 3; }
  ours_runs+=("$(calc "($end - $start) / $POLLS")")
  per_poll_runs+=("$(calc "($after - $before) / $POLLS")")

  start=$(now)
  for _ in $(seq 1 "$POLLS"); do
    curl -sf -o /dev/null "$prom/api/v1/query" --data-urlencode "query@$work/query.promql"
  done
  end=$(now)
  floor_runs+=("$(calc "($end - $start) / $POLLS")")
done
ours=$(bench_median "${ours_runs[@]}")
floor=$(bench_median "${floor_runs[@]}")
per_poll=$(bench_median "${per_poll_runs[@]}")

# Peer: the naive watcher, one query per cluster per poll (one poll, keep-alive).
args=()
while read -r id; do
  args+=(-o /dev/null "$prom/api/v1/query?query=csv_succeeded%7B_id%3D%22$id%22%7D")
done <"$work/clusters.txt"
start=$(now)
curl -sf "${args[@]}"
end=$(now)
naive=$(calc "$end - $start")

printf 'csv-wait: %d clusters, %d polls against Prometheus %s, median of %d runs\n' "$CLUSTERS" "$POLLS" "$(prometheus --version 2>&1 | head -1 | awk '{print $3}')" "$RUNS"
printf '  queries sent per poll (counted by Prometheus): %.2f   (target: 1; naive: %d)\n' "$per_poll" "$CLUSTERS"
printf '  ours   csv-wait per poll:                      %.3f s   (peak RSS %s MB)\n' "$ours" "$(bench_peak_mb "$work/csv-wait.stats")"
printf '  floor  curl, the same query:                   %.3f s\n' "$floor"
ratio=$(calc "$ours / $floor")
printf '  ratio  ours / floor:                           %.2f   (target <= 1.1: %s)\n' "$ratio" "$(awk -v r="$ratio" 'BEGIN { print (r <= 1.1 ? "met" : "NOT MET") }')"
printf '  peer   one query per cluster, one poll:        %.3f s  (ours is %.1fx faster)\n' "$naive" "$(calc "$naive / $ours")"
echo "end: $(bench_load)"
