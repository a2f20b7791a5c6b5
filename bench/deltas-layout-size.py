"""
Sizes of lossless per-frame layouts of a trace's levels against its .npy files, over the frames after the first
(what each further frame costs; frame 0 is a key frame), and the floor under any layout that codes each element on
its own. A measurement for the compact-trace format (issue 16 item 3), not part of deltasim:

    deltasim trace --graph human:centernet --video vtest.avi --threshold 0.05 --frames 8 --encoding npy --out DIR
    python3 bench/deltas-layout-size.py DIR

Layouts, each DEFLATE level 1 (the writer's) unless said:
  - version 1: LEB128 gaps between changed positions + the changed elements' NEW levels (also at zlib level 6);
  - version 2 (what traces/deltas.ts writes): the same gaps + each change new − old modulo 2^bits;
  - bitmask: one bit per element (changed or not) + the same differences, deflated apart.
Order-0 floor: per frame and layer, N·H(p) bits for which of the N elements changed (p = the changed fraction) plus
n·H(d) bits for the n differences (H of their frequency table). A coder that sees each element apart from its
neighbours needs at least this; only one that models neighbours (in space, channel or time) can go below it.
Needs numpy. Each layer file is counted once (layers reading one tensor share one).
"""
import json
import os
import sys
import zlib

import numpy as np


def leb(g):
    g = g.astype(np.uint64)
    n = np.ones(len(g), np.int64)
    for k in range(1, 5):
        n += (g >= (1 << (7 * k))).astype(np.int64)
    out = np.zeros(int(n.sum()), np.uint8)
    pos = np.concatenate([[0], np.cumsum(n)[:-1]])
    for k in range(5):
        sel = n > k
        b = ((g[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        out[pos[sel] + k] = b | ((n[sel] > k + 1).astype(np.uint8) << 7)
    return out.tobytes()


def entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


d = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
m = json.load(open(os.path.join(d, "manifest.json")))
files = sorted({layer["act"]["file"] for layer in m["layers"]})
T = dict(npy=0, v1=0, v1z6=0, v2=0, bitmask=0, floor=0.0)
changed = elements = 0
for f in files:
    a = np.load(os.path.join(d, f), mmap_mode="r")
    unsigned = np.dtype(f"<u{a.dtype.itemsize}")
    prev = np.ascontiguousarray(a[0]).ravel().view(unsigned)
    for t in range(1, a.shape[0]):
        cur = np.ascontiguousarray(a[t]).ravel().view(unsigned)
        mask = cur != prev
        idx = np.flatnonzero(mask)
        n, N = len(idx), mask.size
        gaps = leb(np.diff(np.concatenate([[-1], idx])) - 1)
        diff = (cur[idx] - prev[idx]).astype(unsigned)  # new − old modulo 2^bits, as version 2 stores it
        T["npy"] += N * a.dtype.itemsize
        T["v1"] += len(zlib.compress(gaps + cur[idx].tobytes(), 1))
        T["v1z6"] += len(zlib.compress(gaps + cur[idx].tobytes(), 6))
        T["v2"] += len(zlib.compress(gaps + diff.tobytes(), 1))
        T["bitmask"] += len(zlib.compress(np.packbits(mask).tobytes(), 1)) + len(zlib.compress(diff.tobytes(), 1))
        if 0 < n:
            p = n / N
            mask_bits = 0.0 if n == N else N * (-p * np.log2(p) - (1 - p) * np.log2(1 - p))
            T["floor"] += (mask_bits + n * entropy(np.unique(diff, return_counts=True)[1])) / 8
        changed += n
        elements += N
        prev = cur
n = T["npy"]
if n == 0:
    sys.exit(f"{d}: one frame only: nothing after the key frame")
pct = lambda k: f"{100 * T[k] / n:.1f} %"
print(
    f"{d}: {len(files)} layer files, frames 1..{a.shape[0] - 1}: {n / 2**20:.1f} MiB as .npy, {100 * changed / elements:.1f} % of levels change a frame\n"
    f"  version 1 (new levels): {pct('v1')} (zlib 6: {pct('v1z6')}); version 2 (differences): {pct('v2')}; "
    f"bitmask + differences: {pct('bitmask')}; order-0 floor: {pct('floor')}"
)
