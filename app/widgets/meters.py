"""Audio level meters: digital peak meters with RMS, peak hold and latched clip lights.

Ballistic (stated in the tooltip and docs): a digital peak meter, instant attack (every sample
since the last refresh counts), the bar falls at 20 dB/s; the peak-hold marker stays 1.5 s,
then falls at 20 dB/s. RMS is over the last 300 ms. Scale in dBFS. The clip light latches when a
sample reaches -0.01 dBFS (the threshold QC's clipping check starts from) until clicked.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QWidget

from app.widgets.restyle import restyle
from app.widgets.steady import SteadyLabel

FLOOR_DBFS = -60.0
HOLD_S = 1.5
FALL_DB_PER_S = 20.0
RMS_WINDOW_S = 0.3
CLIP_DBFS = -0.01
BALLISTIC_TEXT = (
    "Digital peak meter: instant attack, falls 20 dB/s; peak hold 1.5 s then falls 20 dB/s. "
    "Thin bar: RMS over 300 ms. Scale in dBFS. The clip light latches at -0.01 dBFS; "
    "click it to clear."
)
# Colour zones of the bar (dBFS): green below -18, amber to -6, red above.
ZONES = ((-18.0, QColor("#3fbf5f")), (-6.0, QColor("#e0b43c")), (0.0, QColor("#e0483c")))


class PeakBallistics:
    """Bar and hold values of one channel (pure; the meter widget only paints them)."""

    def __init__(self, hold_s: float = HOLD_S, fall_db_per_s: float = FALL_DB_PER_S):
        self.hold_s = hold_s
        self.fall = fall_db_per_s
        self.bar_db = FLOOR_DBFS
        self.hold_db = FLOOR_DBFS
        self._hold_age_s = 0.0

    def update(self, peak_dbfs: float, dt_s: float) -> tuple[float, float]:
        peak = max(FLOOR_DBFS, peak_dbfs if math.isfinite(peak_dbfs) else FLOOR_DBFS)
        self.bar_db = max(peak, self.bar_db - self.fall * dt_s)
        if peak >= self.hold_db:
            self.hold_db = peak
            self._hold_age_s = 0.0
        else:
            self._hold_age_s += dt_s
            if self._hold_age_s > self.hold_s:
                self.hold_db = max(peak, self.hold_db - self.fall * dt_s, FLOOR_DBFS)
        return self.bar_db, self.hold_db

    def reset(self) -> None:
        self.bar_db = self.hold_db = FLOOR_DBFS
        self._hold_age_s = 0.0


def db_to_fraction(db: float, floor: float = FLOOR_DBFS) -> float:
    if not math.isfinite(db):
        return 0.0
    return min(1.0, max(0.0, (db - floor) / -floor))


class MeterBar(QWidget):
    """One vertical bar: peak (wide), RMS (narrow, inside), hold marker, dBFS ticks."""

    def __init__(self, parent=None, show_scale: bool = False):
        super().__init__(parent)
        self.peak_db = FLOOR_DBFS
        self.rms_db = FLOOR_DBFS
        self.hold_db = FLOOR_DBFS
        self.show_scale = show_scale
        self.setMinimumSize(56 if not show_scale else 86, 160)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setToolTip(BALLISTIC_TEXT)

    def set_levels(self, peak_db: float, rms_db: float, hold_db: float) -> None:
        if (peak_db, rms_db, hold_db) != (self.peak_db, self.rms_db, self.hold_db):
            self.peak_db, self.rms_db, self.hold_db = peak_db, rms_db, hold_db
            self.update()

    def paintEvent(self, event):  # noqa: N802 (Qt API)
        painter = QPainter(self)
        width, height = self.width(), self.height()
        top, bottom = 6, height - 6
        span = bottom - top
        scale_w = 28 if self.show_scale else 0
        bar = QRectF(scale_w, top, width - scale_w - 2, span)
        painter.fillRect(bar, QColor("#141619"))

        def y_of(db):
            return bottom - db_to_fraction(db) * span

        # peak bar, coloured by zone
        lo = FLOOR_DBFS
        for edge, colour in ZONES:
            if self.peak_db <= lo:
                break
            hi = min(edge, self.peak_db)
            y1, y0 = y_of(hi), y_of(lo)
            painter.fillRect(
                QRectF(bar.left() + 1, y1, bar.width() - 2, y0 - y1), colour.darker(115)
            )
            lo = edge
        # RMS: a narrow bright bar in the middle
        y = y_of(self.rms_db)
        centre_x = bar.center().x()
        painter.fillRect(QRectF(centre_x - 3, y, 6, bottom - y), QColor("#e8eef2"))
        # hold marker
        if self.hold_db > FLOOR_DBFS:
            painter.setPen(QPen(QColor("#ffffff"), 3))
            hold_y = y_of(self.hold_db)
            painter.drawLine(int(bar.left() + 1), int(hold_y), int(bar.right() - 1), int(hold_y))
        # ticks
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        painter.setFont(font)
        for db in (0, -3, -6, -9, -12, -18, -24, -30, -40, -50, -60):
            tick_y = int(y_of(db))
            painter.setPen(QPen(QColor("#50565e"), 1))
            painter.drawLine(int(bar.left()), tick_y, int(bar.left() + 5), tick_y)
            painter.drawLine(int(bar.right() - 5), tick_y, int(bar.right()), tick_y)
            if self.show_scale:
                painter.setPen(QColor("#b8c0c8"))
                painter.drawText(
                    QRectF(0, tick_y - 8, scale_w - 3, 16), Qt.AlignRight | Qt.AlignVCenter, str(db)
                )
        painter.end()


class ClipLight(QPushButton):
    """Latched clip indicator; a click clears it."""

    def __init__(self, parent=None):
        super().__init__("CLIP", parent)
        self.setObjectName("clipLight")
        self.setToolTip("Latched when a sample reaches -0.01 dBFS; click to clear.")
        self.setFixedHeight(24)
        self.setFocusPolicy(Qt.NoFocus)
        self.latched = False
        self.clicked.connect(self.clear)
        self._restyle()

    def latch(self) -> None:
        if not self.latched:
            self.latched = True
            self._restyle()

    def clear(self) -> None:
        if self.latched:
            self.latched = False
            self._restyle()

    def _restyle(self) -> None:
        restyle(self, latched="true" if self.latched else "false")


class MeterBridge(QWidget):
    """Peak/RMS meters for every channel, with numbers beside the bars and clip lights."""

    def __init__(self, channels: int = 2, parent=None):
        super().__init__(parent)
        self.setToolTip(BALLISTIC_TEXT)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(4, 4, 4, 4)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(2)
        self.bars: list[MeterBar] = []
        self.clips: list[ClipLight] = []
        self.peak_labels: list[QLabel] = []
        self.rms_labels: list[QLabel] = []
        self.ballistics: list[PeakBallistics] = []
        self.set_channels(channels)

    def set_channels(self, channels: int) -> None:
        if channels == len(self.bars):
            return
        for widget in self.bars + self.clips + self.peak_labels + self.rms_labels:
            widget.setParent(None)
            widget.deleteLater()
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget():
                item.widget().setParent(None)
        self.bars, self.clips, self.peak_labels, self.rms_labels = [], [], [], []
        self.ballistics = [PeakBallistics() for _ in range(channels)]
        title = QLabel("dBFS")
        title.setObjectName("meterCaption")
        self._grid.addWidget(title, 0, 0, Qt.AlignRight)
        for channel in range(channels):
            clip = ClipLight(self)
            bar = MeterBar(self, show_scale=(channel == 0))
            name = (
                {0: "L", 1: "R"}.get(channel, str(channel + 1))
                if channels <= 2
                else str(channel + 1)
            )
            head = QLabel(name)
            head.setObjectName("meterCaption")
            head.setAlignment(Qt.AlignCenter)
            peak_label = SteadyLabel("-inf", "-60.0", width=64)
            peak_label.setObjectName("meterPeak")
            peak_label.setAlignment(Qt.AlignCenter)
            peak_label.setToolTip("Peak (held value of the bar), dBFS")
            rms_label = SteadyLabel("-inf", "-60.0", width=60)
            rms_label.setObjectName("meterRms")
            rms_label.setAlignment(Qt.AlignCenter)
            rms_label.setToolTip("RMS over 300 ms, dBFS")
            self._grid.addWidget(head, 0, channel + 1)
            self._grid.addWidget(clip, 1, channel + 1)
            self._grid.addWidget(bar, 2, channel + 1, Qt.AlignHCenter)
            self._grid.addWidget(peak_label, 3, channel + 1)
            self._grid.addWidget(rms_label, 4, channel + 1)
            self.clips.append(clip)
            self.bars.append(bar)
            self.peak_labels.append(peak_label)
            self.rms_labels.append(rms_label)
        peak_caption = QLabel("Peak")
        peak_caption.setObjectName("meterCaption")
        rms_caption = QLabel("RMS")
        rms_caption.setObjectName("meterCaption")
        self._grid.addWidget(peak_caption, 3, 0, Qt.AlignRight)
        self._grid.addWidget(rms_caption, 4, 0, Qt.AlignRight)
        self._grid.setRowStretch(2, 1)
        # the first column holds the captions; the scale is drawn by the first bar
        self._grid.setColumnMinimumWidth(0, 34)

    def update_levels(self, peaks_dbfs, rms_dbfs, dt_s: float, numbers: bool = True) -> None:
        """Feed the peak of every sample since the last refresh (instant attack).

        ``numbers``: also rewrite the figures (the window does it ~10 times a second: numbers
        that change faster cannot be read, and each rewrite costs a repaint)."""
        for channel, bar in enumerate(self.bars):
            peak = float(peaks_dbfs[channel]) if channel < len(peaks_dbfs) else FLOOR_DBFS
            rms = float(rms_dbfs[channel]) if channel < len(rms_dbfs) else FLOOR_DBFS
            shown, hold = self.ballistics[channel].update(peak, dt_s)
            bar.set_levels(shown, rms, hold)
            if peak >= CLIP_DBFS:
                self.clips[channel].latch()
            if numbers:
                self.peak_labels[channel].setText(_fmt_db(hold))
                self.rms_labels[channel].setText(_fmt_db(rms))

    def peak_hold_dbfs(self) -> list[float]:
        return [channel.hold_db for channel in self.ballistics]

    def clear_clips(self) -> None:
        for clip in self.clips:
            clip.clear()

    def reset(self) -> None:
        for channel in self.ballistics:
            channel.reset()
        for bar in self.bars:
            bar.set_levels(FLOOR_DBFS, FLOOR_DBFS, FLOOR_DBFS)
        for label in self.peak_labels + self.rms_labels:
            label.setText("-inf")


def _fmt_db(db: float) -> str:
    if not math.isfinite(db) or db <= FLOOR_DBFS:
        return "-inf"
    return f"{db:+.1f}" if db > 0 else f"{db:.1f}"
