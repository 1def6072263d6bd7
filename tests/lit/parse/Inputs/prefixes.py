# Writes prefixes of a .weft file (cut at every line end and at every 12th
# token boundary) and runs
# `weftc check --parse-only` on it: the exit status must be 0 or 1, never a
# crash (>= 2, or a signal).
import os
import subprocess
import sys

src, outdir, weftc = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
os.makedirs(outdir, exist_ok=True)
bounds = [i for i in range(len(data)) if data[i:i + 1] in b" \t(){}[],.:;\"+-*/"]
cuts = sorted({i for i in range(len(data)) if data[i:i + 1] == b"\n"}
              | set(bounds[::12]) | {0, len(data)})
path = os.path.join(outdir, "prefix.weft")
bad = 0
for n in cuts:
    with open(path, "wb") as f:
        f.write(data[:n])
    r = subprocess.run(weftc.split() + ["check", "--parse-only", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode not in (0, 1):
        print("prefix of %d bytes: exit status %d" % (n, r.returncode))
        bad += 1
print("%d prefixes, %d bad" % (len(cuts), bad))
sys.exit(1 if bad else 0)
