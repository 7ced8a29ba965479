#!/usr/bin/env bash
# Benchmarks, one per stage of the flow: scripts/bench.sh <stage>.
# Each prints our time, the floor (or peer tool) measured in the same run, and
# the ratio. Speed targets live here, never in the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
stage="${1:-}"
if [[ -z "$stage" || ! -f "scripts/bench/$stage.sh" ]]; then
  echo "usage: scripts/bench.sh <stage>   (stages: $(ls scripts/bench | sed 's/\.sh$//' | tr '\n' ' '))" >&2
  exit 2
fi
shift
exec bash "scripts/bench/$stage.sh" "$@"
