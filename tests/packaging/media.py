"""A real access copy beside a take's master, as ``headblock derive`` names it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from metadata.take.naming import TakePaths


def add_access_copy(paths: TakePaths) -> Path:
    """``ITEM_tNN.access.mp4`` (H.264, ten frames) and its ``.md5`` sidecar."""
    import av

    out = paths.file(".access.mp4")
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            f.pts = i
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    digest = hashlib.md5(out.read_bytes()).hexdigest()
    out.with_name(out.name + ".md5").write_text(f"{digest}  {out.name}\n")
    return out
