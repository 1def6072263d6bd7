#!/usr/bin/env python3
"""Checks a Weft execution trace (Chrome/Perfetto trace-event JSON).

usage: check_trace.py TRACE [--name N]... [--parallel A,B]... [--cancelled N]
                            [--comp-inside]

Always: the file parses; it is {"traceEvents": [...], "displayTimeUnit": "ms"};
every event has name, ph, pid 1 and tid; every X span has ts and dur >= 0; the
X spans on one tid nest (no partial overlap); every used tid is named by a
thread_name metadata event.
  --name N          a span named N exists
  --parallel A,B    spans A and B are on different tids and overlap in time
  --cancelled N     span N has status "cancelled" and a "cancel" instant lies
                    on its tid inside it
  --comp-inside     there is a "compensations" span; every span of category
                    "compensation" lies inside one of them, on its tid
  --failed N:KIND   span N has status "failed" and args.kind KIND
Prints "trace ok" (and a line per check) or the first problem (exit 1).
"""
import json
import sys


def fail(msg):
    print("trace check failed: " + msg)
    sys.exit(1)


def main(argv):
    path = argv[1]
    opts = argv[2:]
    with open(path) as fh:
        try:
            doc = json.load(fh)
        except ValueError as e:
            fail("not JSON: %s" % e)
    if not isinstance(doc, dict) or doc.get("displayTimeUnit") != "ms":
        fail("top level is not {traceEvents, displayTimeUnit: ms}")
    evs = doc.get("traceEvents")
    if not isinstance(evs, list) or not evs:
        fail("no traceEvents")
    spans, named_tids, instants = [], set(), []
    for e in evs:
        for k in ("name", "ph", "pid", "tid"):
            if k not in e:
                fail("event without %s: %r" % (k, e))
        if e["pid"] != 1:
            fail("pid is not 1: %r" % e)
        if e["ph"] == "M":
            if e["name"] == "thread_name":
                named_tids.add(e["tid"])
        elif e["ph"] == "X":
            if not isinstance(e.get("ts"), int) or not isinstance(e.get("dur"), int):
                fail("span without integer ts/dur: %r" % e)
            if e["dur"] < 0 or e["ts"] < 0:
                fail("negative time: %r" % e)
            spans.append(e)
        elif e["ph"] == "i":
            instants.append(e)
        else:
            fail("unexpected phase: %r" % e)
    # nesting per tid
    by_tid = {}
    for s in spans:
        by_tid.setdefault(s["tid"], []).append(s)
    for tid, ss in by_tid.items():
        if tid not in named_tids:
            fail("tid %s has no thread_name" % tid)
        for a in ss:
            for b in ss:
                a0, a1, b0, b1 = a["ts"], a["ts"] + a["dur"], b["ts"], b["ts"] + b["dur"]
                if a0 < b0 < a1 < b1:
                    fail("partial overlap on tid %s: %s [%d,%d] and %s [%d,%d]" % (
                        tid, a["name"], a0, a1, b["name"], b0, b1))

    def find(name):
        r = [s for s in spans if s["name"] == name]
        if not r:
            fail("no span named %r" % name)
        return r

    def inside(a, b):  # a inside b
        return b["ts"] <= a["ts"] and a["ts"] + a["dur"] <= b["ts"] + b["dur"]

    i = 0
    while i < len(opts):
        o = opts[i]
        if o == "--name":
            find(opts[i + 1])
            print("span %s" % opts[i + 1])
            i += 2
        elif o == "--parallel":
            a, b = opts[i + 1].split(",")
            ok = False
            for x in find(a):
                for y in find(b):
                    if x["tid"] != y["tid"] and x["ts"] < y["ts"] + y["dur"] and y["ts"] < x["ts"] + x["dur"]:
                        ok = True
            if not ok:
                fail("%s and %s are not on different tids overlapping in time" % (a, b))
            print("parallel %s %s" % (a, b))
            i += 2
        elif o == "--cancelled":
            n = opts[i + 1]
            ok = False
            for s in find(n):
                if s.get("args", {}).get("status") != "cancelled":
                    continue
                for c in instants:
                    if c["name"] == "cancel" and c["tid"] == s["tid"] and s["ts"] <= c["ts"] <= s["ts"] + s["dur"]:
                        ok = True
            if not ok:
                fail("no cancelled span %s with a cancel instant inside" % n)
            print("cancelled %s" % n)
            i += 2
        elif o == "--failed":
            n, kind = opts[i + 1].split(":")
            if not any(s.get("args", {}).get("status") == "failed" and s["args"].get("kind") == kind
                       and "message" in s["args"] for s in find(n)):
                fail("no failed span %s of kind %s" % (n, kind))
            print("failed %s %s" % (n, kind))
            i += 2
        elif o == "--comp-inside":
            runs = find("compensations")
            comps = [s for s in spans if s.get("cat") == "compensation" and s["name"] != "compensations"]
            if not comps:
                fail("no compensation spans")
            for c in comps:
                if not any(r["tid"] == c["tid"] and inside(c, r) for r in runs):
                    fail("compensation %s [%d,+%d] outside every compensations span" % (c["name"], c["ts"], c["dur"]))
            print("compensations %d inside %d" % (len(comps), len(runs)))
            i += 1
        else:
            fail("unknown option " + o)
    print("trace ok: %d spans, %d tids" % (len(spans), len(by_tid)))


if __name__ == "__main__":
    main(sys.argv)
