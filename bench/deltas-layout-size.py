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
Context-modelled estimate (frames 2.. only: it needs the frame before's changes): the same two parts with each
element's bits coded under a context, as an adaptive arithmetic coder with these contexts would approach: whether it
changes, given whether it changed the frame before and whether its neighbours changed (the previous channel of its
pixel, the pixel to its left and the one above, same channel: 16 contexts); and its difference, given the size of its
old level (5 classes), how many of those three neighbours changed (4) and whether it changed the frame before (2).
Each context's table is its own frame's and layer's (as in the order-0 floor): an estimate of what modelling these
neighbours can buy, not a coder.
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
def cond_entropy_bits(ctx, sym):
    """Σ over contexts of n_ctx · H(sym | ctx): the bits of coding sym with one frequency table per context."""
    if len(sym) == 0:
        return 0.0
    order = np.lexsort((sym, ctx))
    c, s_ = ctx[order], sym[order]
    new = np.concatenate([[True], (c[1:] != c[:-1]) | (s_[1:] != s_[:-1])])
    starts = np.flatnonzero(new)
    counts = np.diff(np.concatenate([starts, [len(s_)]])).astype(np.float64)
    cid = c[starts]
    totals = np.zeros(int(cid.max()) + 1)
    np.add.at(totals, cid, counts)
    return float(-(counts * np.log2(counts / totals[cid])).sum())


def neighbours(m):
    """How many of an element's previous channel, left pixel and upper pixel (same channel) are set, each 0/1 apart."""
    ch = np.zeros_like(m)
    ch[:, :, 1:] = m[:, :, :-1]
    left = np.zeros_like(m)
    left[:, 1:, :] = m[:, :-1, :]
    up = np.zeros_like(m)
    up[1:, :, :] = m[:-1, :, :]
    return ch, left, up


def level_class(v):
    a = np.abs(v.astype(np.int64))
    return np.minimum(np.ceil(np.log2(a + 1)).astype(np.int64), 4)  # 0, 1, 2–3, 4–7, 8+


T = dict(npy=0, v1=0, v1z6=0, v2=0, bitmask=0, floor=0.0, npy2=0, floor2=0.0, ctx=0.0)
changed = elements = 0
for f in files:
    a = np.load(os.path.join(d, f), mmap_mode="r")
    unsigned = np.dtype(f"<u{a.dtype.itemsize}")
    shape = a.shape[1:] if a.ndim == 4 else (1, 1, int(np.prod(a.shape[1:])))
    prev = np.ascontiguousarray(a[0]).ravel().view(unsigned)
    prev_mask = None
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
        if prev_mask is not None:
            floor = 0.0
            if 0 < n:
                p = n / N
                mask_bits = 0.0 if n == N else N * (-p * np.log2(p) - (1 - p) * np.log2(1 - p))
                floor = (mask_bits + n * entropy(np.unique(diff, return_counts=True)[1])) / 8
            m3 = mask.reshape(shape)
            ch, left, up = neighbours(m3)
            pm = prev_mask.reshape(-1).astype(np.int64)
            ctx_mask = pm * 8 + (ch.reshape(-1) * 4 + left.reshape(-1) * 2 + up.reshape(-1)).astype(np.int64)
            bits = cond_entropy_bits(ctx_mask, mask.astype(np.int64))
            if 0 < n:
                near = (ch.reshape(-1).astype(np.int64) + left.reshape(-1) + up.reshape(-1))[idx]
                old = prev.view(a.dtype)[idx] if a.dtype.kind != "f" else np.zeros(n)
                ctx_d = (level_class(old) * 4 + near) * 2 + pm[idx]
                bits += cond_entropy_bits(ctx_d, diff.astype(np.int64))
            T["npy2"] += N * a.dtype.itemsize
            T["floor2"] += floor
            T["ctx"] += bits / 8
        prev_mask = mask
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
if T["npy2"] > 0:
    print(
        f"  frames 2..{a.shape[0] - 1}: order-0 floor {100 * T['floor2'] / T['npy2']:.1f} %; "
        f"context-modelled estimate {100 * T['ctx'] / T['npy2']:.1f} %"
    )
