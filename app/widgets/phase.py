"""Phase: a correlation meter (-1 … +1) and a goniometer (Lissajous, mid up, side across)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.widgets.image_scope import ImageScope

CORRELATION_TEXT = (
    "Phase correlation of the first two channels over the last 300 ms: +1 in phase (mono), "
    "0 unrelated, -1 out of phase (a reversed cable or azimuth error: mono listeners lose it)."
)


class CorrelationMeter(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.value = math.nan
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(CORRELATION_TEXT)

    def set_value(self, value: float) -> None:
        if value != self.value and not (math.isnan(value) and math.isnan(self.value)):
            self.value = value
            self.update()

    def paintEvent(self, event):  # noqa: N802
        painter = QPainter(self)
        width = self.width()
        track = QRectF(8, 4, width - 16, 16)
        painter.fillRect(track, QColor("#141619"))
        # red half for negative correlation
        painter.fillRect(
            QRectF(track.left(), track.top(), track.width() / 2, track.height()), QColor("#2a1a1a")
        )
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        painter.setFont(font)
        for tick in (-1, -0.5, 0, 0.5, 1):
            x = track.left() + (tick + 1) / 2 * track.width()
            painter.setPen(QPen(QColor("#50565e"), 1))
            painter.drawLine(int(x), int(track.top()), int(x), int(track.bottom()))
            painter.setPen(QColor("#b8c0c8"))
            label = f"{tick:+g}" if tick else "0"
            painter.drawText(QRectF(x - 20, track.bottom() + 1, 40, 16), Qt.AlignCenter, label)
        if math.isfinite(self.value):
            x = track.left() + (max(-1.0, min(1.0, self.value)) + 1) / 2 * track.width()
            colour = (
                QColor("#3fbf5f")
                if self.value >= 0.2
                else QColor("#e0b43c")
                if self.value >= -0.2
                else QColor("#e0483c")
            )
            painter.fillRect(QRectF(x - 4, track.top() - 2, 8, track.height() + 4), colour)
        painter.end()


# Program on tape sits around -20 dBFS: at unity gain its Lissajous is a dot in the middle.
# Like a studio goniometer the picture is scaled so program fills it, and the gain is shown.
GONIO_FILL = 0.8  # the block's peak is drawn at this fraction of the radius
GONIO_MAX_GAIN_DB = 30.0
GONIO_RELEASE_DB = 1.0  # per picture: the gain rises slowly, and falls at once on a louder block


def goniometer_gain_db(peak: float, current_db: float) -> float:
    """The next gain for a block whose larger channel peaks at ``peak`` (linear)."""
    if not np.isfinite(peak) or peak <= 0.0:
        return min(current_db + GONIO_RELEASE_DB, GONIO_MAX_GAIN_DB)
    wanted_db = min(max(20.0 * np.log10(GONIO_FILL / peak), 0.0), GONIO_MAX_GAIN_DB)
    return wanted_db if wanted_db < current_db else min(wanted_db, current_db + GONIO_RELEASE_DB)


def goniometer_histogram(block: np.ndarray, size: int = 160, gain: float = 1.0) -> np.ndarray:
    """2-D histogram of (side, mid) of a stereo block; axes span ±1/``gain`` of full scale."""
    if block.ndim != 2 or block.shape[1] < 2 or len(block) == 0:
        return np.zeros((size, size), np.float32)
    scale = np.float32(0.7071 * gain)
    left = block[:, 0].astype(np.float32)
    right = block[:, 1].astype(np.float32)
    mid = (left + right) * scale
    side = (left - right) * scale
    # x = side (left-of-centre when L dominates, as on a hardware goniometer), y = mid
    xi = np.clip(((-side + 1.0) * 0.5 * (size - 1)).astype(np.int32), 0, size - 1)
    yi = np.clip(((mid + 1.0) * 0.5 * (size - 1)).astype(np.int32), 0, size - 1)
    counts = np.bincount(xi * size + yi, minlength=size * size)
    return counts.reshape(size, size).astype(np.float32)


class Goniometer(ImageScope):
    """Lissajous display as an image with a short persistence (one ImageItem, updated)."""

    def __init__(self, size: int = 160, parent=None):
        super().__init__(
            "Goniometer: mid (L+R) up, side (L−R) across. A vertical line is mono, a horizontal "
            "line is out of phase, a round cloud is wide stereo.",
            parent=parent,
        )
        self.bins = size
        self._acc = np.zeros((size, size), np.float32)
        self.image.setLookupTable(_green_lut())
        pen = pg.mkPen("#3a4048")
        centre = (size - 1) / 2
        self.view.addItem(pg.PlotCurveItem([centre, centre], [0, size - 1], pen=pen))
        self.view.addItem(pg.PlotCurveItem([0, size - 1], [centre, centre], pen=pen))
        self.view.addItem(pg.PlotCurveItem([0, size - 1], [0, size - 1], pen=pen))  # L
        self.view.addItem(pg.PlotCurveItem([0, size - 1], [size - 1, 0], pen=pen))  # R
        for text, x, y in (
            ("M", centre, size - 1),
            ("L", 0, size - 1),
            ("R", size - 1, size - 1),
            ("S", size - 1, centre),
        ):
            caption = pg.TextItem(text, color="#8a929a", anchor=(0.5, 0.5))
            caption.setPos(x, y)
            self.view.addItem(caption)
        self.gain_db = 0.0
        self.gain_caption = pg.TextItem("+0 dB", color="#8a929a", anchor=(0.0, 1.0))
        self.gain_caption.setPos(0, 0)
        self.view.addItem(self.gain_caption)
        self.view.setRange(xRange=(-4, size + 3), yRange=(-4, size + 3), padding=0)
        self.image.setImage(self._acc, autoLevels=False, levels=(0, 1))

    def push(self, block: np.ndarray) -> None:
        peak = float(np.abs(block[:, :2]).max()) if block.ndim == 2 and block.size else 0.0
        gain_db = goniometer_gain_db(peak, self.gain_db)
        if round(gain_db) != round(self.gain_db):
            self.gain_caption.setText(f"{gain_db:+.0f} dB")
        self.gain_db = gain_db
        hist = goniometer_histogram(block, self.bins, 10.0 ** (gain_db / 20.0))
        self._acc *= 0.55  # persistence: a trace fades over a few frames
        if hist.any():
            self._acc += np.log1p(hist) / np.log1p(max(1.0, float(hist.max())))
        self.image.setImage(np.minimum(self._acc, 1.0), autoLevels=False, levels=(0, 1))

    def reset(self) -> None:
        self.gain_db = 0.0
        self.gain_caption.setText("+0 dB")
        self._acc[:] = 0
        self.image.setImage(self._acc, autoLevels=False, levels=(0, 1))


def _green_lut() -> np.ndarray:
    level = np.linspace(0, 1, 256)
    lut = np.stack([40 + 180 * level**2, 45 + 210 * level, 40 + 120 * level**1.5], axis=1)
    lut[0] = (16, 18, 20)
    return lut.clip(0, 255).astype(np.uint8)
