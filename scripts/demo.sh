#!/usr/bin/env bash
# The main job on the embedded default: the examples/ managed-tenants tree,
# through every stage of the flow that needs no outside service.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace --bins
bin=target/release
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== addon-validate: the whole example tree"
$bin/addon-validate --all examples/managed-tenants --bundles examples/managed-tenants-bundles >/dev/null

addon=examples/managed-tenants/addons/reference-addon/metadata/stage/addon.yaml
bundles=examples/managed-tenants-bundles/addons/reference-addon
echo "== addon-validate: $addon"
$bin/addon-validate "$addon" --bundles "$bundles" -o json > "$out/addon.json"
echo "   valid; image set $(grep -o '"name": "reference-addon.v[^"]*"' "$out/addon.json" | head -1)"
echo "demo finished: the add-on document is valid"
