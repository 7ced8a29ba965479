#!/usr/bin/env bash
# Benchmarks, one per stage of the flow: scripts/bench.sh <stage>.
# Each prints our time, the floor (or peer tool) measured in the same run, and
# the ratio. Speed targets live here, never in the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=()
for script in scripts/bench/*.sh; do
  stage=${script##*/}
  stages+=("${stage%.sh}")
done
stage="${1:-}"
if [[ $stage == all ]]; then
  # make bench: every stage, one after the other.
  for stage in "${stages[@]}"; do
    echo "== scripts/bench.sh $stage"
    bash "scripts/bench/$stage.sh"
  done
  exit 0
fi
if [[ -z "$stage" || ! -f "scripts/bench/$stage.sh" ]]; then
  echo "usage: scripts/bench.sh <stage>|all   (stages: ${stages[*]})" >&2
  exit 2
fi
shift
exec bash "scripts/bench/$stage.sh" "$@"
