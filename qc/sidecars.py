"""The review sidecars QC writes beside a master, read back for the report and the window:
``ITEM_tNN.envelope.npz`` (per-10 ms levels) and ``ITEM_tNN.vstats.npz`` (per-frame video
statistics), and the decoded frame at a time (thumbnails, the review timeline)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metadata.files import atomic_path
from metadata.take.naming import TakePaths

log = logging.getLogger(__name__)


@dataclass
class Envelope:
    """Per-block levels: ``peak_dbfs``/``rms_dbfs`` shaped (blocks, channels)."""

    block_s: float
    peak_dbfs: np.ndarray
    rms_dbfs: np.ndarray
    extra: dict = field(default_factory=dict)
    offset_s: float = 0.0  # time of the first block in the file (embedded audio may start late)

    @property
    def channels(self) -> int:
        return self.peak_dbfs.shape[1]

    def times_s(self) -> np.ndarray:
        return self.offset_s + np.arange(self.peak_dbfs.shape[0]) * self.block_s


@dataclass
class VStats:
    """Per-frame video statistics by upper-case name (YMIN … BRNG, SATMAX, TOUT, VREP)."""

    times_s: np.ndarray
    series: dict[str, np.ndarray]
    bit_depth: int = 8


def write_envelope(path: Path, envelope: dict) -> Path:
    """The per-10 ms peak/RMS envelope (float16 dBFS, compressed), written atomically."""
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **envelope)
    return path


def read_envelope_arrays(path: Path) -> dict:
    """The arrays of an envelope sidecar, by name."""
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _read_sidecar(path: Path, reader):
    """``reader(path)``, or None when the sidecar is missing or unreadable (logged)."""
    if not path.exists():
        return None
    try:
        return reader(path)
    except Exception as exc:
        log.warning("cannot read %s: %s", path.name, exc)
        return None


def read_envelope(paths: TakePaths) -> Envelope | None:
    """The take's ``.envelope.npz``, or None."""
    arrays = _read_sidecar(paths.file(".envelope.npz"), read_envelope_arrays)
    if arrays is None:
        return None
    peak = np.asarray(arrays.pop("peak_dbfs"), dtype=np.float64)
    rms = np.asarray(arrays.pop("rms_dbfs"), dtype=np.float64)
    offset_s = float(arrays.get("offset_s", 0.0))
    return Envelope(float(arrays["block_s"]), peak, rms, arrays, offset_s)


def read_vstats(paths: TakePaths) -> VStats | None:
    """The take's ``.vstats.npz`` (``qc.video_stats.write_vstats``), or None."""
    from qc.video_stats import FIELDS
    from qc.video_stats import read_vstats as read_arrays

    arrays = _read_sidecar(paths.file(".vstats.npz"), read_arrays)
    if arrays is None:
        return None
    series = {name: np.asarray(arrays[name], dtype=np.float64) for name in FIELDS if name in arrays}
    bits = arrays["meta"].get("bit_depth") or 8
    return VStats(np.asarray(arrays["pts_s"], dtype=np.float64), series, int(bits))


def frame_at(container, stream, t_s: float):
    """The decoded frame shown at ``t_s`` (seek to the keyframe before, then decode on)."""
    tb = stream.time_base
    target = int(t_s / tb) if tb else 0
    container.seek(max(target, 0), stream=stream, backward=True, any_frame=False)
    last = None
    for frame in container.decode(stream):
        if frame.pts is None:
            last = frame
            continue
        if frame.pts * tb > t_s + 1e-6 and last is not None:
            return last
        last = frame
        if abs(float(frame.pts * tb) - t_s) < 1e-3:
            return frame
    return last
