"""The review view: open a take, scrub its timeline, step through and mark its QC events.

Opening reads only the sidecars (``qc.review_model``); a file with no QC result is checked
first in a worker. Audio plays through ``capture.playback``; frames are decoded by
``app.review.frames``.

Keys: N / P next / previous event, J / K / L shuttle (reverse, stop, forward; again = faster),
Space play/pause, Left / Right one frame (or 40 ms of audio), Home the whole take,
C confirmed, F false alarm. Mouse: wheel zooms, drag pans, a click or the dragged cursor seeks.
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.review.frames import FrameFetcher
from app.review.timeline import Timeline
from app.signoff_dialog import SignoffDialog
from app.widgets.integrity import IntegrityWatcher, integrity_label, read_take_integrity
from app.widgets.picture_view import PictureView
from app.widgets.row_table import row_table
from app.widgets.vectorscope import Vectorscope
from app.widgets.waveform_monitor import WaveformMonitor
from app.workers import JobRunner
from capture.playback import AudioPlayer
from metadata.errors import HeadblockError
from metadata.review.marks import MARK_LABELS, add_mark, current_marks, event_key, take_paths
from metadata.verdicts import VERDICT_COLOURS
from qc.review_model import ReviewModel, load_review_model, needs_qc
from qc.table import check_colour

log = logging.getLogger(__name__)


def fmt_time(t_s: float) -> str:
    t_s = max(0.0, float(t_s))
    hours, rem = divmod(t_s, 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{seconds:06.3f}"


class ReviewView(QWidget):
    """Open a take (or any WAV/MKV), scrub its timeline, step through and mark its events."""

    COLUMNS = ("time", "check", "ch", "severity", "value", "review")
    take_signed = Signal(object, dict)  # take folder, the decision recorded

    def __init__(self, parent=None, library: Path | None = None):
        super().__init__(parent)
        self.library = Path(library) if library else None
        self.model: ReviewModel | None = None
        self.cursor_s = 0.0
        self.current = -1
        self.player: AudioPlayer | None = None
        self.fetcher: FrameFetcher | None = None
        self.jobs = JobRunner(self)
        self.open_url = QDesktopServices.openUrl  # replaced in tests
        self.show_error_boxes = True
        self.derive_panel = None  # the access copy row, once the window gives its deliveries
        self._build()
        self._shortcuts()
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(50)
        self._play_timer.timeout.connect(self._follow_player)
        # the after-take integrity job's state in the header, followed until it ends
        self.integrity: dict | None = None
        self.integrity_watch = IntegrityWatcher(self)
        self.integrity_watch.changed.connect(self._integrity_changed)

    # -- layout
    def _build(self) -> None:
        top = QHBoxLayout()
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self._choose_file)
        self.title = QLabel("No take open")
        self.title.setStyleSheet("font-weight: bold")
        self.reviewer = QLineEdit(QSettings().value("review/reviewer", "") or getpass.getuser())
        self.reviewer.setPlaceholderText("reviewer")
        self.reviewer.setMaximumWidth(160)
        self.reviewer.setToolTip("Your name: recorded with every mark")
        self.report_button = QPushButton("Report")
        self.report_button.setToolTip("Write the QC report (HTML and PDF) and open it")
        self.report_button.clicked.connect(self.open_report)
        self.signoff_button = QPushButton("Sign off…")
        self.signoff_button.clicked.connect(self._signoff)
        for widget in (self.open_button, self.title):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(QLabel("Reviewer"))
        for widget in (self.reviewer, self.report_button, self.signoff_button):
            top.addWidget(widget)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel("")
        # An error shows red for 6 s; a child timer dies with the view, so it never fires later.
        self._error_fade = QTimer(self, singleShot=True, interval=6000)
        self._error_fade.timeout.connect(lambda: self.status.setStyleSheet("color: #8a929a"))
        self.status.setStyleSheet("color: #8a929a")

        self.timeline = Timeline()
        self.timeline.cursor_moved.connect(self.set_cursor)
        self.picture = PictureView()
        self.vectorscope = Vectorscope()
        self.waveform_monitor = WaveformMonitor()
        self.frame_panel = QWidget()
        frame_row = QHBoxLayout(self.frame_panel)
        frame_row.setContentsMargins(0, 0, 0, 0)
        frame_row.addWidget(self.picture, 4)
        frame_row.addWidget(self.waveform_monitor, 3)
        frame_row.addWidget(self.vectorscope, 3)
        self.frame_panel.setVisible(False)
        self.frame_panel.setMinimumHeight(170)

        self.legend = QLabel("")
        self.legend.setToolTip("QC event colours; ▼ marks an event's start (larger: fail)")
        timeline_box = QWidget()
        timeline_column = QVBoxLayout(timeline_box)
        timeline_column.setContentsMargins(0, 0, 0, 0)
        timeline_column.setSpacing(2)
        timeline_column.addWidget(self.legend)
        timeline_column.addWidget(self.timeline, 1)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(timeline_box)
        left.addWidget(self.frame_panel)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([560, 230])

        self.table = row_table(self.COLUMNS)
        self.table.itemSelectionChanged.connect(self._row_selected)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.confirm_button = QPushButton("Confirmed (C)")
        self.false_button = QPushButton("False alarm (F)")
        self.note_button = QPushButton("Note…")
        self.confirm_button.clicked.connect(lambda: self.mark_current("confirmed"))
        self.false_button.clicked.connect(lambda: self.mark_current("false_alarm"))
        self.note_button.clicked.connect(self._note)
        marks = QHBoxLayout()
        for button in (self.confirm_button, self.false_button, self.note_button):
            marks.addWidget(button)
        right = QWidget()
        events_column = QVBoxLayout(right)
        events_column.setContentsMargins(0, 0, 0, 0)
        self.events_label = QLabel("Events")
        events_column.addWidget(self.events_label)
        events_column.addWidget(self.table, 1)
        events_column.addWidget(self.detail)
        events_column.addLayout(marks)
        self.transport = QLabel("00:00:00.000  ■")
        self.transport.setStyleSheet("font-family: monospace; font-size: 13pt")
        events_column.addWidget(self.transport)
        events_column.addWidget(
            QLabel("N/P event · J/K/L shuttle · Space play · ←/→ frame · Home fit")
        )

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([860, 500])

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        self.delivery_row = QHBoxLayout()
        lay.addLayout(self.delivery_row)
        lay.addWidget(self.progress)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        self._enable(False)

    def _shortcuts(self) -> None:
        for key, action in (
            ("N", self.next_event),
            ("P", self.previous_event),
            ("J", lambda: self.shuttle(-1)),
            ("K", self.stop_playback),
            ("L", lambda: self.shuttle(1)),
            ("Space", self.toggle_play),
            ("Left", lambda: self.step_frames(-1)),
            ("Right", lambda: self.step_frames(1)),
            ("Home", self.fit_timeline),
            ("C", lambda: self.mark_current("confirmed")),
            ("F", lambda: self.mark_current("false_alarm")),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(action)

    def _enable(self, on: bool) -> None:
        for button in (
            self.report_button,
            self.signoff_button,
            self.confirm_button,
            self.false_button,
            self.note_button,
        ):
            button.setEnabled(on)

    def attach_delivery(self, manager) -> None:
        """Show the access copy row of the open take (``app.delivery.DeliveryManager``)."""
        from app.widgets.derive_panel import DerivePanel

        self.derive_panel = DerivePanel(manager, self)
        self.delivery_row.addWidget(self.derive_panel)
        self._bind_derive()

    def _bind_derive(self) -> None:
        if self.derive_panel is None:
            return
        paths = self.model.paths if self.model is not None else None
        self.derive_panel.set_take(paths.directory if paths and paths.take_number else None)

    # -- opening
    def _choose_file(self) -> None:
        start = str(self.library or Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a take or a file", start, "Masters (*.wav *.mkv *.qc.json);;All files (*)"
        )
        if path:
            chosen = Path(path)
            self.open_path(chosen.parent if chosen.name.endswith(".qc.json") else chosen)

    def open_path(self, path: Path) -> None:
        """Open a take folder or a master; QC runs first (in a worker) when it has no result."""
        path = Path(path)
        try:
            if not path.exists():
                raise HeadblockError(f"{path} does not exist")
            if needs_qc(path):
                self._run_qc(path)
                return
            self._show(load_review_model(path))
        except HeadblockError as exc:
            self._error(str(exc))

    def _run_qc(self, path: Path) -> None:
        master = path if path.is_file() else take_paths(path).master_if_present()
        if master is None:
            self._error(f"{path} has no master to check")
            return

        def job(progress=None):
            from qc.runner import run_qc

            run_qc(master, progress=progress)
            return path

        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(f"Checking {master.name}…")
        self.jobs.submit(
            job,
            on_finished=self._qc_done,
            on_failed=lambda msg: (self.progress.setVisible(False), self._error(msg)),
            on_progress=lambda fraction, message: (
                self.progress.setValue(int(fraction * 1000)),
                self.progress.setFormat(f"QC {fraction * 100:.0f}% {message}"),
            ),
        )

    def _qc_done(self, path) -> None:
        self.progress.setVisible(False)
        try:
            self._show(load_review_model(Path(path)))
        except HeadblockError as exc:
            self._error(str(exc))

    def _show(self, model: ReviewModel) -> None:
        self.close_take()
        self.model = model
        self.integrity = model.qc.get("integrity") or read_take_integrity(model.paths.directory)
        self._set_title()
        self.integrity_watch.watch(model.paths.directory, self.integrity)
        self.timeline.show_model(model)
        self.legend.setText(
            "Events: "
            + " &nbsp; ".join(
                f"<span style='color:{check_colour(check)}'>■</span> {check}"
                for check in self.timeline.checks
            )
            if self.timeline.checks
            else "No QC events"
        )
        self._fill_table()
        self.frame_panel.setVisible(
            model.vstats is not None
            or (model.master is not None and model.master.suffix.lower() == ".mkv")
        )
        if model.master is not None and model.master.suffix.lower() == ".mkv":
            self.fetcher = FrameFetcher(model.master, self)
            self.fetcher.frame_ready.connect(self._show_frame)
            self.fetcher.failed.connect(self._frame_failed)
        self._enable(True)
        self._bind_derive()
        self.current = -1
        self.set_cursor(0.0)
        self.status.setText(f"{len(model.events)} event(s) · {model.paths.directory}")
        for warning in model.warnings:
            self._error(warning)

    def _set_title(self) -> None:
        model = self.model
        verdict = str(model.qc.get("verdict", "?"))
        text = (
            f"{model.paths.stem} — {model.kind}, {fmt_time(model.duration_s)}, verdict "
            f"<span style='color:{VERDICT_COLOURS.get(verdict, '#fff')}'>{verdict.upper()}</span>"
        )
        state, colour, tip = integrity_label(self.integrity)
        if state:
            text += f", integrity <span style='color:{colour}'>{state}</span>"
        self.title.setText(text)
        self.title.setToolTip(f"After-take integrity: {tip}")

    def _integrity_changed(self, take_dir: str, entry) -> None:
        """The job ended (or verify ran): a failure brings the framemd5 events and a new
        verdict, so the take is read again; the cursor stays where it was."""
        if self.model is None or str(self.model.paths.directory) != take_dir:
            return
        if (entry or {}).get("state") == "pending":
            self.integrity = entry
            self._set_title()
            return
        cursor = self.cursor_s
        try:
            self._show(load_review_model(Path(take_dir)))
        except HeadblockError as exc:
            self._error(str(exc))
            return
        self.set_cursor(cursor)

    def close_take(self) -> None:
        if self.model is not None:
            self.integrity_watch.forget(self.model.paths.directory)
        self.stop_playback()
        if self.player is not None:
            self.player.close()
            self.player = None
        if self.fetcher is not None:
            self.fetcher.close()
            self.fetcher = None
        self.model = None
        self.picture.reset()
        self._enable(False)
        self._bind_derive()

    def closeEvent(self, ev):  # noqa: N802 (Qt API)
        self.close_take()
        self.jobs.wait(5000)
        super().closeEvent(ev)

    def _fill_table(self) -> None:
        events = self.model.events
        self.table.setRowCount(len(events))
        for row, event in enumerate(events):
            value = event.get("value")
            cells = (
                fmt_time(float(event.get("start_s") or 0)),
                str(event.get("check", "")),
                "" if event.get("channel") is None else str(event.get("channel")),
                str(event.get("severity", "")),
                ""
                if value is None
                else (f"{value:.2f}" if isinstance(value, float) else str(value)),
                self._mark_text(event),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 1:
                    item.setForeground(QColor(check_colour(text)))
                if col == 3 and text in ("warn", "fail"):
                    item.setForeground(QColor(VERDICT_COLOURS[text]))
                self.table.setItem(row, col, item)
        self.events_label.setText(f"Events ({len(events)})")

    def _mark_text(self, event: dict) -> str:
        mark = self.model.marks.get(event_key(event)) if self.model else None
        if not mark:
            return ""
        text = MARK_LABELS.get(mark.get("mark"), mark.get("mark", ""))
        if mark.get("note"):
            text += f": {mark['note']}"
        return text

    # -- events
    def select_event(self, index: int) -> None:
        if self.model is None or not self.model.events:
            return
        index = max(0, min(index, len(self.model.events) - 1))
        self.table.selectRow(index)  # -> _row_selected

    def _row_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows() if self.model else []
        if not rows:
            return
        self.current = rows[0].row()
        event = self.model.events[self.current]
        start = float(event.get("start_s") or 0)
        end = float(event.get("end_s") or start)
        self.timeline.highlight(start, end)
        span = max(10 * (end - start), 2.0)
        (x0, x1), _ = self.timeline.plots[0].viewRange()
        if not (x0 <= start <= x1) or (x1 - x0) > 50 * span:
            self.timeline.zoom_around(start, min(span * 5, self.model.duration_s))
        self.set_cursor(start)
        self.detail.setText(
            f"<b>{event.get('check')}</b> {fmt_time(start)}–{fmt_time(end)}{self._tc_text(start)} "
            f"{'ch ' + str(event['channel']) if event.get('channel') else ''} · "
            f"{event.get('severity')} · {event.get('detail', '')}"
        )

    def next_event(self) -> None:
        if self.model is not None:
            following = self.model.event_after(self.current, self.cursor_s)
            if following is not None:
                self.select_event(following)

    def previous_event(self) -> None:
        if self.model is not None:
            preceding = self.model.event_before(self.current, self.cursor_s)
            if preceding is not None:
                self.select_event(preceding)

    def current_event(self) -> dict | None:
        if self.model is None or not (0 <= self.current < len(self.model.events)):
            return None
        return self.model.events[self.current]

    def mark_current(self, mark: str, note: str = "") -> dict | None:
        event = self.current_event()
        if event is None:
            self.status.setText("Select an event first")
            return None
        name = self.reviewer.text().strip()
        if not name:
            self._error("Type your name in the Reviewer box first")
            return None
        target = self.model.paths.directory if self.model.paths.take_number else self.model.master
        try:
            saved = add_mark(target, event, mark, name, note)
        except HeadblockError as exc:
            self._error(str(exc))
            return None
        QSettings().setValue("review/reviewer", name)
        try:
            self.model.marks = current_marks(self.model.paths.review_json)
        except HeadblockError:
            self.model.marks[event_key(event)] = saved
        self.table.item(self.current, len(self.COLUMNS) - 1).setText(self._mark_text(event))
        self.status.setText(
            f"Saved: {MARK_LABELS[mark]} on {event.get('check')} "
            f"at {fmt_time(float(event.get('start_s') or 0))}"
        )
        return saved

    def _note(self) -> None:
        if self.current_event() is None:
            return
        text, ok = QInputDialog.getText(self, "Note on the event", "Note:")
        if ok and text.strip():
            self.mark_current("note", text)

    # -- cursor, playback, frames
    def set_cursor(self, t_s: float) -> None:
        if self.model is None:
            return
        self.cursor_s = min(max(0.0, float(t_s)), self.model.duration_s)
        self.timeline.set_cursor(self.cursor_s)
        self._update_transport()
        if self.fetcher is not None:
            self.fetcher.request(self.cursor_s)
        if (
            self.player is not None
            and self.player.playing
            and abs(self.player.position_s - self.cursor_s) > 0.1
        ):
            try:  # a click or a jump while playing: play on from there
                self.player.play(self.cursor_s, self.player.speed)
            except HeadblockError as exc:
                self._error(str(exc))

    def _update_transport(self) -> None:
        state = "■"
        if self.player is not None and self.player.playing:
            speed = self.player.speed
            state = ("◀" if speed < 0 else "▶") + (f" ×{abs(speed)}" if abs(speed) > 1 else "")
        self.transport.setText(f"{fmt_time(self.cursor_s)}{self._tc_text(self.cursor_s)}  {state}")

    def _tc_text(self, t_s: float) -> str:
        """ "  TC 01:00:12;10" at media time ``t_s`` when the take has the tape's timecode."""
        timecode = self.model.timecode if self.model is not None else None
        tc = timecode.at(t_s) if timecode is not None else None
        return f"  TC {tc}" if tc else ""

    def _ensure_player(self) -> AudioPlayer | None:
        if self.model is None or self.model.master is None:
            return None
        if self.player is None:
            try:
                self.player = AudioPlayer(self.model.master)
            except HeadblockError as exc:
                self._error(str(exc))
                return None
            except Exception as exc:
                self._error(f"cannot play {self.model.master.name}: {exc}")
                return None
        return self.player

    def shuttle(self, direction: int) -> None:
        """J/L: start in that direction; pressed again, twice as fast (up to ×8)."""
        player = self._ensure_player()
        if player is None:
            return
        if player.playing and (player.speed > 0) == (direction > 0):
            speed = max(-8, min(8, player.speed * 2))
        else:
            speed = direction
        try:
            player.play(self.cursor_s, speed)
        except HeadblockError as exc:
            self._error(str(exc))
            return
        self._play_timer.start()
        self._update_transport()

    def toggle_play(self) -> None:
        if self.player is not None and self.player.playing:
            self.stop_playback()
        else:
            self.shuttle(1)

    def stop_playback(self) -> None:
        self._play_timer.stop()
        if self.player is not None and self.player.playing:
            self.player.stop()
            self.set_cursor(self.player.position_s)
        self._update_transport()

    def _follow_player(self) -> None:
        player = self.player
        if player is None or not player.playing:
            self._play_timer.stop()
            self._update_transport()
            return
        self.cursor_s = player.position_s
        self.timeline.set_cursor(self.cursor_s)
        self.timeline.ensure_visible(self.cursor_s)
        self._update_transport()
        if self.fetcher is not None:
            self.fetcher.request(self.cursor_s)

    def fit_timeline(self) -> None:
        """Home: the whole take in view again after zooming."""
        if self.model is not None and self.timeline.plots:
            self.timeline.plots[0].setXRange(0, max(self.model.duration_s, 0.001), padding=0)

    def step_frames(self, n: int) -> None:
        if self.model is None:
            return
        self.stop_playback()
        self.set_cursor(self.cursor_s + n * self.model.frame_s)
        self.timeline.ensure_visible(self.cursor_s)

    def _frame_failed(self, message: str) -> None:
        self.status.setText(message)

    def _show_frame(self, t_s: float, planes) -> None:
        y, u, v, bits = planes
        self.last_planes = planes
        self.picture.show_planes(y, u, v, bits)
        self.waveform_monitor.show_luma(y, bits)
        self.vectorscope.show_chroma(u, v, bits)
        self.last_frame_s = t_s

    # -- report and sign-off
    def open_report(self) -> None:
        if self.model is None:
            return
        paths = self.model.paths
        target = paths.directory if paths.take_number else self.model.master

        def job(progress=None):
            from qc.report import write_report

            if paths.qc_html.exists() and _signed(paths):
                return paths.qc_html  # kept as signed
            write_report(target, pdf=True, progress=progress)
            return paths.qc_html

        self.progress.setVisible(True)
        self.jobs.submit(
            job,
            on_finished=lambda report: (
                self.progress.setVisible(False),
                self.open_url(QUrl.fromLocalFile(str(report))),
            ),
            on_failed=lambda msg: (self.progress.setVisible(False), self._error(msg)),
            on_progress=lambda fraction, _message: self.progress.setValue(int(fraction * 1000)),
        )

    def _signoff(self) -> None:
        if self.model is None or not self.model.paths.take_number:
            self._error("Only a take in the library can be signed off")
            return
        try:
            dlg = SignoffDialog(self.model.paths.directory, self)
        except HeadblockError as exc:
            self._error(str(exc))
            return
        take_dir = self.model.paths.directory
        dlg.signed.connect(
            lambda entry: self.status.setText(
                f"{self.model.paths.stem if self.model else ''}: {entry['decision']} by "
                f"{entry['by']} at {entry['at_utc']}"
            )
        )
        dlg.signed.connect(lambda entry: self.take_signed.emit(take_dir, entry))
        dlg.open()
        return dlg

    def _error(self, message: str) -> None:
        self.status.setText(message)
        log.warning("review: %s", message)
        self.status.setStyleSheet("color: #e57373")
        self._error_fade.start()
        if self.isVisible() and self.show_error_boxes:
            box = QMessageBox(QMessageBox.Icon.Warning, "Review", message, parent=self)
            box.open()  # not exec(): a message never stops the window


def _signed(paths) -> bool:
    return paths.signoff_json.exists()
