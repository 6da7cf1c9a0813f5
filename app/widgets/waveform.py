"""A scrolling waveform per channel, peak-decimated (min/max per bin) so no peak is hidden."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem


class PeakDecimator:
    """Keeps min/max per bin of the last ``window_s`` seconds (pure numpy, no Qt).

    Incoming blocks of any length are cut into bins of ``bin_frames``; a partial bin waits for
    the next block, so the trace is continuous however the refresh timer jitters.
    """

    def __init__(self, rate_hz: int, channels: int, window_s: float = 6.0, bins: int = 1200):
        self.rate_hz = rate_hz
        self.channels = channels
        self.window_s = window_s
        self.bins = bins
        self.bin_frames = max(1, int(round(rate_hz * window_s / bins)))
        self.mins = np.zeros((bins, channels), np.float32)
        self.maxs = np.zeros((bins, channels), np.float32)
        self._pending = np.zeros((0, channels), np.float32)

    def push(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        block = np.asarray(block, np.float32).reshape(-1, self.channels)
        if len(self._pending):
            block = np.concatenate([self._pending, block])
        n_bins = len(block) // self.bin_frames
        used = n_bins * self.bin_frames
        self._pending = block[used:].copy()
        if n_bins == 0:
            return
        if n_bins >= self.bins:
            block = block[used - self.bins * self.bin_frames : used]
            n_bins = self.bins
        else:
            block = block[:used]
        shaped = block.reshape(n_bins, self.bin_frames, self.channels)
        new_min = shaped.min(axis=1)
        new_max = shaped.max(axis=1)
        self.mins = np.concatenate([self.mins[n_bins:], new_min])
        self.maxs = np.concatenate([self.maxs[n_bins:], new_max])

    def trace(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        """x (seconds, negative = past) and y as a zig-zag through each bin's min and max."""
        x = np.repeat(np.linspace(-self.window_s, 0.0, self.bins, dtype=np.float32), 2)
        y = np.empty(2 * self.bins, np.float32)
        y[0::2] = self.mins[:, channel]
        y[1::2] = self.maxs[:, channel]
        return x, y

    def clear(self) -> None:
        self.mins[:] = 0
        self.maxs[:] = 0
        self._pending = self._pending[:0]


TRACE_COLOURS = (
    "#5ec8f0",
    "#f0a45e",
    "#8be07a",
    "#d58cf0",
    "#f0e05e",
    "#5ef0c8",
    "#f07a8b",
    "#a0a0ff",
)


class ScrollingWaveform(pg.GraphicsLayoutWidget):
    """One plot per channel; each trace is one long-lived PlotDataItem updated in place."""

    def __init__(self, channels: int = 2, rate_hz: int = 96000, window_s: float = 6.0, parent=None):
        super().__init__(parent)
        self.setBackground("#101214")
        self.window_s = window_s
        self.decimator: PeakDecimator | None = None
        self.plots: list[pg.PlotItem] = []
        self.curves: list[pg.PlotDataItem] = []
        self.configure(channels, rate_hz)

    def configure(self, channels: int, rate_hz: int) -> None:
        if self.decimator and (self.decimator.channels, self.decimator.rate_hz) == (
            channels,
            rate_hz,
        ):
            return
        self.clear()
        self.plots, self.curves = [], []
        self.decimator = PeakDecimator(rate_hz, channels, self.window_s, bins=800)
        for ch in range(channels):
            plot = self.addPlot(row=ch, col=0)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setXRange(-self.window_s, 0, padding=0)
            plot.setYRange(-1.0, 1.0, padding=0.02)
            plot.disableAutoRange()
            for axis in ("left", "bottom"):  # axes drawn once, then blitted
                plot.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            plot.showGrid(x=True, y=False, alpha=0.15)
            plot.getAxis("left").setTicks([[(-1, "-1"), (-0.5, ""), (0, "0"), (0.5, ""), (1, "1")]])
            plot.getAxis("left").setWidth(34)
            name = {0: "L", 1: "R"}.get(ch, str(ch + 1)) if channels <= 2 else str(ch + 1)
            plot.setLabel("left", name)
            if ch < channels - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel("bottom", "seconds")
            for y in (-0.5, 0.5):  # -6 dBFS guides
                plot.addItem(
                    pg.InfiniteLine(
                        pos=y, angle=0, pen=pg.mkPen("#3a4048", style=Qt.PenStyle.DashLine)
                    )
                )
            curve = plot.plot(pen=pg.mkPen(TRACE_COLOURS[ch % len(TRACE_COLOURS)], width=1))
            curve.setClipToView(False)
            self.plots.append(plot)
            self.curves.append(curve)

    def push(self, block: np.ndarray) -> None:
        self.decimator.push(block)

    def redraw(self) -> None:
        for ch, curve in enumerate(self.curves):
            x, y = self.decimator.trace(ch)
            curve.setData(x, y, skipFiniteCheck=True)

    def reset(self) -> None:
        self.decimator.clear()
        self.redraw()
