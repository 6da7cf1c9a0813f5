"""The review timeline: stacked plots sharing one time axis — event lanes, the audio envelope
of each channel, video statistics. Wheel zooms, drag pans, a click or the dragged cursor seeks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from metadata.verdicts import severity
from qc.review_model import ReviewModel
from qc.table import check_colour, is_video_check
from qc.timecode import frame_number


def _snapped(timecode, values, spacing: float) -> list[float]:
    """``values`` (seconds) moved to the start of the nearest tape second (spacing of a second
    or more) or of their frame; times without code stay as they are."""
    out = []
    for value in values:
        frame = timecode.frame_at(value) if value >= 0 else None
        if frame is None:
            out.append(value)
            continue
        target = frame
        if spacing >= 1.0:
            head = timecode.text(frame + timecode.count // 2)[:-2]  # the nearest second
            for first in ("00", "02"):  # drop-frame has no frames 00 and 01 in most minutes
                try:
                    target = frame_number(head + first, timecode.count)
                    break
                except ValueError:
                    continue
        out.append(max(0.0, timecode.start_of(target, value)))
    return sorted({round(v, 6) for v in out})


class TimeAxis(pg.AxisItem):
    """Seconds, or the tape's timecode at each tick when the take has one."""

    def __init__(self, *args, **kwargs):
        super().__init__("bottom", *args, **kwargs)
        self.timecode = None  # qc.timecode.TakeTimecode

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        """pyqtgraph's ticks moved onto the tape's own seconds (or frames, zoomed in), so that
        the labels read 01:00:11;00 rather than the frame that happens to be there."""
        levels = super().tickValues(minVal, maxVal, size)
        if self.timecode is None:
            return levels
        return [(spacing, _snapped(self.timecode, values, spacing)) for spacing, values in levels]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        if self.timecode is None:
            return super().tickStrings(values, scale, spacing)
        return [self.timecode.at(value) or "" if value >= 0 else "" for value in values]


class Timeline(pg.GraphicsLayoutWidget):
    """Stacked plots sharing one time axis: event lanes, audio envelope per channel, video
    statistics. A click sets the cursor."""

    cursor_moved = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#15181b")
        self.plots: list[pg.PlotItem] = []
        self.cursors: list[pg.InfiniteLine] = []
        self.highlights: list[pg.LinearRegionItem] = []
        self.lane = None
        self.checks: list[str] = []
        self.timecode = None  # qc.timecode.TakeTimecode of the take shown
        self.scene().sigMouseClicked.connect(self._clicked)

    def clear_all(self) -> None:
        self.clear()
        self.plots, self.cursors, self.highlights = [], [], []
        self.lane = None
        self.checks = []

    def _add_plot(self, title: str, height: int | None = None) -> pg.PlotItem:
        axis = TimeAxis()
        axis.timecode = self.timecode
        plot = self.addPlot(row=len(self.plots), col=0, axisItems={"bottom": axis})
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=True, y=False)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.getAxis("left").setWidth(104)
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.setLabel("left", title, **{"font-size": "8pt"})
        plot.hideButtons()
        if height:
            plot.setMaximumHeight(height)
            plot.setMinimumHeight(height)
        else:
            plot.setMinimumHeight(56)  # keeps a rotated title and three ticks legible
        if self.plots:
            plot.setXLink(self.plots[0])
            self.plots[-1].hideAxis("bottom")
        cursor = pg.InfiniteLine(
            0,
            angle=90,
            movable=True,
            pen=pg.mkPen("#ffffff", width=1),
            hoverPen=pg.mkPen("#ffd54f", width=3),
        )
        cursor.setToolTip("Drag to scrub")
        cursor.sigDragged.connect(lambda line: self.cursor_moved.emit(max(0.0, line.value())))
        highlight = pg.LinearRegionItem(
            (0, 0), movable=False, brush=pg.mkBrush(255, 255, 255, 40), pen=pg.mkPen(None)
        )
        highlight.setVisible(False)
        plot.addItem(highlight)
        plot.addItem(cursor)
        self.plots.append(plot)
        self.cursors.append(cursor)
        self.highlights.append(highlight)
        return plot

    def show_model(self, model: ReviewModel) -> None:
        self.clear_all()
        self.timecode = model.timecode
        duration_s = max(model.duration_s, 0.001)
        checks = sorted({str(event.get("check")) for event in model.events})
        lane = self._add_plot("", height=30 + 18 * max(1, len(checks)))
        lane.setMouseEnabled(x=True, y=False)
        lane.getAxis("left").setTicks([[(i, c) for i, c in enumerate(checks)]])
        lane.getAxis("left").setStyle(hideOverlappingLabels=False)
        lane.showGrid(x=True, y=False, alpha=0.15)
        for row, check in enumerate(checks):
            events = [event for event in model.events if str(event.get("check")) == check]
            starts = np.array([float(event.get("start_s") or 0) for event in events])
            ends = np.array(
                [
                    max(float(event.get("end_s") or 0), float(event.get("start_s") or 0))
                    for event in events
                ]
            )
            colour = check_colour(check)
            bar = pg.mkBrush(colour + "6e")
            lane.addItem(
                pg.BarGraphItem(
                    x0=starts,
                    x1=np.maximum(ends, starts + duration_s / 4000),
                    y=np.full(len(events), row),
                    height=0.5,
                    brush=bar,
                    pen=pg.mkPen(None),
                )
            )
            lane.addItem(
                pg.ScatterPlotItem(
                    x=starts,
                    y=np.full(len(events), row),
                    symbol="t",
                    size=[8 + 3 * severity(event.get("severity")) for event in events],
                    brush=pg.mkBrush(colour),
                    pen=pg.mkPen("#000000", width=0.5),
                    name=check,
                )
            )
        lane.enableAutoRange(y=False)
        lane.setYRange(-0.8, max(len(checks) - 0.2, 0.8), padding=0)
        self.checks = checks
        self.lane = lane

        if model.envelope is not None:
            envelope = model.envelope
            times_s = envelope.times_s()
            for channel in range(envelope.channels):
                plot = self._add_plot(f"ch{channel + 1} dBFS")
                plot.setYRange(-80, 3, padding=0)
                plot.plot(
                    times_s,
                    envelope.peak_dbfs[:, channel],
                    pen=pg.mkPen("#5c7cfa", width=1),
                    fillLevel=-120,
                    brush=(92, 124, 250, 90),
                    skipFiniteCheck=True,
                )
                plot.plot(
                    times_s,
                    envelope.rms_dbfs[:, channel],
                    pen=pg.mkPen("#c5cae9", width=1),
                    skipFiniteCheck=True,
                )
                self._event_lines(
                    plot,
                    [
                        event
                        for event in model.events
                        if event.get("channel") in (None, channel + 1)
                        and not is_video_check(str(event.get("check")))
                    ],
                    -80,
                    3,
                )
        if model.vstats is not None:
            vstats = model.vstats
            groups = [
                ("luma", ("YMIN", "YLOW", "YAVG", "YHIGH", "YMAX")),
                ("sat", ("SATAVG", "SATMAX")),
                ("TOUT", ("TOUT",)),
                ("VREP", ("VREP",)),
                ("BRNG", ("BRNG",)),
            ]
            palette = ("#90a4ae", "#4fc3f7", "#fff176", "#4fc3f7", "#90a4ae")
            video_events = [
                event for event in model.events if is_video_check(str(event.get("check")))
            ]
            for title, names in groups:
                names = [name for name in names if name in vstats.series]
                if not names:
                    continue
                plot = self._add_plot(title)
                lo = hi = None
                for j, name in enumerate(names):
                    series = vstats.series[name]
                    plot.plot(
                        vstats.times_s,
                        series,
                        pen=pg.mkPen(palette[j % len(palette)], width=1),
                        skipFiniteCheck=True,
                    )
                    finite = series[np.isfinite(series)]
                    if finite.size:
                        lo = float(finite.min()) if lo is None else min(lo, float(finite.min()))
                        hi = float(finite.max()) if hi is None else max(hi, float(finite.max()))
                lo, hi = (lo or 0.0), (hi or 1.0)
                if hi <= lo:
                    hi = lo + 1.0
                plot.setYRange(lo, hi, padding=0.05)
                self._event_lines(plot, video_events, lo, hi)
        for plot in self.plots:
            plot.setLimits(xMin=-duration_s * 0.01, xMax=duration_s * 1.01)
        self.plots[-1].setLabel(
            "bottom",
            "time (s)" if model.timecode is None else "tape timecode (HH:MM:SS:FF)",
        )
        self.plots[0].setXRange(0, duration_s, padding=0)

    @staticmethod
    def _event_lines(plot: pg.PlotItem, events: list[dict], lo: float, hi: float) -> None:
        starts_by_check: dict[str, list[float]] = {}
        for event in events:
            starts_by_check.setdefault(str(event.get("check")), []).append(
                float(event.get("start_s") or 0)
            )
        for check, starts in starts_by_check.items():
            x = np.repeat(np.asarray(starts, dtype=np.float64), 2)
            y = np.tile(np.array([lo, hi], dtype=np.float64), len(starts))
            pen = pg.mkPen(check_colour(check) + "aa", width=1)
            plot.addItem(pg.PlotCurveItem(x, y, connect="pairs", pen=pen))

    def set_cursor(self, t_s: float) -> None:
        for cursor in self.cursors:
            if cursor.value() != t_s:
                cursor.setValue(t_s)

    def highlight(self, start_s: float, end_s: float) -> None:
        for highlight in self.highlights:
            highlight.setRegion((start_s, max(end_s, start_s)))
            highlight.setVisible(True)

    def ensure_visible(self, t_s: float) -> None:
        if not self.plots:
            return
        (x0, x1), _ = self.plots[0].viewRange()
        if not (x0 <= t_s <= x1):
            half = (x1 - x0) / 2
            self.plots[0].setXRange(t_s - half, t_s + half, padding=0)

    def zoom_around(self, t_s: float, span_s: float) -> None:
        if self.plots:
            self.plots[0].setXRange(t_s - span_s / 2, t_s + span_s / 2, padding=0)

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for plot in self.plots:
            if plot.sceneBoundingRect().contains(ev.scenePos()):
                t_s = plot.vb.mapSceneToView(ev.scenePos()).x()
                self.cursor_moved.emit(max(0.0, float(t_s)))
                return
