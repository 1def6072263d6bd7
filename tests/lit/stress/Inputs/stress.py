#!/usr/bin/env python3
"""Randomized structured-concurrency stress test (seeded, reproducible).

Generates Weft programs made of random trees of sequential / all / race /
deadline (`yield child() timeout D`) nodes over leaves that sleep (virtual
time) and sometimes fail, compiles and runs
them, and checks from their output that:
  1. every node that started ran its finally exactly once, after starting;
  2. a compensation ran at most once, and only for a node that started;
  3. a node whose own scope failed or was cancelled ran its compensation
     exactly once;
  4. no compensation ran for a node whose whole path to the root succeeded
     (counting a race branch that lost as not successful);
  5. the program exits 0 (the root catches), leaks nothing (WEFT_CHECK_LEAKS)
     and prints the same output on a second run (determinism).
Usage: stress.py --weftc PATH [--seed N] [--programs N] [--trees N]
"""
import argparse, os, random, subprocess, sys, tempfile


class Node:
    def __init__(self, k, kind, children, dur=0, fails=False):
        self.k, self.kind, self.children, self.dur, self.fails = k, kind, children, dur, fails
        self.parent = None


def gen_tree(rng, counter, depth):
    k = counter[0]
    counter[0] += 1
    if depth == 0 or rng.random() < 0.3:
        return Node(k, "leaf", [], dur=rng.randint(1, 50), fails=rng.random() < 0.15)
    kind = rng.choice(["seq", "all", "race", "deadline"])
    nkids = 1 if kind == "deadline" else rng.randint(1, 3)
    kids = [gen_tree(rng, counter, depth - 1) for _ in range(nkids)]
    n = Node(k, kind, kids, dur=rng.randint(1, 80) if kind == "deadline" else 0)
    for c in kids:
        c.parent = n
    return n


def walk(n):
    yield n
    for c in n.children:
        yield from walk(c)


def emit_node(n, out):
    body = []
    if n.kind == "leaf":
        body.append("yield sleep(%dms)" % n.dur)
        if n.fails:
            body.append('fail Boom("leaf %d")' % n.k)
    elif n.kind == "seq":
        body += ["yield n%d()" % c.k for c in n.children]
    elif n.kind == "deadline":
        body.append("let r = yield n%d() timeout %dms" % (n.children[0].k, n.dur))
    elif n.kind == "all":
        body.append("let r = yield all { %s }" % ", ".join("n%d()" % c.k for c in n.children))
    else:
        br = ", ".join("{ yield n%d(); %d }" % (c.k, i) for i, c in enumerate(n.children))
        body.append("let w = yield race { %s }" % br)
        body.append('print("W %d " + str(w))' % n.k)
    out.append("workflow n%d() -> int {" % n.k)
    out.append("    let m = yield mark(%d) compensate undo(%d)" % (n.k, n.k))
    out.append("    try {")
    out += ["        " + b for b in body]
    if not (n.kind == "leaf" and n.fails):
        out.append('        print("OK %d")' % n.k)
    out.append("    } finally {")
    out.append('        print("F %d")' % n.k)
    out.append("    }")
    out.append("    return %d" % n.k)
    out.append("}")


def gen_program(rng, ntrees):
    counter = [0]
    roots = [gen_tree(rng, counter, rng.randint(1, 4)) for _ in range(ntrees)]
    out = ["error Boom",
           'workflow mark(k: int) -> int { print("S " + str(k)); return k }',
           'workflow undo(k: int) { print("U " + str(k)) }']
    for r in roots:
        for n in walk(r):
            emit_node(n, out)
    out.append("workflow main() {")
    for r in roots:
        out.append('    try { yield n%d(); print("ROOT OK %d") } catch e { print("ROOT FAIL %d " + e.kind) }'
                   % (r.k, r.k, r.k))
    out.append("}")
    return roots, "\n".join(out) + "\n"


def check(roots, lines, where):
    errs = []
    pos = {}
    seen = {"S": {}, "F": {}, "U": {}, "OK": {}}
    winner = {}
    for i, ln in enumerate(lines):
        parts = ln.split()
        if not parts:
            continue
        if parts[0] in seen:
            k = int(parts[1])
            seen[parts[0]].setdefault(k, []).append(i)
        elif parts[0] == "W":
            winner[int(parts[1])] = int(parts[2])
    nodes = {n.k: n for r in roots for n in walk(r)}
    for k, n in nodes.items():
        s, f, u, ok = (seen[x].get(k, []) for x in ("S", "F", "U", "OK"))
        if len(s) > 1:
            errs.append("node %d started %d times" % (k, len(s)))
        if not s:
            if f or u or ok:
                errs.append("node %d never started but printed F/U/OK" % k)
            continue
        if len(f) != 1:
            errs.append("node %d: finally ran %d times" % (k, len(f)))
        elif f[0] < s[0]:
            errs.append("node %d: finally before start" % k)
        if len(u) > 1:
            errs.append("node %d: compensation ran %d times" % (k, len(u)))
        if not ok and len(u) != 1:
            errs.append("node %d failed or was cancelled but its compensation ran %d times" % (k, len(u)))
        # a fully successful path: this node and every ancestor OK, and every
        # race on the way won through this branch
        good, c, p = bool(ok), n, n.parent
        while good and p is not None:
            if not seen["OK"].get(p.k):
                good = False
            if p.kind == "race" and winner.get(p.k) != p.children.index(c):
                good = False
            c, p = p, p.parent
        if good and u:
            errs.append("node %d: compensation ran on a successful path" % k)
    return ["%s: %s" % (where, e) for e in errs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weftc", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--programs", type=int, default=10)
    ap.add_argument("--trees", type=int, default=40)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 31)
    print("stress: seed %d (rerun with --seed %d)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    env = dict(os.environ, WEFT_VIRTUAL_TIME="1", WEFT_CHECK_LEAKS="1")
    errors, ntrees, nnodes = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for p in range(a.programs):
            roots, src = gen_program(rng, a.trees)
            ntrees += len(roots)
            nnodes += sum(1 for r in roots for _ in walk(r))
            path = os.path.join(tmp, "p%d.weft" % p)
            exe = os.path.join(tmp, "p%d" % p)
            open(path, "w").write(src)
            c = subprocess.run([a.weftc, path, "-o", exe], capture_output=True, text=True)
            if c.returncode != 0:
                errors.append("program %d does not compile:\n%s" % (p, c.stderr[-2000:]))
                continue
            runs = [subprocess.run([exe], capture_output=True, text=True, env=env, timeout=120) for _ in range(2)]
            for r in runs:
                if r.returncode != 0:
                    errors.append("program %d exited %d: %s" % (p, r.returncode, r.stderr[-1000:]))
            if runs[0].stdout != runs[1].stdout:
                errors.append("program %d: output differs between two runs (nondeterminism)" % p)
            errors += check(roots, runs[0].stdout.splitlines(), "program %d" % p)
            if errors:
                keep = os.path.join(os.environ.get("TMPDIR", "/tmp"), "weft-stress-%d-%d.weft" % (seed, p))
                open(keep, "w").write(src)
                errors.append("program kept as %s" % keep)
                break
    for e in errors[:30]:
        print("stress: FAIL " + e)
    print("stress: %d trees, %d nodes, %d errors" % (ntrees, nnodes, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
