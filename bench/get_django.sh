#!/usr/bin/env bash
# bench/get_django.sh — fetch real-world Django code bases (sdists from PyPI) for bench/run.sh.
#
#   bench/get_django.sh [--django-only]
#
# Downloads with `pip download --no-deps --no-binary :all:` (source distributions, nothing
# is installed), extracts under bench/work/real/, and prints each extracted path with its
# Python file and line count.  Idempotent: already downloaded / extracted trees are reused.
#
#   DJANGO_SPEC   default "django==5.1.*"  (Django itself: ~2,800 files, ~475k lines incl. tests)
#   WAGTAIL_SPEC  default "wagtail==8.0.*" (a large Django application: ~1,400 files, ~270k lines)
set -euo pipefail
{  # the whole script is one block: bash parses it before running, so editing this file
   # while a benchmark runs cannot change what that run executes

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
DL=$WORK/downloads
REAL=$WORK/real
DJANGO_SPEC=${DJANGO_SPEC:-"django==5.1.*"}
WAGTAIL_SPEC=${WAGTAIL_SPEC:-"wagtail==8.0.*"}

SPECS=("$DJANGO_SPEC")
case "${1:-}" in
    --django-only) ;;
    "") SPECS+=("$WAGTAIL_SPEC") ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "get_django.sh: unknown argument $1" >&2; exit 2 ;;
esac

mkdir -p "$DL" "$REAL"
if [[ ! -x $WORK/venv/bin/pip ]]; then
    python3 -m venv "$WORK/venv"
fi
PIP=("$WORK/venv/bin/pip" --disable-pip-version-check)

count_py() {  # prints "FILES LINES"
    python3 - "$1" <<'EOF'
import os, sys
files = lines = 0
for root, dirs, names in os.walk(sys.argv[1]):
    for n in names:
        if n.endswith(".py"):
            files += 1
            with open(os.path.join(root, n), "rb") as fh:
                lines += sum(1 for _ in fh)
print(files, lines)
EOF
}

status=0
TREES=()
for spec in "${SPECS[@]}"; do
    name=${spec%%[=<>!~ ]*}
    name=$(tr '[:upper:]-' '[:lower:]_' <<<"$name")
    # one directory per spec, so changing the spec does not reuse a stale download
    dest=$DL/$(printf '%s' "$spec" | tr -c 'A-Za-z0-9._-' '_')
    mkdir -p "$dest"
    if ! compgen -G "$dest/${name}-*.tar.gz" >/dev/null; then
        echo "==> pip download --no-deps --no-binary :all: '$spec'" >&2
        if ! "${PIP[@]}" download -q --no-deps --no-binary :all: "$spec" -d "$dest" >&2; then
            echo "get_django.sh: could not download an sdist for '$spec' (skipped)" >&2
            status=1
            continue
        fi
    fi
    sdist=$(compgen -G "$dest/${name}-*.tar.gz" | sort -V | tail -1)
    base=$(basename "$sdist" .tar.gz)
    tree=$REAL/$base
    if [[ ! -f $tree/.extracted ]]; then
        echo "==> extracting $(basename "$sdist")" >&2
        rm -rf "$tree"
        tar -xzf "$sdist" -C "$REAL"
        [[ -d $tree ]] || { echo "get_django.sh: $sdist did not extract to $tree" >&2; status=1; continue; }
        touch "$tree/.extracted"
    fi
    read -r files lines < <(count_py "$tree")
    printf '%s\t%s Python files\t%s lines\n' "$tree" "$files" "$lines"
    TREES+=("$tree")
done

if [[ ${#TREES[@]} -gt 0 ]]; then
    echo >&2
    echo "benchmark one with, e.g.:  bench/run.sh ${TREES[0]#"$(dirname "$HERE")/"}" >&2
fi
exit "$status"
}
