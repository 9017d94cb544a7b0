#!/usr/bin/env bash
# tenantlint on the real multi-tenant Rust services (issue 13). Each tree is copied to a scratch
# directory with its config from bench/real/rust/<name>/tenantlint.toml at the tree's root (the
# config a user of that project would write), then checked; the JSON reports go to $OUT.
#
#   TENANTLINT=target/release/tenantlint bench/real/rust/run.sh
#
# Trees: /work/realprojects/rust/<name> (or REAL_RUST_ROOT). No network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${TENANTLINT:-$here/../../../target/debug/tenantlint}"
src="${REAL_RUST_ROOT:-/work/realprojects/rust}"
out="${OUT:-/tmp/tenantlint-real-rust}"
mkdir -p "$out"
for cfg in "$here"/*/tenantlint.toml; do
  name="$(basename "$(dirname "$cfg")")"
  [ -d "$src/$name" ] || { echo "skip $name (no tree)"; continue; }
  work="$out/tree-$name"
  rm -rf "$work" && cp -r "$src/$name" "$work" && cp "$cfg" "$work/tenantlint.toml"
  start=$(date +%s.%N)
  (cd "$work" && "$bin" check --output-format json --exit-zero --no-cache . > "$out/$name.json")
  end=$(date +%s.%N)
  n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$out/$name.json")
  printf '%-16s %4s findings  %.2fs\n' "$name" "$n" "$(echo "$end - $start" | bc)"
done
