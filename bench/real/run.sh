#!/usr/bin/env bash
# Re-run tenantlint on the real multi-tenant Django projects listed in bench/REAL_PROJECTS.md.
#
#   bench/real/run.sh [NAME...]          # default: every bench/real/<name>/tenantlint.toml
#
# Environment:
#   TENANTLINT   binary to run            (default: /tmp/tenantlint-baseline, else target/release/tenantlint)
#   REAL_ROOT    where the trees live     (default: /work/realprojects; tree = $REAL_ROOT/<name>)
#   REAL_<NAME>  override one tree, NAME upper-cased with '-' -> '_' (e.g. REAL_TAIGA_BACK=/src/taiga-back)
#   OUT          where JSON reports go    (default: /tmp/tenantlint-real)
#
# No network. Each tree must be a checkout of the commit in bench/REAL_PROJECTS.md.
# Because the project root is the directory of the config file in use (README, "Usage"),
# the config is copied to the ROOT of each tree as tenantlint.toml, and tenantlint is run from
# there on ".", so `src` and module resolution are relative to the project, as for its users.
# Findings in test code (tests/, test_*.py, *_tests.py, tests.py, conftest.py, testing/ settings)
# are counted separately and excluded from the per-rule table.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN="${TENANTLINT:-}"
if [[ -z "$BIN" ]]; then
  if [[ -x /tmp/tenantlint-baseline ]]; then BIN=/tmp/tenantlint-baseline; else BIN="$REPO/target/release/tenantlint"; fi
fi
REAL_ROOT="${REAL_ROOT:-/work/realprojects}"
OUT="${OUT:-/tmp/tenantlint-real}"
mkdir -p "$OUT"
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for d in "$HERE"/*/; do [[ -f "$d/tenantlint.toml" ]] && names+=("$(basename "$d")"); done
fi
echo "binary: $BIN ($("$BIN" --version))"
printf '%-13s %8s %7s  %s\n' project lines time "findings outside tests per rule (tests)"
for name in "${names[@]}"; do
  var="REAL_$(echo "$name" | tr 'a-z-' 'A-Z_')"
  tree="${!var:-$REAL_ROOT/$name}"
  # The Django project may be a folder of the repository (`bench/real/<name>/subdir`: `api`).
  if [[ -z "${!var:-}" && -f "$HERE/$name/subdir" ]]; then tree="$tree/$(cat "$HERE/$name/subdir")"; fi
  if [[ ! -d "$tree" ]]; then echo "$name: no tree at $tree (skipped)"; continue; fi
  cp "$HERE/$name/tenantlint.toml" "$tree/tenantlint.toml"
  lines=$(cd "$tree" && find . -name '*.py' -not -path '*/node_modules/*' -not -path '*/migrations/*' \
      -not -path '*/tests/*' -not -path '*/test/*' -not -name 'test_*.py' -not -name '*_tests.py' \
      -not -name 'tests.py' -not -name 'conftest.py' -print0 | xargs -0 cat | wc -l)
  start=$(date +%s.%N)
  (cd "$tree" && "$BIN" check --output-format json --exit-zero --no-cache . > "$OUT/$name.json")
  end=$(date +%s.%N)
  python3 - "$OUT/$name.json" "$name" "$lines" "$start" "$end" <<'PY'
import json, re, sys, collections
path, name, lines, start, end = sys.argv[1:]
d = json.load(open(path))
test = re.compile(r'(^|/)(tests?|testing)(/|$)|(^|/)test_[^/]*\.py$|_tests?\.py$|(^|/)tests\.py$|(^|/)conftest\.py$|(^|/)settings/testing\.py$|test_settings\.py$')
c = collections.Counter(x['code'] for x in d if not test.search(x['filename']))
t = sum(1 for x in d if test.search(x['filename']))
print(f"{name:<13} {int(lines):>8} {float(end)-float(start):6.2f}s  " + (" ".join(f"{k}={v}" for k, v in sorted(c.items())) or "none") + f"  (tests: {t})")
PY
done
