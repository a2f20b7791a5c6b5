"""
Sizes of two lossless per-frame layouts of a trace's levels, against its .npy files: the .deltas layout
(LEB128 gaps between changed positions + the changed elements' NEW levels, DEFLATE per record) and the same
with each changed element's level DIFFERENCE instead (smaller numbers, better compressed). A measurement
for the compact-trace format (issue 16 item 3), not part of deltasim:

    deltasim trace --graph human:centernet --video vtest.avi --threshold 0.05 --frames 8 --encoding npy --out DIR
    python3 bench/deltas-layout-size.py DIR

Needs numpy. Each layer file is counted (layers reading one tensor each have one).
"""
import numpy as np, zlib, json, os
import sys
d=sys.argv[1]; m=json.load(open(d+'/manifest.json'))
files=sorted({L['act']['file'] for L in m['layers']})
def leb(g):
    g=g.astype(np.uint64); n=np.ones(len(g),np.int64)
    for k in range(1,5): n+= (g >= (1<<(7*k))).astype(np.int64)
    out=np.zeros(int(n.sum()),np.uint8); pos=np.concatenate([[0],np.cumsum(n)[:-1]])
    for k in range(5):
        sel=n>k
        b=((g[sel]>>np.uint64(7*k))&np.uint64(0x7f)).astype(np.uint8)
        more=(n[sel]>k+1)
        out[pos[sel]+k]=b|(more.astype(np.uint8)<<7)
    return out.tobytes()
T=dict(npy=0,a1=0,d1=0,a6=0,d6=0)
for f in files:
    a=np.load(os.path.join(d,f)); T['npy']+=os.path.getsize(os.path.join(d,f))
    prev=np.zeros(a[0].size,a.dtype)
    for t in range(a.shape[0]):
        cur=a[t].ravel(); idx=np.nonzero(cur!=prev)[0]
        g=leb(np.diff(np.concatenate([[-1],idx]))-1)
        vals=cur[idx].tobytes()
        dv=cur[idx].astype(np.int32)-prev[idx].astype(np.int32)
        dt=np.int8 if (dv.size==0 or (dv.min()>=-128 and dv.max()<=127)) else np.int16
        dvals=dv.astype(dt).tobytes()
        T['a1']+=len(zlib.compress(g+vals,1)); T['d1']+=len(zlib.compress(g+dvals,1))
        T['a6']+=len(zlib.compress(g+vals,6)); T['d6']+=len(zlib.compress(g+dvals,6))
        prev=cur
n=T['npy']
print(f"{len(files)} layer files, npy {n/2**20:.1f} MiB; new levels: zlib1 {T['a1']/n*100:.1f} %, zlib6 {T['a6']/n*100:.1f} %; level differences: zlib1 {T['d1']/n*100:.1f} %, zlib6 {T['d6']/n*100:.1f} %")
