"""The review's frame fetcher: decodes the frame at the last time asked for, in its own thread,
so scrubbing never blocks the window (the latest request wins)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from metadata.formats.pixfmt import pixel_format


def frame_planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Native (y, u, v, bit_depth) of a decoded frame, line padding removed; a frame that is
    not planar YUV is first converted to the planar YUV format of its depth and subsampling."""
    fmt = pixel_format(frame.format.name)
    if not fmt.planar_yuv:
        frame = frame.reformat(format=fmt.planar_equivalent)
        fmt = pixel_format(fmt.planar_equivalent)
    dtype = fmt.sample_dtype
    planes = []
    for plane in frame.planes[:3]:
        samples = np.frombuffer(plane, dtype=dtype)
        per_line = plane.line_size // np.dtype(dtype).itemsize
        planes.append(samples.reshape(-1, per_line)[: plane.height, : plane.width])
    return planes[0], planes[1], planes[2], fmt.bit_depth


class FrameFetcher(QObject):
    """Decodes the frame at the last time asked for, in its own thread."""

    frame_ready = Signal(float, object)  # t_s, (y, u, v, bit_depth)
    failed = Signal(str)

    def __init__(self, master: Path, parent=None):
        super().__init__(parent)
        self.master = Path(master)
        self._want: float | None = None
        self._cond = threading.Condition()
        self._quit = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="review-frames")
        self._thread.start()

    def request(self, t_s: float) -> None:
        with self._cond:
            self._want = float(t_s)
            self._cond.notify()

    def _run(self) -> None:
        import av

        from qc.sidecars import frame_at

        container = stream = None
        while True:
            with self._cond:
                while self._want is None and not self._quit:
                    self._cond.wait()
                if self._quit:
                    break
                t_s, self._want = self._want, None
            try:
                if container is None:
                    container = av.open(str(self.master))
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                frame = frame_at(container, stream, t_s)
                if frame is not None:
                    y, u, v, bits = frame_planes(frame)
                    self.frame_ready.emit(t_s, (y.copy(), u.copy(), v.copy(), bits))
            except Exception as exc:
                self.failed.emit(f"frame at {t_s:.3f} s: {exc}")
        if container is not None:
            container.close()

    def close(self) -> None:
        with self._cond:
            self._quit = True
            self._cond.notify()
        self._thread.join(3)
