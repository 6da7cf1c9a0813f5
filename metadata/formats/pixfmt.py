"""Facts of an FFmpeg pixel format: bit depth, chroma subsampling, and the planar YUV format
a picture of it is measured or shown in. The one place these are derived from a format name."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import av
import numpy as np

from metadata.errors import HeadblockError

_SUBSAMPLING = {(0, 0): "4:4:4", (1, 0): "4:2:2", (1, 1): "4:2:0", (2, 0): "4:1:1", (2, 2): "4:1:0"}


@dataclass(frozen=True)
class PixelFormat:
    name: str
    bit_depth: int
    chroma_shift: tuple[int, int]  # log2 of the horizontal and vertical chroma subsampling
    planar_yuv: bool  # three planes of Y, U, V at the full component depth

    @property
    def chroma_subsampling(self) -> str:
        """``4:2:2`` and the like; empty for formats without chroma planes (grey, RGB)."""
        return _SUBSAMPLING.get(self.chroma_shift, "") if self.has_chroma else ""

    @property
    def has_chroma(self) -> bool:
        return self._components >= 3 and not self._rgb

    @property
    def sample_dtype(self) -> type[np.unsignedinteger]:
        return np.uint8 if self.bit_depth <= 8 else np.uint16

    @property
    def planar_equivalent(self) -> str:
        """The planar YUV format of the same depth and subsampling (grey and RGB: 4:4:4)."""
        if self.planar_yuv:
            return self.name
        chroma = {(1, 0): "422", (1, 1): "420", (2, 0): "411", (2, 2): "410"}.get(
            self.chroma_shift if self.has_chroma else (0, 0), "444"
        )
        depth = self.bit_depth
        if depth <= 8:
            return f"yuv{chroma}p"
        depth = min(d for d in (9, 10, 12, 14, 16) if d >= depth)
        return f"yuv{chroma}p{depth}le"

    _components: int = 3
    _rgb: bool = False


@lru_cache(maxsize=64)
def pixel_format(name: str) -> PixelFormat:
    """The facts of ``name`` (e.g. ``yuv422p10le``, ``uyvy422``); unknown names are refused."""
    try:
        fmt = av.VideoFormat(name, 64, 64)  # component sizes need a picture size
    except (ValueError, av.error.FFmpegError) as exc:
        raise HeadblockError(f"unknown pixel format {name!r}") from exc
    comps = fmt.components
    depth = max(c.bits for c in comps)
    if len(comps) >= 3 and not fmt.is_rgb:
        y, u = comps[0], comps[1]
        shift = (_log2_ratio(y.width, u.width), _log2_ratio(y.height, u.height))
    else:
        shift = (0, 0)
    planar_yuv = len(comps) >= 3 and not fmt.is_rgb and len({c.plane for c in comps[:3]}) == 3
    return PixelFormat(fmt.name, depth, shift, planar_yuv, len(comps), bool(fmt.is_rgb))


def _log2_ratio(full: int, sub: int) -> int:
    ratio = max(full, 1) // max(sub, 1)
    return max(ratio.bit_length() - 1, 0)
