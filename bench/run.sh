#!/usr/bin/env bash
# bench/run.sh — time tenantlint against ruff on the same tree.  See bench/README.md.
#
#   bench/run.sh [MODE] [OPTIONS] [TREE]
#
# Everything this script creates lives under bench/work/ (gitignored).
set -euo pipefail
{  # the whole script is one block: bash parses it before running, so editing this file
   # while a benchmark runs cannot change what that run executes

usage() {
    cat <<'EOF'
usage: bench/run.sh [MODE] [OPTIONS] [TREE]

Modes (default: --compare):
  --compare     tenantlint check vs ruff check --select F401, same tree; wall time + peak RSS
  --threads     tenantlint (and ruff) with RAYON_NUM_THREADS=1 vs all cores
  --fix         tenantlint check --fix vs plain check, on a fresh copy of TREE for every run
                (ruff --select F401 --fix shown for reference).  Fails clearly until --fix exists.
  --all         all three

Options:
  --runs N      timed runs per command (default 5)
  --warmup N    warm-up runs per command (default 1)
  --lines N     size of the generated project when TREE is not given (default 1000000)
  --seed N      seed for the generated project (default 1)
  --no-build    do not run `cargo build --release` (use target/release/tenantlint as is)
  --ruff-only   time ruff alone (e.g. while tenantlint does not build yet)
  --wait-idle   before timing, wait (up to $BENCH_IDLE_MINUTES, default 15 min) for an idle machine
  -h, --help    this text

TREE defaults to bench/work/synthetic, generated with bench/gen_project.py if missing.
Environment: TENANTLINT=/path/to/binary benchmarks that binary instead (no build);
             BENCH_NO_HYPERFINE=1 uses the fallback loop even if hyperfine is installed.
Results: bench/work/results.md (this invocation) and bench/work/results-<mode>.md / .json.
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
WORK=$HERE/work
MODES=()
RUNS=5
WARMUP=1
LINES=1000000
SEED=1
BUILD=1
RUFF_ONLY=0
WAIT_IDLE=0
TREE=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --compare) MODES+=(compare) ;;
        --threads) MODES+=(threads) ;;
        --fix) MODES+=(fix) ;;
        --all) MODES+=(compare threads fix) ;;
        --runs) RUNS=${2:?--runs needs a value}; shift ;;
        --warmup) WARMUP=${2:?--warmup needs a value}; shift ;;
        --lines) LINES=${2:?--lines needs a value}; shift ;;
        --seed) SEED=${2:?--seed needs a value}; shift ;;
        --no-build) BUILD=0 ;;
        --ruff-only) RUFF_ONLY=1 ;;
        --wait-idle) WAIT_IDLE=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [[ -z $TREE ]] || { echo "run.sh: only one TREE, got '$TREE' and '$1'" >&2; exit 2; }; TREE=$1 ;;
    esac
    shift
done
[[ ${#MODES[@]} -gt 0 ]] || MODES=(compare)
if [[ $RUFF_ONLY == 1 ]]; then MODES=(compare); fi

mkdir -p "$WORK"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33mwarning:\033[0m %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------------------

apt_install() {  # best effort; only when we are root and apt exists
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "apt-get install -y $*"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; } \
            || return 1
    else
        return 1
    fi
}

RUFF=$WORK/venv/bin/ruff
if [[ ! -x $RUFF ]]; then
    log "installing ruff into bench/work/venv"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q --disable-pip-version-check ruff
fi

GNU_TIME=/usr/bin/time
if [[ ! -x $GNU_TIME ]] && ! apt_install time; then
    warn "GNU time (/usr/bin/time) is not available: peak RSS will not be reported"
    GNU_TIME=""
fi

HYPERFINE=$(command -v hyperfine || true)
if [[ ${BENCH_NO_HYPERFINE:-0} == 1 ]]; then
    HYPERFINE=""   # test the fallback loop
elif [[ -z $HYPERFINE ]] && apt_install hyperfine; then
    HYPERFINE=$(command -v hyperfine || true)
fi
[[ -n $HYPERFINE ]] || warn "hyperfine not available: falling back to a plain loop"

# ---------------------------------------------------------------------------------------
# tree
# ---------------------------------------------------------------------------------------

if [[ -z $TREE ]]; then
    TREE=$WORK/synthetic
    # bench_manifest.json is written last, so its absence means a missing or partial tree
    if [[ ! -f $TREE/bench_manifest.json ]]; then
        log "generating a ${LINES}-line project into bench/work/synthetic"
        python3 "$HERE/gen_project.py" "$TREE" --lines "$LINES" --seed "$SEED" --force
    fi
fi
[[ -d $TREE ]] || { echo "run.sh: $TREE is not a directory" >&2; exit 2; }
TREE=$(cd "$TREE" && pwd)

read -r TREE_FILES TREE_LINES < <(python3 - "$TREE" <<'EOF'
import os, sys
files = lines = 0
for root, dirs, names in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__", "venv")]
    for n in names:
        if n.endswith(".py"):
            files += 1
            with open(os.path.join(root, n), "rb") as fh:
                lines += sum(1 for _ in fh)
print(files, lines)
EOF
)
log "tree: $TREE ($TREE_FILES .py files, $TREE_LINES lines)"

# ---------------------------------------------------------------------------------------
# tenantlint
# ---------------------------------------------------------------------------------------

TL=${TENANTLINT:-$ROOT/target/release/tenantlint}
[[ -z ${TENANTLINT:-} ]] || BUILD=0   # an explicit binary is used as is
TL_ARGS=()
TL_IGNORE_FAILURE=0
HELP=""
if [[ $RUFF_ONLY == 0 ]]; then
    if [[ $BUILD == 1 ]]; then
        log "cargo build --release (waits if another build holds the lock)"
        if ! (cd "$ROOT" && cargo build --release); then
            echo "run.sh: cargo build --release failed; use --ruff-only to time ruff alone" >&2
            exit 1
        fi
    fi
    [[ -x $TL ]] || { echo "run.sh: $TL not found (build it, or use --ruff-only)" >&2; exit 1; }
    # Time a snapshot, so a concurrent `cargo build` cannot swap the binary between runs.
    mkdir -p "$WORK/bin"
    cp -f "$TL" "$WORK/bin/tenantlint"
    TL=$WORK/bin/tenantlint
    HELP=$("$TL" check --help 2>&1 || true)
    has_flag() { grep -q -e "$1" <<<"$HELP"; }
    # Flags from the contract; any that this build does not know yet is dropped.
    if has_flag '--exit-zero'; then TL_ARGS+=(--exit-zero); else TL_IGNORE_FAILURE=1; warn "tenantlint: no --exit-zero yet; ignoring its exit status"; fi
    if has_flag '--no-cache'; then TL_ARGS+=(--no-cache); else warn "tenantlint: no --no-cache flag yet (dropped)"; fi
    if has_flag '--output-format'; then TL_ARGS+=(--output-format concise); else warn "tenantlint: no --output-format yet (dropped)"; fi
    if has_flag '--quiet'; then TL_ARGS+=(-q); else warn "tenantlint: no -q/--quiet yet (dropped)"; fi
fi
RUFF_ARGS=(--select F401 --no-cache --isolated --exit-zero -q --output-format concise)

TL_VERSION=$([[ -x $TL ]] && "$TL" --version 2>/dev/null | head -1 || echo "n/a")
RUFF_VERSION=$("$RUFF" --version)
HF_VERSION=$([[ -n $HYPERFINE ]] && "$HYPERFINE" --version || echo "n/a (bash loop)")
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo "no commit")
GIT_DIRTY=""
if [[ -n $(cd "$ROOT" && git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]]; then
    GIT_DIRTY=" (+ uncommitted changes in src/)"
fi

q() { printf '%q ' "$@"; }          # shell-quote a command for hyperfine / eval
TL_CMD() { q "$TL" check "${TL_ARGS[@]}" "$@"; }
RUFF_CMD() { q "$RUFF" check "${RUFF_ARGS[@]}" "$@"; }

# ---------------------------------------------------------------------------------------
# measurement helpers
# ---------------------------------------------------------------------------------------

# bench MODE PREPARE NAME1 CMD1 [NAME2 CMD2 ...]  -> writes $WORK/results-MODE.md (+ .json)
bench() {
    local mode=$1 prepare=$2; shift 2
    local md=$WORK/results-$mode.md json=$WORK/results-$mode.json
    rm -f "$md" "$json"
    if [[ -n $HYPERFINE ]]; then
        local args=(--warmup "$WARMUP" --runs "$RUNS" --export-markdown "$md" --export-json "$json" --style basic)
        [[ -n $prepare ]] && args+=(--prepare "$prepare")
        [[ $TL_IGNORE_FAILURE == 1 ]] && args+=(--ignore-failure)
        while [[ $# -gt 0 ]]; do args+=(-n "$1" "$2"); shift 2; done
        "$HYPERFINE" "${args[@]}"
    else
        {
            echo "| Command | Mean [s] | Min [s] | Max [s] |"
            echo "|:---|---:|---:|---:|"
        } >"$md"
        while [[ $# -gt 0 ]]; do
            local name=$1 cmd=$2 i times=()
            shift 2
            for ((i = 0; i < WARMUP; i++)); do
                [[ -n $prepare ]] && eval "$prepare"
                eval "$cmd" >/dev/null 2>&1 || [[ $TL_IGNORE_FAILURE == 1 ]]
            done
            for ((i = 0; i < RUNS; i++)); do
                [[ -n $prepare ]] && eval "$prepare"
                local start end
                start=$(date +%s.%N)
                eval "$cmd" >/dev/null 2>&1 || [[ $TL_IGNORE_FAILURE == 1 ]]
                end=$(date +%s.%N)
                times+=("$(echo "$end - $start" | bc -l 2>/dev/null || python3 -c "print($end - $start)")")
            done
            printf '%s\n' "${times[@]}" | awk -v n="$name" '
                { s += $1; ss += $1 * $1; if (NR == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
                END { m = s / NR; sd = sqrt((ss / NR - m * m) > 0 ? ss / NR - m * m : 0);
                      printf "| `%s` | %.3f ± %.3f | %.3f | %.3f |\n", n, m, sd, mn, mx }' >>"$md"
            echo "$name: $(tail -1 "$md")"
        done
    fi
}

# cpu_table MODE -> CPU time per command from hyperfine's JSON (less sensitive than wall time
# to other load on the machine, though not immune to it)
cpu_table() {
    local json=$WORK/results-$1.json
    [[ -f $json ]] || return 0
    python3 - "$json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print("CPU time (mean per run, from hyperfine):\n")
print("| Command | Wall [s] | User [s] | System [s] | User + System [s] |")
print("|:---|---:|---:|---:|---:|")
for r in rows:
    print(f"| `{r['command']}` | {r['mean']:.3f} | {r['user']:.3f} | {r['system']:.3f} | {r['user'] + r['system']:.3f} |")
EOF
}

# rss NAME CMD -> one run under GNU time; appends a row to $RSS_ROWS
RSS_ROWS=""
rss() {
    local name=$1 cmd=$2
    [[ -n $GNU_TIME ]] || return 0
    local out=$WORK/.time.$$ status=0
    eval "$(q "$GNU_TIME" -v -o "$out") $cmd" >/dev/null 2>&1 || status=$?
    local kb wall cpu
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out")
    cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$out")
    rm -f "$out"
    RSS_ROWS+="| \`$name\` | $(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }') | $wall | $cpu | $status |"$'\n'
}
rss_table() {
    [[ -n $RSS_ROWS ]] || { echo "_peak RSS not measured (no GNU time)_"; return; }
    echo "| Command | Peak RSS [MiB] | Wall (one run) | CPU | Exit |"
    echo "|:---|---:|---:|---:|---:|"
    printf '%s' "$RSS_ROWS"
}

# diagnostics per code from one tenantlint run, next to the generator's manifest
sanity() {
    local fmt=""
    if grep -q -e 'json-lines' <<<"$HELP"; then
        fmt="json-lines"
    elif grep -q -e '--output-format' <<<"$HELP"; then
        fmt="json"
    fi
    if [[ -z $fmt ]]; then echo "_tenantlint has no --output-format json yet: diagnostics not counted_"; return; fi
    local out=$WORK/.diag.$$ status=0
    local extra=()
    grep -q -e '--exit-zero' <<<"$HELP" && extra+=(--exit-zero)
    grep -q -e '--no-cache' <<<"$HELP" && extra+=(--no-cache)
    (cd "$ROOT" && "$TL" check "${extra[@]}" --output-format "$fmt" "$TREE") >"$out" 2>"$out.err" || status=$?
    python3 - "$out" "$fmt" "$status" "$TREE/bench_manifest.json" "$out.err" <<'EOF'
import collections, json, os, sys
path, fmt, status, manifest, err = sys.argv[1:6]
text = open(path, encoding="utf-8", errors="replace").read()
try:
    rows = [json.loads(l) for l in text.splitlines() if l.strip()] if fmt == "json-lines" else (json.loads(text) if text.strip() else [])
except json.JSONDecodeError as exc:
    print(f"_could not parse tenantlint's {fmt} output ({exc}); exit status {status}_")
    sys.exit(0)
counts = collections.Counter(r.get("code", "?") for r in rows)
files = len({r.get("filename") for r in rows})
planted = {}
if os.path.exists(manifest):
    m = json.load(open(manifest))
    planted = m.get("expected_by_code") or m.get("planted_unsuppressed", {})
print(f"exit status {status}; {len(rows)} diagnostics in {files} files.\n")
if planted:
    print("| Code | Reported | Expected (bench_manifest.json) |")
    print("|:---|---:|---:|")
    for code in sorted(set(counts) | set(planted)):
        print(f"| {code} | {counts.get(code, 0)} | {planted.get(code, '—')} |")
else:
    print("| Code | Reported |")
    print("|:---|---:|")
    for code in sorted(counts):
        print(f"| {code} | {counts[code]} |")
errs = open(err, encoding="utf-8", errors="replace").read().strip().splitlines()
if errs:
    print("\nstderr (first lines):\n")
    print("```")
    print("\n".join(errs[:10]))
    print("```")
EOF
    rm -f "$out" "$out.err"
}

# ---------------------------------------------------------------------------------------
# modes
# ---------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------
# a quiet machine
# ---------------------------------------------------------------------------------------

cpu_used_pct() {  # whole-machine CPU use over the next second, from /proc/stat
    local a b
    a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%d", (busy + idle) ? 100 * busy / (busy + idle) : 0 }'
}
busy() {  # a build running, or more than 15% of the machine in use by someone else
    pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null || (($(cpu_used_pct) > 15))
}
BUSY_NOTE=""
if [[ $WAIT_IDLE == 1 ]]; then
    # idle = five consecutive one-second samples without a build and under 15% CPU
    log "waiting for the machine to be idle: no cargo/rustc, <15% CPU for 5 s (up to ${BENCH_IDLE_MINUTES:-15} min)"
    deadline=$((SECONDS + 60 * ${BENCH_IDLE_MINUTES:-15}))
    quiet=0
    while ((quiet < 5)); do
        if busy; then quiet=0; else quiet=$((quiet + 1)); fi
        if ((SECONDS >= deadline)); then
            BUSY_NOTE="the machine did not become idle within ${BENCH_IDLE_MINUTES:-15} min: numbers are unreliable"
            warn "$BUSY_NOTE"
            break
        fi
    done
elif busy; then
    BUSY_NOTE="the machine was busy (cargo/rustc or >15% CPU) when timing started: numbers are unreliable"
    warn "$BUSY_NOTE (use --wait-idle)"
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

SECTIONS=$WORK/.sections.$$
: >"$SECTIONS"
FIX_TMP=$WORK/fix-tmp
# shellcheck disable=SC2317  # invoked by the trap
cleanup() { rm -rf "$SECTIONS" "$FIX_TMP" "$WORK"/.time.* "$WORK"/.diag.*; }
trap cleanup EXIT
FAILED=0
NPROC=$(nproc)

cd "$ROOT"

for mode in "${MODES[@]}"; do
    case "$mode" in
    compare)
        log "compare: tenantlint vs ruff (F401) on $TREE"
        RSS_ROWS=""
        if [[ $RUFF_ONLY == 1 ]]; then
            bench compare "" "ruff check --select F401" "$(RUFF_CMD "$TREE")" || FAILED=1
        else
            bench compare "" "tenantlint check" "$(TL_CMD "$TREE")" "ruff check --select F401" "$(RUFF_CMD "$TREE")" \
                || { FAILED=1; echo "run.sh: timing failed (did tenantlint crash? try it by hand)" >&2; }
            rss "tenantlint check" "$(TL_CMD "$TREE")"
        fi
        rss "ruff check --select F401" "$(RUFF_CMD "$TREE")"
        {
            echo "## tenantlint vs ruff"
            echo
            [[ $RUFF_ONLY == 1 ]] || echo "- tenantlint: \`$(TL_CMD TREE)\`"
            echo "- ruff: \`$(RUFF_CMD TREE)\`"
            echo
            cat "$WORK/results-compare.md" 2>/dev/null || echo "_timing failed_"
            echo
            cpu_table compare
            echo
            echo "### Peak memory (one extra run each, GNU time -v)"
            echo
            rss_table
            if [[ $RUFF_ONLY == 0 ]]; then
                echo
                echo "### Diagnostics reported by tenantlint"
                echo
                sanity
            fi
            echo
        } >>"$SECTIONS"
        ;;
    threads)
        log "threads: RAYON_NUM_THREADS=1 vs $NPROC"
        RSS_ROWS=""
        bench threads "" \
            "tenantlint, 1 thread" "env RAYON_NUM_THREADS=1 $(TL_CMD "$TREE")" \
            "tenantlint, default ($NPROC cores)" "$(TL_CMD "$TREE")" \
            "ruff F401, 1 thread" "env RAYON_NUM_THREADS=1 $(RUFF_CMD "$TREE")" \
            "ruff F401, default ($NPROC cores)" "$(RUFF_CMD "$TREE")" || FAILED=1
        rss "tenantlint, 1 thread" "env RAYON_NUM_THREADS=1 $(TL_CMD "$TREE")"
        rss "tenantlint, default ($NPROC cores)" "$(TL_CMD "$TREE")"
        {
            echo "## Scaling with cores (RAYON_NUM_THREADS)"
            echo
            cat "$WORK/results-threads.md" 2>/dev/null || echo "_timing failed_"
            echo
            cpu_table threads
            echo
            rss_table
            echo
        } >>"$SECTIONS"
        ;;
    fix)
        log "fix: tenantlint check --fix vs check, fresh copy of the tree per run"
        if ! grep -qE -e '(^|[^a-z-])--fix([^a-z-]|$)' <<<"$HELP"; then
            echo "run.sh --fix: this tenantlint build has no --fix option yet (see \`tenantlint check --help\`); skipping the fix benchmark" >&2
            {
                echo "## --fix"
                echo
                echo "_skipped: this build of tenantlint has no \`--fix\` yet_"
                echo
            } >>"$SECTIONS"
            FAILED=1
            continue
        fi
        mkdir -p "$FIX_TMP"
        COPY=$FIX_TMP/tree
        PREP="rm -rf $(q "$COPY") && cp -a $(q "$TREE") $(q "$COPY")"
        RSS_ROWS=""
        if bench fix "$PREP" \
            "tenantlint check --fix" "$(TL_CMD --fix "$COPY")" \
            "tenantlint check" "$(TL_CMD "$COPY")" \
            "ruff --select F401 --fix" "$(RUFF_CMD --fix "$COPY")"; then
            eval "$PREP"
            rss "tenantlint check --fix" "$(TL_CMD --fix "$COPY")"
            CHANGED=$(diff -rq "$TREE" "$COPY" 2>/dev/null | wc -l || true)
            {
                echo "## --fix (each run on a fresh \`cp -a\` of the tree; the copy is not timed)"
                echo
                cat "$WORK/results-fix.md"
                echo
                cpu_table fix
                echo
                rss_table
                echo
                echo "Files changed by one \`tenantlint check --fix\`: $CHANGED"
                echo
            } >>"$SECTIONS"
        else
            echo "run.sh --fix: the fix benchmark failed (is \`check --fix\` implemented yet?)" >&2
            { echo "## --fix"; echo; echo "_failed: see the console output_"; echo; } >>"$SECTIONS"
            FAILED=1
        fi
        ;;
    esac
    if pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null; then BUSY_NOTE="cargo/rustc was running during the benchmark"; fi
done

CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
MEM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo unknown)
{
    echo "# tenantlint benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $NPROC cores ($CPU), $MEM RAM, $(uname -sr)"
    echo "- tree: \`$TREE\` — $TREE_FILES Python files, $TREE_LINES lines"
    if [[ -f $TREE/bench_manifest.json ]]; then
        echo "- generated by bench/gen_project.py: $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("seed %s, %s apps, %s models" % (m["seed"], m["apps"], m["models"]))' "$TREE/bench_manifest.json")"
    fi
    echo "- tenantlint: $TL_VERSION, git $GIT_REV$GIT_DIRTY"
    echo "- ruff: $RUFF_VERSION"
    echo "- hyperfine: $HF_VERSION; $WARMUP warm-up + $RUNS timed runs per command"
    echo "- load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
    if [[ -n $BUSY_NOTE ]]; then
        echo "- **warning: $BUSY_NOTE**"
    fi
    echo
    cat "$SECTIONS"
} >"$WORK/results.md"

cp "$WORK/results.md" "$WORK/results-$(basename "$TREE").md"
log "results written to bench/work/results.md (and results-$(basename "$TREE").md)"
cat "$WORK/results.md"
exit "$FAILED"
}
