#!/usr/bin/env python3
"""Sizes of a trace's .deltas layer files, key frame apart from the rest, as a share of the same frames as .npy.

Frame 0 of a .deltas file holds every non-zero level (it is a change from all-zero), so a short trace's size says
little about a long one's: the share over frames 1.. is what each further frame costs.

    python3 bench/deltas-frame-sizes.py TRACE_DIR [TRACE_DIR ...]

Reads only the record headers (layout: traces/README.md, "Compact layer files"); needs numpy.
"""
import glob
import json
import os
import struct
import sys

import numpy as np


def sizes(trace):
    key = rest = npy_frame = 0
    frames = None
    for path in sorted(glob.glob(os.path.join(trace, "*.deltas"))):
        with open(path, "rb") as f:
            if f.read(8) not in (b"\x93DELTAS\x01", b"\x93DELTAS\x02"):
                sys.exit(f"{path}: not a .deltas file")
            (length,) = struct.unpack("<I", f.read(4))
            head = json.loads(f.read(length))
            shape = head["shape"]
            frames = shape[0]
            npy_frame += int(np.prod(shape[1:])) * np.dtype(head["dtype"]).itemsize
            for t in range(frames):
                record = f.read(8)
                if len(record) < 8:
                    sys.exit(f"{path}: ends inside frame {t}'s record header")
                _, z = struct.unpack("<II", record)
                f.seek(z, 1)
                if t == 0:
                    key += 8 + z
                else:
                    rest += 8 + z
    if frames is None:
        sys.exit(f"{trace}: no .deltas layer files")
    return frames, key, rest, npy_frame


for trace in sys.argv[1:] or sys.exit(__doc__):
    frames, key, rest, npy_frame = sizes(trace)
    later = f"{100 * rest / (npy_frame * (frames - 1)):.1f} %" if frames > 1 else "-"
    print(
        f"{trace}: {frames} frames, {npy_frame / 2**20:.1f} MiB a frame as .npy; "
        f"frame 0 {100 * key / npy_frame:.1f} %, frames 1.. {later}, all {100 * (key + rest) / (npy_frame * frames):.1f} % of .npy"
    )
