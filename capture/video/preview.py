"""The newest frame of a video take as native Y/U/V planes, for the window's picture and scopes."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from metadata.formats.pixfmt import pixel_format


@dataclass
class PreviewPlanes:
    """The newest frame's native planes (no RGB conversion) for preview and scopes."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    bit_depth: int
    width: int
    height: int
    pts_s: float
    pix_fmt: str = ""


def plane_array(plane, dtype, width: int, height: int) -> np.ndarray:
    """A copy of one plane's ``width`` x ``height`` samples, the line padding cut off."""
    itemsize = np.dtype(dtype).itemsize
    arr = np.frombuffer(plane, dtype=dtype).reshape(-1, plane.line_size // itemsize)
    return arr[:height, :width].copy()


def preview_of(frame: av.VideoFrame, pts_s: float) -> PreviewPlanes:
    """Native Y/U/V planes of a frame (planar YUV kept as is; packed 4:2:2 unpacked)."""
    pix = pixel_format(frame.format.name)
    if not (pix.planar_yuv and len(frame.planes) == 3):
        # packed, semi-planar, RGB or with alpha: 8-bit or 10-bit 4:2:2 for the display
        frame = frame.reformat(format="yuv422p" if pix.bit_depth <= 8 else "yuv422p10le")
        pix = pixel_format(frame.format.name)
    planes = [plane_array(p, pix.sample_dtype, p.width, p.height) for p in frame.planes]
    return PreviewPlanes(
        y=planes[0], u=planes[1], v=planes[2], bit_depth=pix.bit_depth,
        width=frame.width, height=frame.height, pts_s=pts_s, pix_fmt=pix.name,
    )  # fmt: skip
