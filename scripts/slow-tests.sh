#!/usr/bin/env bash
# Slow integration tests against the real tools (tests/integration_slow.rs):
#   - pip builds the wheel through maturin (pyproject.toml), installs it into a fresh venv, runs it;
#   - pre-commit runs .pre-commit-hooks.yaml (try-repo, a blocked and a passing commit, the fix hook);
#   - pytest-lsp drives `tenantlint server` (tests/lsp/);
#   - ruff checks that imports added by fixes are where isort puts them (`--select I`).
# Needs python3 (with venv), git, cargo and access to PyPI and crates.io.
#
# Usage: scripts/slow-tests.sh [extra cargo test args...]
# The tools go into $TENANTLINT_SLOW_VENV (default target/slow-tests/venv); every cargo build of
# these tests shares target/slow-tests/cargo-target, so a second run only rebuilds tenantlint.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TENANTLINT_SLOW_VENV:-$PWD/target/slow-tests/venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/pre-commit" ] || [ ! -x "$venv/bin/maturin" ] || [ ! -x "$venv/bin/pytest" ] || [ ! -x "$venv/bin/ruff" ] || [ ! -x "$venv/bin/python" ]; then
  echo "slow-tests: creating $venv with maturin, pre-commit, junitparser, pytest-lsp and ruff"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check -q "maturin>=1.5,<2.0" pre-commit junitparser pytest-lsp ruff
fi
"$venv/bin/pre-commit" --version
"$venv/bin/maturin" --version

export TENANTLINT_SLOW_VENV="$venv"
# One test at a time: both build tenantlint in release mode and would only wait for each other.
cargo test --test integration_slow "$@" -- --ignored --test-threads=1
