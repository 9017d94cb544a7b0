#!/usr/bin/env bash
# Rust frontend speed, side by side (issue 13):
#   1. tenantlint vs semgrep (from PyPI) with the equivalent rules in bench/semgrep/tenancy-rust.yml,
#      on the same tree;
#   2. tenantlint's lines per second on Rust files vs on Python files of the same machine.
# Usage: bench/rust_vs_semgrep.sh RUST_TREE [PYTHON_TREE]
#   RUST_TREE    a Cargo project (e.g. a public multi-tenant service; see bench/REAL_PROJECTS.md)
#   PYTHON_TREE  a Django tree for the lines-per-second comparison (default: a generated 200k-line one)
# Needs: a release build (cargo build --release), farm-bench, python3 -m venv. semgrep is installed
# into bench/work/semgrep-venv on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
tree="${1:?usage: $0 RUST_TREE [PYTHON_TREE]}"
py_tree="${2:-$root/bench/work/py200k}"
bin="$root/target/release/tenantlint"
venv="$root/bench/work/semgrep-venv"
[ -x "$bin" ] || (cd "$root" && cargo build --release)
if [ ! -x "$venv/bin/semgrep" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q semgrep
fi
[ -d "$py_tree" ] || python3 "$here/gen_project.py" "$py_tree" --lines 200000 --seed 2
export SEMGREP_ENABLE_VERSION_CHECK=0
lines() { find "$1" -name "$2" -not -path '*/target/*' -print0 | xargs -0 cat | wc -l; }
rs_lines=$(lines "$tree" '*.rs')
py_lines=$(lines "$py_tree" '*.py')
echo "Rust tree: $tree ($rs_lines lines of .rs); semgrep $("$venv/bin/semgrep" --version)"
echo "== tenantlint (A) vs semgrep (B), same tree, same rules"
(cd "$tree" && farm-bench -n 3 --timeout 900 -- "$bin" check . --no-cache --exit-zero --output-format json \
  --vs "$venv/bin/semgrep --config $here/semgrep/tenancy-rust.yml --metrics=off --disable-version-check --quiet --json --jobs 2 .")
echo "== tenantlint on Rust ($rs_lines lines) and on Python ($py_lines lines)"
(cd "$tree" && farm-bench -n 5 -- "$bin" check . --no-cache --exit-zero --output-format json)
(cd "$py_tree" && farm-bench -n 5 -- "$bin" check . --no-cache --exit-zero --output-format json)
echo "(lines per second = lines / median wall; compare the two)"
