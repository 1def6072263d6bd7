#!/usr/bin/env bash
# Installs what is missing, then builds and tests Weft in two configurations:
#   build/       the normal (debugoptimized) build
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (leaks checked)
# In each: the runtime's C unit tests (cmocka, through `meson test`) and the
# lit end-to-end suite (tests/lit); in the normal build also the benchmark
# suite's quick mode (`bench/run --quick`: small sizes, checks every Weft
# result, one test per scenario, never asserts a time). Prints a summary per suite and ends with
# one line "N passed, N failed" for everything; exits non-zero on any
# failure, and when nothing ran.
#
#   ./scripts/test.sh                # both configurations
#   WEFT_CONFIGS=build ./scripts/test.sh   # only the normal one
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$WEFT_ROOT"

weft_install_deps

CONFIGS=${WEFT_CONFIGS:-"build build-asan"}
TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()

# record DIR SUITE PASSED FAILED [SKIPPED]
record() {
  local line
  line=$(printf '%-11s %-20s %5d passed, %d failed' "$1" "$2" "$3" "$4")
  if [ "${5:-0}" -gt 0 ]; then line+=", $5 skipped"; fi
  SUMMARY+=("$line")
  TOTAL_PASS=$((TOTAL_PASS + $3))
  TOTAL_FAIL=$((TOTAL_FAIL + $4))
}

# tally DIR SUITE KIND SOURCE WHAT: records the counts count_results.py reads
# from SOURCE (KIND: meson, lit or bench); nothing counted, or nothing
# readable, is a failure ("no WHAT ran").
tally() {
  local p f s
  if read -r p f s < <(python3 scripts/count_results.py "$3" "$4"); then
    if [ $((p + f)) -eq 0 ]; then
      echo "no $5 ran" >&2
      f=1
    fi
    record "$1" "$2" "$p" "$f" "$s"
  else
    record "$1" "$2" 0 1
  fi
}

# lit's per-test timeout needs psutil: Debian's python3-psutil lives under
# /usr/bin/python3, which is not always the python3 first on PATH (pyenv).
LIT_PY=python3
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import psutil' >/dev/null 2>&1; then LIT_PY=$py; break; fi
done
lit_timeout=()
if "$LIT_PY" -c 'import psutil' >/dev/null 2>&1; then lit_timeout=(--timeout=300); fi

for dir in $CONFIGS; do
  opts=()
  if [ "$dir" = build-asan ]; then
    opts=(-Db_sanitize=address,undefined -Db_lundef=false)
    export ASAN_OPTIONS=detect_leaks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  else
    unset ASAN_OPTIONS UBSAN_OPTIONS
  fi

  if ! weft_configure "$dir" "${opts[@]}"; then
    record "$dir" "configure" 0 1
    continue
  fi
  if ! weft_build "$dir"; then
    record "$dir" "build" 0 1   # go on: run what did build
  fi

  weft_say "$dir: runtime unit tests (meson test)"
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --no-rebuild --no-suite lit --print-errorlogs
  tally "$dir" "runtime (cmocka)" meson "$dir" "runtime unit test"

  weft_say "$dir: lit suite (tests/lit)"
  results="$WEFT_ROOT/$dir/tests/lit/results.json"
  rm -f "$results"
  PATH="$WEFT_LLVM_BIN:$PATH" "$LIT_PY" "$WEFT_LIT" -sv -j "$JOBS" "${lit_timeout[@]}" \
    -o "$results" "$dir/tests/lit"
  tally "$dir" "lit" lit "$results" "lit test"

  # The bench's quick mode keeps bench/ from rotting. Not under the
  # sanitizers: it measures, and the lit suite already checks correctness there.
  if [ "$dir" != build-asan ]; then
    weft_say "$dir: benchmark suite, quick mode (bench/run --quick)"
    bench_json="$WEFT_ROOT/$dir/bench-quick.json"
    rm -f "$bench_json"
    bench/run --quick --build "$dir" --json "$bench_json"
    tally "$dir" "bench-quick" bench "$bench_json" "bench scenario"
  fi
done
unset ASAN_OPTIONS UBSAN_OPTIONS

weft_say "summary"
for line in "${SUMMARY[@]}"; do echo "$line"; done
if [ $((TOTAL_PASS + TOTAL_FAIL)) -eq 0 ]; then
  TOTAL_FAIL=1 # nothing ran: never a success
fi
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
