"""Vectorscope: a 2-D histogram of the native chroma planes (Cb across, Cr up).

The graticule carries the targets of 75% and 100% colour bars (BT.601 limited range, the
SD standard of the carriers the station digitizes) and the skin-tone line.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt

from app.widgets.image_scope import ImageScope

SIZE = 256  # histogram bins per axis (8-bit chroma codes)
BARS = (
    ("R", (1, 0, 0)),
    ("Mg", (1, 0, 1)),
    ("B", (0, 0, 1)),
    ("Cy", (0, 1, 1)),
    ("G", (0, 1, 0)),
    ("Yl", (1, 1, 0)),
)


def bar_target(rgb: tuple[float, float, float], amplitude: float = 1.0) -> tuple[float, float]:
    """(Cb, Cr) in 8-bit codes of a colour bar at ``amplitude`` (0.75 or 1.0), BT.601."""
    r, g, b = (c * amplitude for c in rgb)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 + 224 * (b - y) / 1.772
    cr = 128 + 224 * (r - y) / 1.402
    return cb, cr


def chroma_histogram(u: np.ndarray, v: np.ndarray, bit_depth: int, step: int = 2) -> np.ndarray:
    """Counts shaped (Cb, Cr) = (256, 256) of every ``step``-th chroma row and column."""
    shift = max(0, bit_depth - 8)
    uu = np.asarray(u[::step, ::step])
    vv = np.asarray(v[::step, ::step])
    if shift:
        uu = uu >> shift
        vv = vv >> shift
    idx = uu.astype(np.int32, copy=False).ravel() * SIZE + vv.astype(np.int32, copy=False).ravel()
    np.clip(idx, 0, SIZE * SIZE - 1, out=idx)
    return np.bincount(idx, minlength=SIZE * SIZE).reshape(SIZE, SIZE)


def histogram_image(counts: np.ndarray) -> np.ndarray:
    """Log-scaled brightness in [0, 1]: faint colours stay visible beside a large flat field."""
    peak = float(counts.max()) if counts.size else 0.0
    if peak <= 0:
        return np.zeros(counts.shape, np.float32)
    return (np.log1p(counts.astype(np.float32)) / math.log1p(peak)).astype(np.float32)


class Vectorscope(ImageScope):
    def __init__(self, parent=None):
        super().__init__(
            "Vectorscope (BT.601): Cb across, Cr up, from the native chroma. Small boxes: 75% bar "
            "targets; large boxes: 100%. The dashed line is skin tone.",
            parent=parent,
        )
        self.image.setLookupTable(_phosphor_lut())
        self.image.setRect(QRectF(0, 0, SIZE, SIZE))
        self._draw_graticule()
        self.view.setRange(xRange=(-6, SIZE + 6), yRange=(-6, SIZE + 6), padding=0)
        self.image.setImage(np.zeros((SIZE, SIZE), np.float32), autoLevels=False, levels=(0, 1))

    def _draw_graticule(self) -> None:
        dim = pg.mkPen("#3a4048")
        centre = 128
        self.view.addItem(pg.PlotCurveItem([16, 240], [centre, centre], pen=dim))
        self.view.addItem(pg.PlotCurveItem([centre, centre], [16, 240], pen=dim))
        angles = np.linspace(0, 2 * np.pi, 181)
        for radius in (112,):
            self.view.addItem(
                pg.PlotCurveItem(
                    centre + radius * np.cos(angles), centre + radius * np.sin(angles), pen=dim
                )
            )
        # skin-tone line (about 123° on a vectorscope's Cb/Cr plane)
        skin_angle = math.radians(123)
        self.view.addItem(
            pg.PlotCurveItem(
                [centre, centre + 112 * math.cos(skin_angle)],
                [centre, centre + 112 * math.sin(skin_angle)],
                pen=pg.mkPen("#7a6a50", style=Qt.PenStyle.DashLine),
            )
        )
        for label, rgb in BARS:
            for amp, half, colour in ((0.75, 4, "#8a929a"), (1.0, 6, "#c8d0d8")):
                cb, cr = bar_target(rgb, amp)
                xs = [cb - half, cb + half, cb + half, cb - half, cb - half]
                ys = [cr - half, cr - half, cr + half, cr + half, cr - half]
                self.view.addItem(pg.PlotCurveItem(xs, ys, pen=pg.mkPen(colour, width=1)))
            cb, cr = bar_target(rgb, 1.0)
            text = pg.TextItem(label, color="#c8d0d8", anchor=(0.5, 0.5))
            text.setPos(centre + (cb - centre) * 1.12, centre + (cr - centre) * 1.12)
            self.view.addItem(text)

    def show_chroma(self, u: np.ndarray, v: np.ndarray, bit_depth: int) -> None:
        self.show_image(histogram_image(chroma_histogram(u, v, bit_depth)))

    def show_image(self, img: np.ndarray) -> None:
        self.image.setImage(img, autoLevels=False, levels=(0, 1))
        self.image.setRect(QRectF(0, 0, SIZE, SIZE))  # a rect set before any image is lost

    def reset(self) -> None:
        self.image.setImage(np.zeros((SIZE, SIZE), np.float32), autoLevels=False, levels=(0, 1))


def _phosphor_lut() -> np.ndarray:
    level = np.linspace(0, 1, 256)
    lut = np.stack([60 + 195 * level**1.6, 70 + 185 * level**0.7, 60 + 160 * level**1.3], axis=1)
    lut[0] = (16, 18, 20)
    return lut.clip(0, 255).astype(np.uint8)
