#!/usr/bin/env python3
"""Counts test results for scripts/test.sh.

  count_results.py meson BUILD_DIR   # BUILD_DIR/meson-logs/testlog.json
  count_results.py lit RESULTS.json  # lit -o RESULTS.json
  count_results.py bench RESULTS.json  # bench/run --quick --json RESULTS.json

Prints "PASSED FAILED SKIPPED" on stdout, names of failures on stderr.
cmocka executables are counted per test case (from their output: the
standard "[  PASSED  ] N test(s)." lines, or TAP), other executables as one
test each. A test executable that fails without naming a failed case (a
crash, a sanitizer report at exit) counts as one more failure.
The bench counts one test per scenario: it passes when the Weft program(s)
and the C floor built, ran and gave the right result (peers only warn; a
skipped peer is fine). Times are never asserted.
"""
import json
import os
import re
import sys

LIT_PASS = {"PASS", "XFAIL", "FLAKYPASS"}
LIT_SKIP = {"UNSUPPORTED", "SKIPPED", "EXCLUDED"}


def load_json(path, who):
    """The JSON document at path, or None (reported) when there is none."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print("  %s wrote no results (%s)" % (who, e), file=sys.stderr)
        return None


def count_lit(path):
    data = load_json(path, "lit")
    if data is None:
        return 0, 1, 0
    p = fl = s = 0
    for t in data.get("tests", []):
        code = t.get("code", "")
        if code in LIT_PASS:
            p += 1
        elif code in LIT_SKIP:
            s += 1
        else:
            fl += 1
            print("  %s: %s" % (code, t.get("name")), file=sys.stderr)
    return p, fl, s


CM_RUN = re.compile(r"^\[==========\] Running (\d+) test\(s\)", re.M)
CM_OK = re.compile(r"^\[       OK \] ", re.M)
CM_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)", re.M)
CM_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)", re.M)
CM_FAILED_NAME = re.compile(r"^\[  FAILED  \] (?!\d+ test\(s\))\S", re.M)
CM_SKIPPED = re.compile(r"^\[  SKIPPED \] (\d+) test\(s\)", re.M)
TAP_OK = re.compile(r"^ok \d+", re.M)
TAP_NOT_OK = re.compile(r"^not ok \d+", re.M)
TAP_SKIP = re.compile(r"^ok \d+.*# ?(SKIP|skip)", re.M)


def count_exe(t):
    out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
    result = t.get("result", "")
    ok_exit = result in ("OK", "EXPECTEDFAIL")
    name = t.get("name", "?")
    if result == "SKIP":
        return 0, 0, 1
    if CM_RUN.search(out):
        passed = sum(int(n) for n in CM_PASSED.findall(out))
        failed = sum(int(n) for n in CM_FAILED.findall(out))
        skipped = sum(int(n) for n in CM_SKIPPED.findall(out))
        if not CM_PASSED.search(out) and not CM_FAILED.search(out):
            # died part way through: count the cases that reported
            passed = len(CM_OK.findall(out))
            failed = len(CM_FAILED_NAME.findall(out))
        if not ok_exit and failed == 0:
            failed = 1
        if failed:
            print("  %s: %d failed test case(s) (%s)" % (name, failed, result), file=sys.stderr)
        return passed, failed, skipped
    if TAP_OK.search(out) or TAP_NOT_OK.search(out):
        skipped = len(TAP_SKIP.findall(out))
        passed = len(TAP_OK.findall(out)) - skipped
        failed = len(TAP_NOT_OK.findall(out))
        if not ok_exit and failed == 0:
            failed = 1
        if failed:
            print("  %s: %d failed (%s)" % (name, failed, result), file=sys.stderr)
        return passed, failed, skipped
    if ok_exit:
        return 1, 0, 0
    print("  %s: %s" % (name, result), file=sys.stderr)
    return 0, 1, 0


def count_meson(build):
    path = os.path.join(build, "meson-logs", "testlog.json")
    p = fl = s = 0
    try:
        with open(path) as f:
            lines = [l for l in f if l.strip()]
    except OSError as e:
        print("  no meson test log (%s)" % e, file=sys.stderr)
        return 0, 1, 0
    for line in lines:
        try:
            t = json.loads(line)
        except ValueError:
            continue
        a, b, c = count_exe(t)
        p, fl, s = p + a, fl + b, s + c
    return p, fl, s


def count_bench(path):
    data = load_json(path, "bench")
    if data is None:
        return 0, 1, 0
    p = fl = 0
    scenarios = data.get("scenarios", {})
    for name, sc in scenarios.items():
        bad = []
        rows = sc.get("rows", [])
        if not any(r.get("impl") == "weft" for r in rows):
            bad.append("no Weft result")
        for r in rows:
            if r.get("status") == "failed":
                msg = "%s: %s" % (r.get("label", r.get("impl")), r.get("error"))
                if r.get("impl") in ("weft", "c-floor"):
                    bad.append(msg)
                else:
                    print("  bench %s: peer %s (not counted)" % (name, msg), file=sys.stderr)
        if bad:
            fl += 1
            print("  bench %s: %s" % (name, "; ".join(bad)), file=sys.stderr)
        else:
            p += 1
    if not scenarios:
        fl += 1
    return p, fl, 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("lit", "meson", "bench"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "bench":
        r = count_bench(sys.argv[2])
    elif sys.argv[1] == "lit":
        r = count_lit(sys.argv[2])
    else:
        r = count_meson(sys.argv[2])
    print("%d %d %d" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
