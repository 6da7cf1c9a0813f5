"""The coordinator's Dashboard tab: how far the project is and when it will end.

The figures are ``metadata.collection.dashboard.collect`` (the same as ``headblock dashboard``),
computed in a worker whenever the tab is shown or Refresh is pressed; the GUI thread only draws
them, with pyqtgraph (fast, in the bench's dark theme): items by carrier and status, hours
captured per day, QC outcomes, throughput with the projected end, the fixity audit, and the
items on hold with their reasons beside the files the audit wants looked at (failures first).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets.row_table import row_table
from app.workers import JobRunner
from metadata.catalogue.inventory import STATUSES
from metadata.clock import format_minute

BACKGROUND = "#15181b"
TEXT = "#c8d0d8"
STATUS_COLOURS = {
    "listed": "#78909c",
    "inspected": "#26a69a",
    "captured": "#64b5f6",
    "qc_done": "#1e88e5",
    "reviewed": "#7e57c2",
    "signed_off": "#43a047",
    "delivered": "#2e7d32",
    "on_hold": "#e53935",
}
VERDICT_COLOURS = {"pass": "#43a047", "warn": "#fbc02d", "fail": "#e53935", "no QC": "#78909c"}
AUDIT_COLOURS = ("#e53935", "#78909c", "#fbc02d", "#43a047")  # failed, never, overdue, recent
PACE_COLOURS = ("#64b5f6", "#66bb6a")
MAX_TABLE_ROWS = 200  # a table of thousands of rows would slow the tab; the PDF lists them


def _stamp(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()


def _plot(title: str, dates: bool = False) -> pg.PlotWidget:
    axis = {"bottom": pg.DateAxisItem(utcOffset=0)} if dates else {}
    plot = pg.PlotWidget(axisItems=axis)
    plot.setBackground(BACKGROUND)
    plot.setTitle(title, color=TEXT, size="10pt")
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMinimumHeight(120)
    for side in ("left", "bottom"):
        plot.getAxis(side).setTextPen(TEXT)
    return plot


def _category_axis(plot: pg.PlotWidget, labels: list[str]) -> None:
    """Horizontal bars: one row per label, the first at the top."""
    plot.getAxis("left").setTicks([[(i, label) for i, label in enumerate(labels)]])
    plot.getViewBox().invertY(True)
    plot.setYRange(-0.6, max(len(labels), 1) - 0.4, padding=0)


def _hbars(plot, rows: list[float], lefts: list[float], colour: str, name: str | None = None):
    item = pg.BarGraphItem(
        x0=lefts,
        y=list(range(len(rows))),
        height=0.7,
        width=rows,
        brush=colour,
        pen=pg.mkPen(BACKGROUND),
        name=name,
    )
    plot.addItem(item)
    return item


class DashboardView(QWidget):
    """``refresh()`` reads in a worker; ``shown`` is emitted once the figures are drawn."""

    shown = Signal(float)  # seconds from refresh to drawn

    def __init__(self, parent=None, library: Path | None = None, url: str | None = None):
        super().__init__(parent)
        self.library = Path(library) if library else None
        self.url = url
        self.board = None
        self.jobs = JobRunner(self, max_threads=1)
        self._started = 0.0
        self.last_refresh_s: float | None = None  # refresh asked -> figures drawn
        self.last_draw_s: float | None = None  # the GUI thread's part

        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.PlainText)
        self.summary.setStyleSheet(f"color: {TEXT}; font-size: 11.5pt")
        self.pace = QLabel("")
        self.pace.setTextFormat(Qt.PlainText)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #8a929a")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)

        self.carriers = _plot("Items by carrier and status")
        self.hours = _plot("Hours captured per day", dates=True)
        self.qc = _plot("QC outcomes (verdict of each item's last take)")
        self.throughput = _plot(
            "Throughput, items cumulative: "
            f"<span style='color:{PACE_COLOURS[0]}'>captured</span>, "
            f"<span style='color:{PACE_COLOURS[1]}'>signed off</span>; "
            "dashed: the present pace to the projected end",
            dates=True,
        )
        self.audit_plot = _plot("Fixity audit (files)")
        self.audit_text = QLabel("")
        self.audit_text.setWordWrap(True)
        self.audit_text.setTextFormat(Qt.PlainText)
        self.holds = row_table(("item", "on hold because", "by", "since"))
        self.attention = row_table(("fixity", "take", "file", "last verified"))
        for table in (self.holds, self.attention):  # tables take what the plots leave
            table.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)
            table.setMinimumHeight(80)
        self.audit_plot.setFixedHeight(140)

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.status)
        top.addWidget(self.refresh_button)
        grid = QGridLayout()
        grid.addWidget(self.carriers, 0, 0)
        grid.addWidget(self.throughput, 0, 1)
        grid.addWidget(self.hours, 1, 0)
        grid.addWidget(self.qc, 1, 1)
        audit_box = QVBoxLayout()
        audit_box.addWidget(self.audit_plot, 1)
        audit_box.addWidget(self.audit_text)
        audit_box.addWidget(self.attention, 1)
        holds_box = QVBoxLayout()
        holds_title = QLabel("Items on hold")
        holds_title.setStyleSheet(f"color: {TEXT}")
        holds_box.addWidget(holds_title)
        holds_box.addWidget(self.holds, 1)
        grid.addLayout(holds_box, 2, 0)
        grid.addLayout(audit_box, 2, 1)
        for row, stretch in enumerate((3, 2, 4)):
            grid.setRowStretch(row, stretch)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.pace)
        lay.addLayout(grid, 1)

    # -- reading
    def showEvent(self, ev):  # noqa: N802 (Qt API) — current whenever shown
        super().showEvent(ev)
        if self.library is not None and self.refresh_button.isEnabled():
            self.refresh()

    def set_library(self, library: Path | None, url: str | None = None) -> None:
        self.library = Path(library) if library else None
        self.url = url
        self.refresh()

    @staticmethod
    def load(library: Path, url: str | None):
        from metadata.collection.dashboard import collect

        return collect(library, url)

    def refresh(self) -> None:
        if self.library is None:
            self.status.setText("No library chosen")
            return
        self.refresh_button.setEnabled(False)
        self.status.setText("Reading the catalogue…")
        self._started = time.monotonic()
        self.jobs.submit(
            self.load, self.library, self.url, on_finished=self.show_board, on_failed=self._failed
        )

    def _failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.status.setText(message)

    # -- drawing
    def show_board(self, board) -> None:
        t0 = time.monotonic()
        self.board = board
        self.refresh_button.setEnabled(True)
        self.summary.setText(
            f"{board.items} item(s), {board.takes} take(s) · "
            + ", ".join(
                f"{s.replace('_', ' ')} {board.by_status[s]}"
                for s in STATUSES
                if board.by_status[s]
            )
        )
        self.pace.setText(
            "   ·   ".join(
                f"{p.what}: {p.done} done, {p.remaining} to go, {p.per_day:.1f}/day → "
                + (f"end {p.end.isoformat()}" if p.end else "no pace yet")
                for p in board.paces
            )
        )
        self._draw_carriers(board)
        self._draw_hours(board)
        self._draw_qc(board)
        self._draw_throughput(board)
        self._draw_audit(board)
        self._fill_holds(board)
        now = time.monotonic()
        self.last_draw_s = now - t0
        self.last_refresh_s = now - self._started if self._started else None
        self.status.setText(f"as of {format_minute(datetime.now(UTC))} UTC")
        self.shown.emit(self.last_refresh_s or 0.0)

    def _draw_carriers(self, board) -> None:
        plot = self.carriers
        plot.clear()
        labels = sorted(board.by_carrier)
        lefts = [0.0] * len(labels)
        key = []  # the legend in the title: a legend box would cover the bars
        for status in STATUSES:
            counts = [float(board.by_carrier[c][status]) for c in labels]
            if any(counts):
                _hbars(plot, counts, lefts, STATUS_COLOURS[status])
                lefts = [a + b for a, b in zip(lefts, counts, strict=True)]
                key.append(
                    f"<span style='color:{STATUS_COLOURS[status]}'>■</span> "
                    f"{status.replace('_', ' ')}"
                )
        plot.setTitle(
            "Items by carrier and status &nbsp; " + " &nbsp;".join(key), color=TEXT, size="10pt"
        )
        _category_axis(plot, labels)
        plot.setXRange(0, max(lefts, default=1) * 1.05 or 1, padding=0)

    def _draw_hours(self, board) -> None:
        plot = self.hours
        plot.clear()
        if board.hours_per_day:
            xs = [_stamp(d) for d in board.hours_per_day]
            plot.addItem(
                pg.BarGraphItem(
                    x=xs, height=list(board.hours_per_day.values()), width=86400 * 0.8,
                    brush="#1e88e5", pen=pg.mkPen(None),
                )
            )  # fmt: skip
        plot.setLabel("left", "hours", color=TEXT)

    def _draw_qc(self, board) -> None:
        plot = self.qc
        plot.clear()
        kinds = [k for k in ("pass", "warn", "fail", "no QC") if board.qc_outcomes[k]]
        for i, kind in enumerate(kinds):
            bar = [0.0] * len(kinds)
            bar[i] = float(board.qc_outcomes[kind])
            _hbars(plot, bar, [0.0] * len(kinds), VERDICT_COLOURS[kind])
        _category_axis(plot, kinds)

    def _draw_throughput(self, board) -> None:
        from metadata.collection.dashboard import throughput_series

        plot = self.throughput
        plot.clear()
        for pace, colour in zip(board.paces, PACE_COLOURS, strict=False):
            days, totals = throughput_series(board, pace.what)
            if not days:
                continue
            xs = [_stamp(d) for d in days]
            plot.plot(
                xs + [_stamp(board.today)],
                totals + [totals[-1]],
                pen=pg.mkPen(colour, width=2),
            )
            if pace.end is not None and pace.remaining > 0:
                plot.plot(
                    [_stamp(board.today), _stamp(pace.end)],
                    [totals[-1], totals[-1] + pace.remaining],
                    pen=pg.mkPen(colour, width=1.5, style=Qt.DashLine),
                )
                label = pg.TextItem(pace.end.isoformat(), color=colour, anchor=(1, 1))
                label.setPos(_stamp(pace.end), totals[-1] + pace.remaining)
                plot.addItem(label)
        if board.items:
            plot.addItem(pg.InfiniteLine(board.items, angle=0, pen=pg.mkPen("#757575")))
            plot.setYRange(0, board.items * 1.2, padding=0)  # room for the end dates

    def _draw_audit(self, board) -> None:
        from metadata.collection.dashboard import audit_counts, audit_summary

        plot = self.audit_plot
        plot.clear()
        audit = board.fixity
        counts = audit_counts(audit)
        labels = list(counts)
        for i, (label, colour) in enumerate(zip(labels, AUDIT_COLOURS, strict=True)):
            bar = [0.0] * len(labels)
            bar[i] = float(counts[label])
            _hbars(plot, bar, [0.0] * len(labels), colour)
        _category_axis(plot, labels)
        self.audit_text.setText(audit_summary(audit).removeprefix("fixity: "))
        rows = [("FAILED", e) for e in audit.failed]
        rows += [("never verified", e) for e in audit.never]
        rows += [("overdue", e) for e in audit.overdue]
        more = len(rows) - MAX_TABLE_ROWS
        rows = rows[:MAX_TABLE_ROWS]
        if more > 0:
            rows.append((f"… {more} more", {"take": "", "file": "", "verified": None}))
        table = self.attention
        table.setRowCount(len(rows))
        for r, (what, e) in enumerate(rows):
            verified = format_minute(e["verified"]) or ("never" if e["take"] else "")
            cells = (what, e["take"], e["file"], verified)
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if what == "FAILED":
                    cell.setForeground(QColor("#ff6b6b"))
                table.setItem(r, c, cell)

    def _fill_holds(self, board) -> None:
        table = self.holds
        table.setRowCount(len(board.on_hold))
        for r, h in enumerate(board.on_hold):
            cells = (h["item"], h["reason"], h["by"], format_minute(h["since"]))
            for c, text in enumerate(cells):
                table.setItem(r, c, QTableWidgetItem(text))
