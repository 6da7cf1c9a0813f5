"""Picture and scopes computed off the GUI thread.

A small thread takes the video take's newest frame (``latest_frame()``: native planes), and
makes the display images — the picture (RGB, first field), the vectorscope histogram and the
luma waveform — with numpy and OpenCV, which release the interpreter while they work. The GUI
thread only hands the finished images to their ImageItems. Frames that arrive while one is
being drawn are skipped: the display shows the newest, the take keeps them all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.widgets.picture_view import preview_rgb
from app.widgets.vectorscope import chroma_histogram, histogram_image
from app.widgets.waveform_monitor import luma_waveform, waveform_rgb
from capture.priority import DISPLAY_NICE, lower_this_thread

SCOPES_NICE = DISPLAY_NICE + 6


@dataclass
class VideoImages:
    picture: np.ndarray  # RGB uint8, first field
    vectorscope: np.ndarray  # float32 in [0, 1], (Cb, Cr)
    waveform: np.ndarray  # RGB uint8, (columns, levels, 3)
    bit_depth: int
    width: int
    height: int
    pts_s: float


def images_of(frame) -> VideoImages:
    """Display images of one ``capture.video.preview.PreviewPlanes`` (pure; also used by tests)."""
    total, oor = luma_waveform(frame.y, frame.bit_depth)
    return VideoImages(
        picture=preview_rgb(frame.y, frame.u, frame.v, frame.bit_depth, field_only=True),
        vectorscope=histogram_image(chroma_histogram(frame.u, frame.v, frame.bit_depth)),
        waveform=waveform_rgb(total, oor),
        bit_depth=frame.bit_depth,
        width=frame.width,
        height=frame.height,
        pts_s=frame.pts_s,
    )


class ScopeWorker:
    """Draws the newest frame of ``take`` each time ``request()`` is called (at most)."""

    def __init__(self, take):
        self.take = take
        self.latest: VideoImages | None = None  # replaced whole: a single store, no lock
        self.error: str | None = None
        self._want = threading.Event()
        self._stop = threading.Event()
        self._last_pts = None
        self._thread = threading.Thread(target=self._run, name="bench-scopes", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._want.set()

    def stop(self) -> None:
        self._stop.set()
        self._want.set()
        self._thread.join(5)

    def _run(self) -> None:
        # behind the window's own thread too: late pictures are better than late meters
        lower_this_thread(SCOPES_NICE)
        while not self._stop.is_set():
            self._want.wait(0.5)
            self._want.clear()
            if self._stop.is_set():
                return
            try:
                frame = self.take.latest_frame()
                if frame is None or frame.pts_s == self._last_pts:
                    continue
                self._last_pts = frame.pts_s
                self.latest = images_of(frame)
            except Exception as exc:  # shown once by the controller; the take is not touched
                self.error = f"{type(exc).__name__}: {exc}"
