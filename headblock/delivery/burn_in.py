"""A burnt-in identifier and timecode on an access copy's picture.

FFmpeg's ``drawtext`` is not in the FFmpeg inside PyAV, so the text is drawn here with
OpenCV on the encoder's own ``yuv420p`` frame: a black box along the bottom of the picture,
white text in it (luma only; the chroma under the box is set neutral, so the box is grey on
any picture). The text is the take's identifier and the tape's timecode at that frame when the
master carries one (``TC 01:00:12;10``), else the time from the start of the master
(``00:00:12:10``, frames at the master's rate).
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np

from qc.timecode import TakeTimecode, frame_text

FONT = cv2.FONT_HERSHEY_SIMPLEX
BLACK_Y, WHITE_Y, NEUTRAL_C = 16, 235, 128


def label(ident: str, t_s: float, rate: Fraction, timecode: TakeTimecode | None) -> str:
    """The text burnt into the frame at media time ``t_s``."""
    # the frame's own slot: stored times are rounded (Matroska: to the millisecond)
    frame = max(0, round(float(t_s) * rate))
    tc = timecode.at(float(frame / rate) + 1e-4) if timecode is not None else None
    if tc:
        return f"{ident}  TC {tc}"
    return f"{ident}  {frame_text(frame, max(1, round(rate)), False)}"


class BurnIn:
    """Draws ``label`` onto ``yuv420p`` frames of ``width`` x ``height``."""

    def __init__(self, ident: str, width: int, height: int, rate: Fraction, timecode=None):
        self.ident, self.rate, self.timecode = ident, Fraction(rate), timecode
        self.w, self.h = int(width), int(height)
        self.scale = max(0.4, self.h / 720.0)
        self.thickness = max(1, round(self.scale * 2))
        (_, text_h), base = cv2.getTextSize("0", FONT, self.scale, self.thickness)
        pad = max(4, text_h // 2)
        # the box: even rows and columns, so the chroma under it is whole samples
        self.box_h = (text_h + base + 2 * pad + 1) & ~1
        self.top = (self.h - self.box_h - 2 * pad) & ~1
        self.left = pad & ~1
        self.baseline = self.top + pad + text_h
        self.text_x = self.left + pad

    def box(self, text: str) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the box behind ``text``."""
        (text_w, _), _ = cv2.getTextSize(text, FONT, self.scale, self.thickness)
        right = min(self.w, (self.text_x + text_w + (self.text_x - self.left) + 1) & ~1)
        return self.left, self.top, right, min(self.h, self.top + self.box_h)

    def draw_luma(self, y: np.ndarray, text: str) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = self.box(text)
        y[y0:y1, x0:x1] = BLACK_Y
        cv2.putText(
            y, text, (self.text_x, self.baseline), FONT, self.scale, WHITE_Y, self.thickness,
            cv2.LINE_AA,
        )  # fmt: skip
        return x0, y0, x1, y1

    def apply(self, frame: av.VideoFrame, t_s: float) -> av.VideoFrame:
        """The frame with the text for media time ``t_s`` (a new frame, same timing)."""
        text = label(self.ident, t_s, self.rate, self.timecode)
        arr = frame.to_ndarray()  # yuv420p: the three planes, one after the other
        flat = arr.reshape(-1)
        w, h = self.w, self.h
        cw, ch = (w + 1) // 2, (h + 1) // 2
        y = flat[: w * h].reshape(h, w)
        u = flat[w * h : w * h + cw * ch].reshape(ch, cw)
        v = flat[w * h + cw * ch : w * h + 2 * cw * ch].reshape(ch, cw)
        x0, y0, x1, y1 = self.draw_luma(y, text)
        u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = NEUTRAL_C
        v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = NEUTRAL_C
        out = av.VideoFrame.from_ndarray(arr, format="yuv420p")
        out.pts, out.time_base = frame.pts, frame.time_base
        for attr in ("color_range", "colorspace"):
            try:
                setattr(out, attr, getattr(frame, attr))
            except (AttributeError, ValueError):
                pass
        return out
