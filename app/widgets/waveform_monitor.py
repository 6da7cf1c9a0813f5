"""Luma waveform monitor from the native Y plane, with legal black/white lines.

Legal range: 64–940 in 10-bit, 16–235 in 8-bit. Pixels outside it are drawn red; the rest in
green phosphor. Columns are binned and every second line is used: a display, not a measure
(QC computes the real per-frame figures from every pixel).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem

from app.widgets.image_scope import SCOPE_BACKGROUND

LEVELS = 256  # display rows (8-bit codes; 10-bit values are binned by 4)


def legal_range(bit_depth: int) -> tuple[int, int]:
    scale = 1 << max(0, bit_depth - 8)
    return 16 * scale, 235 * scale


def luma_waveform(y: np.ndarray, bit_depth: int, columns: int = 240, row_step: int = 3):
    """(all, out_of_range) counts shaped (columns, LEVELS) from a native luma plane."""
    plane = np.asarray(y[::row_step])
    h, w = plane.shape
    columns = max(1, min(columns, w))
    col = (np.arange(w, dtype=np.int32) * columns // w)[None, :]
    shift = max(0, bit_depth - 8)
    level = (plane >> shift) if shift else plane
    idx = (col * LEVELS + np.minimum(level.astype(np.int32, copy=False), LEVELS - 1)).ravel()
    total = np.bincount(idx, minlength=columns * LEVELS).reshape(columns, LEVELS)
    lo, hi = legal_range(bit_depth)
    bad = ((plane < lo) | (plane > hi)).ravel()
    if bad.any():
        oor = np.bincount(idx[bad], minlength=columns * LEVELS).reshape(columns, LEVELS)
    else:
        oor = np.zeros_like(total)
    return total, oor


_T = np.linspace(0.0, 1.0, 256, dtype=np.float32)
# brightness index -> colour: green phosphor for legal pixels, red for out-of-range ones
_LEGAL_LUT = np.stack([40 * _T, 230 * _T, 70 * _T], axis=1).astype(np.uint16)
_BAD_LUT = np.stack([np.minimum(1.0, _T * 1.6) * 255, 0 * _T, 0 * _T], axis=1).astype(np.uint16)
_LEGAL_LUT[0] = (16, 16, 16)  # an empty cell: the background


def waveform_rgb(total: np.ndarray, oor: np.ndarray) -> np.ndarray:
    """RGB (columns, LEVELS, 3) uint8: green for legal pixels, red for out-of-range ones."""
    peak = float(total.max()) if total.size else 0.0
    if peak <= 0:
        return np.zeros((*total.shape, 3), np.uint8)
    scale = np.float32(255.0 / math.log1p(peak))
    legal = (np.log1p((total - oor).astype(np.float32)) * scale).astype(np.uint8)
    rgb = _LEGAL_LUT[legal]
    if oor.any():
        rgb += _BAD_LUT[(np.log1p(oor.astype(np.float32)) * scale).astype(np.uint8)]
        np.minimum(rgb, 255, out=rgb)
    return rgb.astype(np.uint8)


class WaveformMonitor(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(SCOPE_BACKGROUND)
        self.setToolTip(
            "Luma waveform from the native Y plane. Dashed lines: legal black and white "
            "(64/940 in 10-bit, 16/235 in 8-bit); out-of-range pixels in red."
        )
        self.plot = self.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.hideAxis("bottom")
        self.plot.getAxis("left").setWidth(40)
        self.plot.getAxis("left").setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.plot.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.lines = [
            pg.InfiniteLine(angle=0, pen=pg.mkPen("#d8a040", style=Qt.PenStyle.DashLine, width=1))
            for _ in range(2)
        ]
        for line in self.lines:
            self.plot.addItem(line)
        self.bit_depth = 0
        self._shape = None
        self._configure(10)

    def _configure(self, bit_depth: int) -> None:
        if bit_depth == self.bit_depth:
            return
        self.bit_depth = bit_depth
        top = 1 << bit_depth
        lo, hi = legal_range(bit_depth)
        self.lines[0].setPos(lo)
        self.lines[1].setPos(hi)
        self._rect = QRectF(0, 0, 1, top)
        self._shape = None
        self.plot.setXRange(0, 1, padding=0)
        self.plot.setYRange(0, top, padding=0.01)
        ticks = [
            (lo, str(lo)),
            (hi, str(hi)),
            (top // 2, str(top // 2)),
            (0, "0"),
            (top - 1, str(top - 1)),
        ]
        self.plot.getAxis("left").setTicks([ticks])

    def show_luma(self, y: np.ndarray, bit_depth: int) -> None:
        total, oor = luma_waveform(y, bit_depth)
        self.show_rgb(waveform_rgb(total, oor), bit_depth)

    def show_rgb(self, rgb: np.ndarray, bit_depth: int) -> None:
        self._configure(bit_depth)
        self.image.setImage(rgb, autoLevels=False)
        if rgb.shape != self._shape:  # the rect maps image pixels to code values: set per shape
            self._shape = rgb.shape
            self.image.setRect(self._rect)

    def reset(self) -> None:
        self.image.clear()
        self._shape = None
