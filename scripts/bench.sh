#!/usr/bin/env bash
# Benchmarks, one per stage of the flow: scripts/bench.sh <stage> [ARGS].
# Each prints our time, the floor (or peer tool) measured in the same run, the
# ratio with the target of issue 24, the peak memory of every tool that reads
# a stream, and the machine's load (the machine is shared: compare numbers
# only with their load). Speed and memory targets live here, never in the
# tests. docs/benchmarks.md holds the figures measured so far.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every scripts/bench/*.sh but the sourced helpers (_lib.sh).
stages=()
for script in scripts/bench/[a-z]*.sh; do
  stage=${script##*/}
  stages+=("${stage%.sh}")
done
stage="${1:-}"
if [[ $stage == all ]]; then
  # make bench: every stage, one after the other; mtcli only when
  # managed-tenants-cli is there (it is not in the repository).
  for stage in "${stages[@]}"; do
    echo "== scripts/bench.sh $stage"
    if [[ $stage == mtcli && ( -z ${MTCLI_SRC:-} || -z ${MTCLI_VENV:-} ) ]]; then
      echo "skipped: MTCLI_SRC and MTCLI_VENV are not set"
      continue
    fi
    bash "scripts/bench/$stage.sh"
  done
  exit 0
fi
if [[ -z "$stage" || "$stage" == _* || ! -f "scripts/bench/$stage.sh" ]]; then
  echo "usage: scripts/bench.sh <stage> [ARGS] | all   (stages: ${stages[*]})" >&2
  exit 2
fi
shift
exec bash "scripts/bench/$stage.sh" "$@"
