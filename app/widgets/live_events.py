"""QC events as they fire during a take: marks along the take's elapsed time, a count per
check, the latest event in words.

The engine sends ``qc_live`` events (check, start_s, end_s, channel, severity, detail) through
the take's event path; an event still growing is sent again with a later ``end_s`` and updates
the one already shown. One widget paints everything by hand (no child labels, a fixed height):
a new event never asks the window for a layout, and however fast events arrive the strip
repaints at most every ``REPAINT_MS`` (longer while the take's queue fills).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from metadata.verdicts import VERDICT_COLOURS
from qc.table import CHECKS, check_colour, is_video_check

LIVE_EVENT = "qc_live"  # the engine's event name for a check that fired during the take
REPAINT_MS = 250  # at most four repaints a second, however fast events arrive
# By the controller's ease level (the take's queue filling): the take gets the processor back.
EASED_REPAINT_MS = (REPAINT_MS, 500, 1000, 2000)
NOW_REPAINT_MS = 1000  # the take's time alone moves the strip once a second
MIN_SPAN_S = 60.0
MIN_MARK_PX = 2  # a one-frame event stays visible on a two-hour strip
TOOLTIP_EVENTS = 8
LANES_PX = 34  # the strip's height, shared by its lanes

_BACKGROUND = QColor("#14171a")
_RECORDED = QColor("#1e2328")
_GRID = QColor("#2e333a")
_TEXT = QColor("#c8d0d8")
_DIM = QColor("#8a929a")
_NOW = QColor("#ff6a5e")


def fmt_take_time(t_s: float) -> str:
    """A time in the take as the bench writes it: ``12:41`` under an hour, ``1:02:03`` past."""
    whole = int(max(0.0, t_s)) if math.isfinite(t_s) else 0
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def strip_span_s(t_s: float) -> float:
    """The time the strip spans for a take at ``t_s``: 60 s at least, then grown in whole
    steps (a minute up to 10 min, 5 min up to an hour, 15 min after) so marks and tick
    labels stay put between steps instead of creeping left at every refresh."""
    if not math.isfinite(t_s) or t_s <= MIN_SPAN_S:
        return MIN_SPAN_S
    step = 60.0 if t_s <= 600 else 300.0 if t_s <= 3600 else 900.0
    return math.ceil(t_s / step) * step


def tick_step_s(span_s: float, width_px: float = 600.0, label_px: float = 60.0) -> float:
    """Seconds between labelled ticks: the smallest round step giving at most six, each
    label with room to spare on a strip ``width_px`` wide."""
    room = 1.5 * label_px
    for step in (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if span_s / step <= 6 and step / span_s * width_px >= room:
            return float(step)
    return 3600.0 * max(2, math.ceil(span_s / 3600 * room / max(width_px, 1.0)))


def check_title(check_id: str) -> str:
    spec = CHECKS.get(check_id)
    return spec.title if spec is not None else check_id


@dataclass
class LiveEvent:
    check: str
    start_s: float
    end_s: float
    channel: int | None
    severity: str  # "warn" | "fail"
    detail: str = ""

    def words(self) -> str:
        """ "Video dropout at 12:41 (fail)", with the channel when there is one."""
        where = f" on ch {self.channel}" if self.channel else ""
        return (
            f"{check_title(self.check)}{where} at {fmt_take_time(self.start_s)} ({self.severity})"
        )


def parse_live_event(fields: dict) -> LiveEvent | None:
    """The event in ``fields``, or None when it cannot be placed (no check, no finite time)."""
    try:
        check = str(fields["check"])
        start_s = float(fields["start_s"])
        end_s = float(start_s if fields.get("end_s") is None else fields["end_s"])
        channel = fields.get("channel")
        channel = int(channel) if channel is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    if not check or not math.isfinite(start_s) or start_s < 0:
        return None
    if not math.isfinite(end_s) or end_s < start_s:
        end_s = start_s
    severity = "fail" if fields.get("severity") == "fail" else "warn"
    return LiveEvent(check, start_s, end_s, channel, severity, str(fields.get("detail") or ""))


class LiveEvents:
    """The take's live events, kept once each: an event sent again (same check, channel and
    start) updates the one already here. Times are held in arrays so that placing thousands of
    marks on the strip is a few numpy operations."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._keys: dict[tuple, int] = {}
        self.events: list[LiveEvent] = []
        self.counts: dict[str, int] = {}
        self.fails: dict[str, int] = {}
        self.latest: LiveEvent | None = None
        self.latest_end_s = 0.0
        self._start = np.zeros(256)
        self._end = np.zeros(256)
        self._check = np.zeros(256, np.int32)
        self._fail = np.zeros(256, bool)
        self._check_ids: dict[str, int] = {}
        self.version = 0  # counts changes: marks are placed again only after one
        self._runs_key: tuple | None = None
        self._runs: list[tuple] = []

    def __len__(self) -> int:
        return len(self.events)

    def add(self, event: LiveEvent) -> bool:
        """Take in a new or grown event; True when anything shown changed."""
        key = (event.check, event.channel, round(event.start_s, 6))
        index = self._keys.get(key)
        if index is not None:
            known = self.events[index]
            end_s = max(known.end_s, event.end_s)
            fail = known.severity == "fail" or event.severity == "fail"
            if end_s == known.end_s and fail == (known.severity == "fail"):
                return False
            if fail and known.severity != "fail":
                self.fails[known.check] = self.fails.get(known.check, 0) + 1
            known.end_s, known.severity = end_s, "fail" if fail else "warn"
            known.detail = event.detail or known.detail
            self._end[index], self._fail[index] = end_s, fail
            self.version += 1
            self.latest_end_s = max(self.latest_end_s, end_s)
            return True
        index = len(self.events)
        if index == len(self._start):
            grown = 2 * index
            self._start = np.resize(self._start, grown)
            self._end = np.resize(self._end, grown)
            self._check = np.resize(self._check, grown)
            self._fail = np.resize(self._fail, grown)
        self._keys[key] = index
        self.events.append(event)
        self._start[index], self._end[index] = event.start_s, event.end_s
        self._check[index] = self._check_ids.setdefault(event.check, len(self._check_ids))
        self._fail[index] = event.severity == "fail"
        self.counts[event.check] = self.counts.get(event.check, 0) + 1
        if event.severity == "fail":
            self.fails[event.check] = self.fails.get(event.check, 0) + 1
        self.latest = event
        self.version += 1
        self.latest_end_s = max(self.latest_end_s, event.end_s)
        return True

    def chip_order(self) -> list[str]:
        """Checks with events, in the check table's order (chips never swap places), then
        checks this station does not know."""
        known = [check for check in CHECKS if check in self.counts]
        return known + [check for check in self.counts if check not in CHECKS]

    def runs(self, span_s: float, width_px: int, lanes: int = 1) -> list[tuple]:
        """Marks to paint on a strip ``width_px`` wide spanning ``span_s``: (lane, check,
        fail, x0, x1) pixel runs. With two lanes the picture's checks go in lane 0 and the
        rest in lane 1. Where events overlap in a lane the pixel shows one of them: a failure
        before a warning, then the later check in the table. At most a run per pixel and lane,
        however many events: painting costs the same for ten events or ten thousand. The
        answer is kept until an event or the geometry changes."""
        key = (self.version, span_s, width_px, lanes)
        if self._runs_key == key:
            return self._runs
        self._runs_key, self._runs = key, self._place(span_s, width_px, lanes)
        return self._runs

    def _place(self, span_s: float, width_px: int, lanes: int) -> list[tuple]:
        n = len(self.events)
        if n == 0 or width_px <= 0 or span_s <= 0:
            return []
        scale = width_px / span_s
        x0 = np.clip(np.floor(self._start[:n] * scale), 0, width_px - 1).astype(np.int64)
        x1 = np.clip(np.ceil(self._end[:n] * scale), 0, width_px).astype(np.int64)
        x1 = np.minimum(np.maximum(x1, x0 + MIN_MARK_PX), width_px)
        checks = list(self._check_ids)  # by index
        table = list(CHECKS)
        rank = {check: i for i, check in enumerate(table + [c for c in checks if c not in CHECKS])}
        # one code per (check, severity), in painting order: warnings, then failures
        pair = self._check[:n].astype(np.int64) * 2 + self._fail[:n]
        present = np.unique(pair)
        order = sorted(present.tolist(), key=lambda p: (p % 2, rank[checks[p // 2]]))
        shown = np.zeros((lanes, width_px + 1), np.int64)  # 0: nothing, else 1 + order index
        by_pair = np.argsort(pair, kind="stable")
        bounds = np.searchsorted(pair[by_pair], present, side="left").tolist() + [n]
        where = {int(p): (bounds[i], bounds[i + 1]) for i, p in enumerate(present.tolist())}
        for code, p in enumerate(order, start=1):
            lo, hi = where[p]
            chosen = by_pair[lo:hi]
            cover = np.zeros(width_px + 1, np.int64)
            np.add.at(cover, x0[chosen], 1)
            np.add.at(cover, x1[chosen], -1)
            lane = 0 if lanes > 1 and is_video_check(checks[p // 2]) else lanes - 1
            shown[lane][np.cumsum(cover) > 0] = code
        runs = []
        for lane in range(lanes):
            row = shown[lane][:width_px]
            edges = np.flatnonzero(np.diff(row)) + 1
            starts = np.concatenate(([0], edges))
            stops = np.concatenate((edges, [width_px]))
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
                code = int(row[a])
                if code:
                    p = order[code - 1]
                    runs.append((lane, checks[p // 2], bool(p % 2), a, b))
        return runs

    def near(self, t0_s: float, t1_s: float) -> list[LiveEvent]:
        """Events overlapping ``t0_s``..``t1_s``, oldest first."""
        n = len(self.events)
        hit = np.flatnonzero((self._start[:n] <= t1_s) & (self._end[:n] >= t0_s))
        return [self.events[i] for i in hit]


class LiveEventStrip(QWidget):
    """The take's live QC events: the latest in words, marks along the take's elapsed time
    (the picture's checks in one lane, the sound's in another, failures full height), and a
    chip per check with its count. Cleared when a take starts; kept after Stop, beside the
    verdict (``LastTakePanel``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("liveEvents")
        self.model = LiveEvents()
        self.kind = "audio"
        self.elapsed_s = 0.0
        self.recording = False
        self.paints = 0  # paintEvents so far (tests, benchmark)
        self.interval_ms = REPAINT_MS
        self._painted_at = -math.inf
        self._pending = False
        self._shown_now = (-1, 0.0)  # (x of the elapsed time, span) last painted
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._repaint_due)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # every pixel painted: nothing behind it
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMinimumWidth(240)
        self._fit_height()

    # -- what the bench calls ----------------------------------------------------------------
    def start_take(self, kind: str = "audio") -> None:
        """A new take: nothing shown from the last one."""
        self.model.clear()
        self.kind = kind
        self.elapsed_s = 0.0
        self.recording = True
        self._changed()

    def stop_take(self, duration_s: float | None = None) -> None:
        """The take closed: its events stay, the elapsed time stops at its length."""
        self.recording = False
        if duration_s is not None and math.isfinite(duration_s):
            self.elapsed_s = max(self.elapsed_s, float(duration_s))
        self._changed()

    def add_event(self, fields: dict) -> bool:
        """A ``qc_live`` event's fields; False when it is malformed or changes nothing."""
        event = parse_live_event(fields)
        if event is None or not self.model.add(event):
            return False
        self._changed()
        return True

    def set_elapsed(self, elapsed_s: float) -> None:
        if not math.isfinite(elapsed_s) or elapsed_s == self.elapsed_s:
            return
        self.elapsed_s = float(elapsed_s)
        if self._now_position() != self._shown_now:  # a repaint only when the strip moves
            self._changed(NOW_REPAINT_MS)

    def set_ease(self, level: int) -> None:
        """The controller's ease level: repaint less often while the take's queue fills."""
        self.interval_ms = EASED_REPAINT_MS[max(0, min(level, len(EASED_REPAINT_MS) - 1))]

    def latest_text(self) -> str:
        latest = self.model.latest
        if latest is not None:
            return latest.words()
        if self.recording:
            return "Live QC: no events yet"
        return "Live QC: events appear here while a take records"

    def counts(self) -> dict[str, int]:
        return dict(self.model.counts)

    def span_s(self) -> float:
        return strip_span_s(max(self.elapsed_s, self.model.latest_end_s))

    # -- repainting, rationed ----------------------------------------------------------------
    def _changed(self, every_ms: int | None = None) -> None:
        """Repaint once ``every_ms`` (the strip's interval unless longer) has passed since
        the last paint; an earlier request already waiting is kept."""
        every_ms = max(self.interval_ms, every_ms or 0)
        wait_ms = every_ms - (time.monotonic() - self._painted_at) * 1000
        if self._pending:
            if self._timer.remainingTime() <= wait_ms:
                return
            self._timer.stop()
        if wait_ms <= 0:
            self._pending = False
            self.update()  # Qt folds further calls into one paint
        else:
            self._pending = True
            self._timer.start(int(wait_ms) + 1)

    def _repaint_due(self) -> None:
        self._pending = False
        self.update()

    # -- geometry ----------------------------------------------------------------------------
    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        words = QFont(self.font())
        words.setBold(True)
        words.setPointSizeF(max(self.font().pointSizeF(), 9.0) * 1.1)
        chips = QFont(self.font())
        chips.setPointSizeF(max(self.font().pointSizeF() * 0.92, 8.0))
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() * 0.85, 7.5))
        return words, chips, small

    def _rows(self) -> dict[str, QRectF]:
        """Where each part goes: the latest event, the strip, its tick labels, the chips."""
        words, chips, small = (QFontMetrics(f) for f in self._fonts())
        width = float(self.width())
        top = 2.0
        rows = {"words": QRectF(0, top, width, words.height() + 4)}
        top += rows["words"].height() + 2
        label_w = float(small.horizontalAdvance("Picture") + 10)
        rows["lanes"] = QRectF(label_w, top, max(width - label_w - 8, 1.0), LANES_PX)
        top += LANES_PX
        rows["ticks"] = QRectF(label_w, top, rows["lanes"].width(), small.height() + 2)
        top += rows["ticks"].height() + 3
        rows["chips"] = QRectF(0, top, width, chips.height() + 6)
        rows["all"] = QRectF(0, 0, width, top + rows["chips"].height() + 2)
        return rows

    def _fit_height(self) -> None:
        self.setFixedHeight(int(math.ceil(self._rows()["all"].height())))

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.StyleChange, QEvent.FontChange):
            self._fit_height()

    def showEvent(self, event) -> None:  # noqa: N802
        self._fit_height()  # the style sheet's font is known by now
        super().showEvent(event)

    def _now_position(self) -> tuple[int, float]:
        span = self.span_s()
        lanes = self._rows()["lanes"]
        return int(lanes.width() * min(self.elapsed_s / span, 1.0)), span

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        self.paints += 1
        self._painted_at = time.monotonic()
        rows = self._rows()
        words_font, chip_font, small_font = self._fonts()
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        self._paint_words(painter, rows["words"], words_font, chip_font)
        self._paint_strip(painter, rows, small_font)
        self._paint_chips(painter, rows["chips"], chip_font)
        painter.end()

    def _paint_words(self, painter: QPainter, row: QRectF, font: QFont, right_font: QFont):
        latest = self.model.latest
        # right: how many so far
        n = len(self.model)
        right = f"{n} event{'s' if n != 1 else ''} live" if n else ""
        right_w = QFontMetrics(right_font).horizontalAdvance(right) if right else 0
        words = self.latest_text()
        words_w = QFontMetrics(font).horizontalAdvance(words)
        if words_w + row.height() + right_w + 24 > row.width():  # the words come first
            right, right_w = "", 0
        if right:
            painter.setFont(right_font)
            painter.setPen(_DIM)
            painter.drawText(row, Qt.AlignRight | Qt.AlignVCenter, right)
        # left: the latest event, a square of its check's colour before it
        painter.setFont(font)
        x = row.left()
        text_room = row.width() - right_w - 24
        if latest is not None:
            side = row.height() * 0.5
            painter.fillRect(
                QRectF(x, row.center().y() - side / 2, side, side),
                QColor(check_colour(latest.check)),
            )
            x += side + 6
            painter.setPen(QColor(VERDICT_COLOURS["fail"]) if latest.severity == "fail" else _TEXT)
        else:
            painter.setPen(_DIM)
        text = QFontMetrics(font).elidedText(words, Qt.ElideRight, int(text_room))
        painter.drawText(QRectF(x, row.top(), text_room, row.height()), Qt.AlignVCenter, text)
        room = text_room - words_w - 12
        if latest is not None and latest.detail and room > 40:  # what it measured, if it fits
            painter.setFont(right_font)
            painter.setPen(_DIM)
            detail = QFontMetrics(right_font).elidedText(
                f"— {latest.detail}", Qt.ElideRight, int(room)
            )
            painter.drawText(
                QRectF(x + words_w + 8, row.top(), room, row.height()), Qt.AlignVCenter, detail
            )

    def _lanes(self) -> list[tuple[str, bool]]:
        """(label, video) for each lane, top down."""
        return [("Picture", True), ("Sound", False)] if self.kind == "video" else [("Sound", False)]

    def _paint_strip(self, painter: QPainter, rows: dict[str, QRectF], small: QFont) -> None:
        lanes_rect = rows["lanes"]
        span = self.span_s()
        width = int(lanes_rect.width())
        left, top = lanes_rect.left(), lanes_rect.top()
        painter.fillRect(lanes_rect, _BACKGROUND)
        now_x = int(width * min(self.elapsed_s / span, 1.0))
        self._shown_now = (now_x, span)
        painter.fillRect(QRectF(left, top, now_x, lanes_rect.height()), _RECORDED)
        lanes = self._lanes()
        lane_h = lanes_rect.height() / len(lanes)
        painter.setFont(small)
        metrics = QFontMetrics(small)
        step = tick_step_s(span, width, metrics.horizontalAdvance(fmt_take_time(span)))
        t, shown_to = 0.0, -math.inf
        while t <= span + 1e-6:  # ticks and their labels, none over another
            x = left + t / span * width
            painter.setPen(QPen(_GRID, 1))
            painter.drawLine(int(x), int(top), int(x), int(lanes_rect.bottom()))
            label = fmt_take_time(t)
            label_w = metrics.horizontalAdvance(label)
            lx = min(max(x - label_w / 2, left), lanes_rect.right() - label_w)
            if lx > shown_to + 6:
                painter.setPen(_DIM)
                where = QRectF(lx, rows["ticks"].top(), label_w + 2, rows["ticks"].height())
                painter.drawText(where, Qt.AlignLeft | Qt.AlignVCenter, label)
                shown_to = lx + label_w
            t += step
        for i, (label, _video) in enumerate(lanes):
            painter.setPen(_DIM)
            where = QRectF(0, top + i * lane_h, left - 6, lane_h)
            painter.drawText(where, Qt.AlignRight | Qt.AlignVCenter, label)
            if i:
                painter.setPen(QPen(_GRID, 1))
                y = int(top + i * lane_h)
                painter.drawLine(int(left), y, int(lanes_rect.right()), y)
        colours: dict[str, QColor] = {}
        for lane, check, fail, x0, x1 in self.model.runs(span, width, len(lanes)):
            colour = colours.setdefault(check, QColor(check_colour(check)))
            inset = 2.0 if fail else lane_h * 0.28  # a failure fills its lane, a warning half
            painter.fillRect(
                QRectF(left + x0, top + lane * lane_h + inset, x1 - x0, lane_h - 2 * inset), colour
            )
        if self.recording or self.elapsed_s > 0:
            painter.fillRect(QRectF(left + now_x - 1, top, 2, lanes_rect.height()), _NOW)

    def _paint_chips(self, painter: QPainter, row: QRectF, font: QFont) -> None:
        painter.setFont(font)
        metrics = QFontMetrics(font)
        x = row.left()
        order = self.model.chip_order()
        for i, check in enumerate(order):
            fails = self.model.fails.get(check, 0)
            text = f"{check_title(check)} {self.model.counts[check]}"
            width = metrics.horizontalAdvance(text) + 22
            rest = len(order) - i - 1
            more = f"+{rest} more" if rest else ""
            if x + width + (metrics.horizontalAdvance(more) + 8 if rest else 0) > row.right():
                painter.setPen(_DIM)
                where = QRectF(x, row.top(), row.right() - x, row.height())
                painter.drawText(where, Qt.AlignVCenter, f"+{len(order) - i} more")
                return
            chip = QRectF(x, row.top() + 2, width, row.height() - 4)
            painter.setPen(QPen(QColor(VERDICT_COLOURS["fail"]) if fails else _GRID, 1))
            painter.setBrush(QColor("#23282d"))
            painter.drawRoundedRect(chip, 3, 3)
            painter.fillRect(
                QRectF(chip.left() + 5, chip.center().y() - 4, 8, 8), QColor(check_colour(check))
            )
            painter.setPen(_TEXT)
            painter.drawText(chip.adjusted(17, 0, 0, 0), Qt.AlignVCenter, text)
            x += width + 4

    # -- hover: the events under the pointer, in words ---------------------------------------
    def event(self, event) -> bool:
        if event.type() == QEvent.ToolTip:
            QToolTip.showText(
                event.globalPos(), self._tooltip_at(event.pos().x(), event.pos().y()), self
            )
            return True
        return super().event(event)

    def _tooltip_at(self, x: float, y: float = -1.0) -> str:
        rows = self._rows()
        if rows["chips"].top() <= y and self.model.counts:  # every count, with the hidden ones
            return "\n".join(
                f"{check_title(check)}: {self.model.counts[check]}"
                f" ({self.model.fails.get(check, 0)} fail)"
                for check in self.model.chip_order()
            )
        lanes = rows["lanes"]
        if not lanes.left() <= x <= lanes.right() or len(self.model) == 0:
            return "QC events of the take while it records; the Review tab has them all."
        per_px = self.span_s() / max(lanes.width(), 1.0)
        t = (x - lanes.left()) * per_px
        hits = self.model.near(t - 3 * per_px, t + 3 * per_px)
        if not hits:
            return f"{fmt_take_time(t)}: no event"
        lines = [event.words() for event in hits[:TOOLTIP_EVENTS]]
        if len(hits) > TOOLTIP_EVENTS:
            lines.append(f"… {len(hits) - TOOLTIP_EVENTS} more")
        return "\n".join(lines)
