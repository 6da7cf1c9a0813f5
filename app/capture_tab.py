"""The Bench tab, where takes are captured: set-up, transport, audio and video monitoring, health, and the last take."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.controller import AudioSnapshot, BenchController, TakeOutcome, VideoSnapshot
from app.widgets.deck_panel import DeckPanel, DeckSignals
from app.widgets.health import HealthStrip
from app.widgets.live_events import LIVE_EVENT, LiveEventStrip
from app.widgets.meters import MeterBridge
from app.widgets.phase import CorrelationMeter, Goniometer
from app.widgets.picture_view import PictureView
from app.widgets.restyle import restyle
from app.widgets.setup_panel import SetupPanel
from app.widgets.transport import TransportBar
from app.widgets.vectorscope import Vectorscope
from app.widgets.waveform import ScrollingWaveform
from app.widgets.waveform_monitor import WaveformMonitor
from metadata.errors import HeadblockError
from metadata.settings import Settings, save_settings
from metadata.take.naming import item_id_problem, next_take_number

FIRST_EVENTS = 8


class LastTakePanel(QGroupBox):
    """The take under way or just closed: its verdict, the QC events that fired while it
    recorded (``live_events``), the first QC events of the verdict, and its folder."""

    def __init__(self, parent=None):
        super().__init__("Last take", parent)
        lay = QHBoxLayout(self)
        left = QVBoxLayout()
        self.verdict = QLabel("—")
        self.verdict.setObjectName("verdict")
        self.verdict.setAlignment(Qt.AlignCenter)
        self.verdict.setMinimumWidth(130)
        self.summary = QLabel("No take yet.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("takeSummary")
        self.open_button = QPushButton("Open take folder")
        self.open_button.setEnabled(False)
        self.progress = QProgressBar()  # closing the take, then QC
        self.progress.setObjectName("afterTakeProgress")
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        left.addWidget(self.verdict)
        left.addWidget(self.progress)
        left.addWidget(self.open_button)
        lay.addLayout(left)
        right = QVBoxLayout()
        right.addWidget(self.summary)
        self.live_events = LiveEventStrip()  # beside the verdict, during the take and after
        right.addWidget(self.live_events)
        self.events = QListWidget()
        self.events.setObjectName("qcEvents")
        right.addWidget(self.events, 1)
        lay.addLayout(right, 1)
        self.take_dir: Path | None = None
        self.open_button.clicked.connect(self.open_folder)
        self.setMaximumHeight(150 + self.live_events.height())

    def show_progress(self, fraction: float, message: str) -> None:
        """``message`` is "Step: detail": the bar names the step, its tooltip the detail."""
        self.progress.setVisible(True)
        self.progress.setValue(int(round(fraction * 1000)))
        self.progress.setFormat(f"{message.split(':', 1)[0]} %p%")
        self.progress.setToolTip(message)

    def set_verdict(self, verdict: str | None, text: str | None = None) -> None:
        self.verdict.setText((text or verdict or "—").upper())
        restyle(self.verdict, verdict=verdict or "none")

    def show_closed(self, outcome: TakeOutcome) -> None:
        self.progress.setVisible(False)  # QC, if it runs, shows its own
        self.take_dir = outcome.take_dir
        self.open_button.setEnabled(self.take_dir is not None)
        self.events.clear()
        if outcome.error:
            self.set_verdict("fail", "error")
            self.summary.setText(outcome.error)
            return
        self.set_verdict(None, "QC…")
        name = outcome.master.name if outcome.master else "?"
        self.summary.setText(f"{name}: {outcome.duration_s:.1f} s recorded. Checking…")

    def show_proof(self, outcome: TakeOutcome) -> None:
        """The master read back after the verdict: its fixity beside the verdict's summary."""
        if outcome.take_dir != self.take_dir:
            return  # a later take is shown now
        self.progress.setVisible(False)
        text = self.summary.text().removesuffix(" Reading the master back…")
        if outcome.fixity_ok:
            self.summary.setText(f"{text} Fixity verified.")
        else:
            self.summary.setText(f"{text} FIXITY FAILED: {outcome.error or 'see the log'}")
            self.set_verdict("fail")

    def show_qc(self, outcome: TakeOutcome) -> None:
        self.progress.setVisible(outcome.proof_pending)
        self.take_dir = outcome.take_dir
        self.open_button.setEnabled(self.take_dir is not None)
        self.events.clear()
        if outcome.error:
            self.set_verdict(None, "no QC")
            self.summary.setText(outcome.error)
            return
        self.set_verdict(outcome.verdict)
        name = outcome.master.name if outcome.master else "?"
        failing = [
            check.get("id") for check in outcome.checks if check.get("status") in ("warn", "fail")
        ]
        lost = f", {outcome.frames_lost} samples lost" if outcome.frames_lost else ""
        text = f"{name}: {outcome.duration_s:.1f} s{lost}; {len(outcome.events)} QC events"
        if failing:
            text += " — " + ", ".join(str(check_id) for check_id in failing)
        if outcome.proof_pending:
            text += ". Reading the master back…"
        self.summary.setText(text)
        for event in outcome.events[:FIRST_EVENTS]:
            channel = event.get("channel")
            where = f" ch{channel}" if channel else ""
            detail = event.get("detail") or ""
            self.events.addItem(
                f"{event.get('start_s', 0):8.2f} s  {event.get('severity', ''):4}  "
                f"{event.get('check', '')}{where}  {detail}"
            )
        if len(outcome.events) > FIRST_EVENTS:
            self.events.addItem(f"… {len(outcome.events) - FIRST_EVENTS} more (Review tab)")

    def open_folder(self) -> None:
        if self.take_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.take_dir)))


def _boxed(title: str, widget: QWidget) -> QGroupBox:
    """``widget`` in a titled box with a narrow margin."""
    box = QGroupBox(title)
    column = QVBoxLayout(box)
    column.setContentsMargins(4, 4, 4, 4)
    column.addWidget(widget)
    return box


class CaptureTab(QWidget):
    """Everything the technician watches while the tape plays."""

    takeFinished = Signal(object)  # TakeOutcome after QC

    def __init__(self, settings: Settings, parent=None, settings_path: Path | None = None):
        super().__init__(parent)
        self.settings = settings
        self.settings_path = settings_path
        self.controller = BenchController(self)
        self.last_outcome: TakeOutcome | None = None
        self.confirm = self._confirm_dialog  # replaced in tests

        self.transport = TransportBar()
        self.setup = SetupPanel()
        self.setup.setFixedWidth(424)
        self.waveform = ScrollingWaveform(settings.audio.channels, settings.audio.rate_hz)
        self.meters = MeterBridge(settings.audio.channels)
        self.correlation = CorrelationMeter()
        self.goniometer = Goniometer()
        self.goniometer.setMinimumSize(200, 200)
        self.preview = PictureView()
        self.vectorscope = Vectorscope()
        self.waveform_monitor = WaveformMonitor()
        self.health = HealthStrip()
        self.last_take = LastTakePanel()
        self.live_events = self.last_take.live_events
        self.banner = QLabel("")
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.mousePressEvent = self._dismiss_banner
        self.banner.setToolTip("Click to dismiss")

        # the deck (Sony 9-pin), when the station settings name its port
        self.deck = None  # capture.deck.remote.DeckRemote
        self.deck_panel: DeckPanel | None = None
        self._transfer_take = None  # the take a capture from IN to OUT started
        if settings.deck.port.strip():
            self._build_deck()

        # layout
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)
        outer.addWidget(self.transport)
        if self.deck_panel is not None:
            outer.addWidget(self.deck_panel)
        outer.addWidget(self.banner)
        split = QHBoxLayout()
        split.setSpacing(6)
        split.addWidget(self.setup)
        centre = QWidget()
        centre_column = QVBoxLayout(centre)
        centre_column.setContentsMargins(0, 0, 0, 0)
        self.video_row = QWidget()
        video_row = QHBoxLayout(self.video_row)
        video_row.setContentsMargins(0, 0, 0, 0)
        for title, widget, stretch in (
            ("Picture", self.preview, 4),
            ("Vectorscope", self.vectorscope, 3),
            ("Luma waveform", self.waveform_monitor, 4),
        ):
            video_row.addWidget(_boxed(title, widget), stretch)
        self.video_row.setMinimumHeight(260)
        centre_column.addWidget(self.video_row, 5)
        centre_column.addWidget(_boxed("Waveform (6 s)", self.waveform), 4)
        centre_column.addWidget(self.last_take)
        split.addWidget(centre, 1)
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addWidget(_boxed("Levels", self.meters), 3)
        phase_box = _boxed("Phase", self.correlation)
        phase_box.layout().addWidget(self.goniometer, 1)
        side_column.addWidget(phase_box, 2)
        side.setFixedWidth(300)
        split.addWidget(side)
        outer.addLayout(split, 1)
        outer.addWidget(self.health)

        # state
        self.setup.load_settings(settings)
        self._update_video_visibility()
        self._update_next_take()

        # wiring
        controller = self.controller
        self.transport.armToggled.connect(self.set_armed)
        self.transport.recordClicked.connect(self.record)
        self.transport.stopClicked.connect(self.request_stop)
        controller.audioSnapshot.connect(self._show_audio)
        controller.videoSnapshot.connect(self._show_video)
        controller.health.connect(self.health.show_figures)
        controller.elapsed.connect(self.transport.set_elapsed)
        controller.elapsed.connect(self._elapsed)
        controller.timecode.connect(self.transport.set_timecode)
        controller.takeClosed.connect(self._deck_take_closed)
        controller.stateChanged.connect(self._state_changed)
        controller.takeStarted.connect(self._take_started)
        controller.takeClosed.connect(self.last_take.show_closed)
        controller.takeClosed.connect(self._take_closed)
        controller.qcFinished.connect(self._qc_finished)
        controller.proofFinished.connect(self.last_take.show_proof)
        controller.afterTakeProgress.connect(self.last_take.show_progress)
        controller.error.connect(self.show_error)
        controller.engineEvent.connect(self._engine_event)
        self.setup.changed.connect(self._form_changed)
        self.setup.inputsChanged.connect(self._inputs_changed)
        self.space = QShortcut(QKeySequence(Qt.Key_Space), self)
        self.space.setContext(Qt.WindowShortcut)
        self.space.activated.connect(self.toggle_record)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(800)
        self._save_timer.timeout.connect(self.save_settings)
        self._configure()
        self.health.show_figures(controller.health_figures())

    # -- the deck -----------------------------------------------------------------------------
    def _build_deck(self) -> None:
        from capture.deck.remote import DeckRemote

        deck_settings = self.settings.deck
        panel = DeckPanel(deck_settings.port.strip())
        panel.in_field.setText(deck_settings.in_tc)
        panel.out_field.setText(deck_settings.out_tc)
        panel.preroll.setValue(int(deck_settings.preroll_s))
        signals = DeckSignals(self)
        self.deck_signals = signals
        signals.reading.connect(panel.show_reading)
        signals.problem.connect(panel.show_problem)
        signals.message.connect(panel.say)
        signals.reached_in.connect(self._deck_reached_in)
        signals.transfer_done.connect(self._deck_transfer_done)
        panel.commandClicked.connect(self._deck_command)
        panel.cueClicked.connect(self._deck_cue)
        panel.transferClicked.connect(self.capture_in_to_out)
        panel.cancelClicked.connect(self._deck_cancel)
        self.deck_panel = panel
        self.deck = DeckRemote(
            deck_settings.port.strip(),
            timeout_s=float(deck_settings.timeout_s) or 0.5,
            source=deck_settings.source or "ltc",
            on_reading=signals.reading.emit,
            on_problem=signals.problem.emit,
            on_message=signals.message.emit,
            on_in=signals.reached_in.emit,
            on_transfer=signals.transfer_done.emit,
        )
        self.deck.start()

    def _deck_command(self, name: str) -> None:
        try:
            self.deck.command(name)
        except HeadblockError as exc:
            self.deck_panel.say(str(exc), "error")

    def _deck_cue(self, timecode: str) -> None:
        try:
            self.deck.cue(timecode)
        except HeadblockError as exc:
            self.deck_panel.say(str(exc), "error")

    def capture_in_to_out(self) -> None:
        """Cue the deck to IN minus the pre-roll, roll it, record from IN to OUT (the engine of
        the command line's ``--deck --in --out``)."""
        from capture.deck.sony9pin import timecode_bytes
        from capture.deck.transfer import TransferPlan

        panel = self.deck_panel
        self._configure()
        problem = item_id_problem(self.settings.item)
        if problem:
            panel.say(problem, "error")
            self.setup.item_id.setFocus()
            return
        if self.controller.state not in ("idle", "armed"):
            panel.say("a take is running: stop it first", "error")
            return
        in_tc, out_tc = panel.in_field.text().strip(), panel.out_field.text().strip()
        try:
            if not (in_tc and out_tc):
                raise HeadblockError("type the IN and OUT timecodes (HH:MM:SS:FF)")
            timecode_bytes(in_tc), timecode_bytes(out_tc)
            plan = TransferPlan(
                in_tc,
                out_tc,
                preroll_s=panel.preroll.value(),
                source=self.settings.deck.source or "ltc",
            )
            self.settings.deck.in_tc, self.settings.deck.out_tc = in_tc, out_tc
            self.settings.deck.preroll_s = panel.preroll.value()
            self._save_timer.start()
            video = self.settings.mode == "video" and self.settings.video.device
            if not video and self.controller.state == "idle":
                self.set_armed(True)  # armed before the deck rolls: the take starts at IN
                if self.controller.state != "armed":
                    return  # the input said why (banner)
            self.deck.transfer(plan)
        except HeadblockError as exc:
            panel.say(str(exc).replace("--out", "OUT").replace("--in", "IN"), "error")
            return
        self._transfer_take = None
        panel.set_transferring(True)

    def _deck_reached_in(self, timecode: str) -> None:
        self.record()
        take = self.controller.take if self.controller.state == "recording" else None
        if take is None:
            self.deck.finish(None)  # the take could not start: stop the deck, say why
            return
        self._transfer_take = take
        try:
            self.deck.watch(take)
        except HeadblockError as exc:
            self.deck_panel.say(str(exc), "error")
            return
        self.deck_panel.say(f"recording from {timecode}, until {self.settings.deck.out_tc}")

    def _deck_cancel(self) -> None:
        if self._transfer_take is not None and self.controller.state == "recording":
            self.controller.stop()  # the take ends; its close finishes the transfer
        else:
            self.deck.cancel()

    def _deck_take_closed(self, _outcome) -> None:
        if self.deck is not None and self._transfer_take is not None:
            take, self._transfer_take = self._transfer_take, None
            self.deck.finish(take)

    def _deck_transfer_done(self, outcome) -> None:
        panel = self.deck_panel
        panel.set_transferring(False)
        if outcome.complete:
            panel.say(f"captured from {outcome.started_at} to {outcome.stopped_at}")
            return
        text = f"transfer: {outcome.reason}" + (f": {outcome.error}" if outcome.error else "")
        panel.say(text, "error" if outcome.error else "warn")
        if outcome.reason.startswith(("deck lost", "deck stopped")):
            self.show_error(f"The take was cut short: {outcome.reason}")

    # -- settings ---------------------------------------------------------------------------
    def _configure(self) -> bool:
        self.setup.store_settings(self.settings)
        self.controller.configure(self.settings, self.setup.take_meta(), self.settings.item)
        return True

    def _form_changed(self) -> None:
        self._configure()
        self._update_next_take()
        self._save_timer.start()

    def save_settings(self) -> None:
        self._configure()
        try:
            save_settings(self.settings, self.settings_path)
        except Exception as exc:
            self.show_error(str(exc))

    def _inputs_changed(self) -> None:
        self._configure()
        self._update_video_visibility()
        audio = self.settings.audio
        self.meters.set_channels(audio.channels)
        self.waveform.configure(audio.channels, audio.rate_hz)
        if self.controller.state == "armed":  # re-open the monitor with the new input
            self.controller.disarm()
            self.controller.arm()

    def _update_video_visibility(self) -> None:
        video = self.setup.mode() == "video" and bool(self.setup.video_device_value())
        self.video_row.setVisible(video)

    def _update_next_take(self) -> None:
        self.setup.refresh_item_status()
        item = self.setup.item_id.text().strip()
        if self.controller.state in ("recording", "stopping"):
            return
        if item and not item_id_problem(item):
            try:
                number = next_take_number(Path(self.settings.library).expanduser(), item)
            except OSError:
                number = 1
            self.transport.set_take_text(f"Next take  {item}_t{number:02d}")
        else:
            self.transport.set_take_text("Next take  — (enter the item ID)")

    # -- transport --------------------------------------------------------------------------
    def set_armed(self, armed: bool) -> None:
        self._configure()
        if armed:
            self.meters.reset()
            self.controller.arm()
        else:
            self.controller.disarm()
        self.transport.set_state(self.controller.state)

    def record(self) -> None:
        self._configure()
        problem = item_id_problem(self.settings.item)
        if problem:
            self.show_error(problem)
            self.setup.item_id.setFocus()
            return
        self.banner.setVisible(False)
        self.meters.reset()
        if self.settings.mode == "video" and self.settings.video.device:
            self.preview.reset()
        self.controller.record()
        self.transport.set_state(self.controller.state)

    def request_stop(self) -> None:
        if self.controller.state != "recording":
            return
        elapsed = self.controller.elapsed_s()
        limit_s = self.settings.confirm_stop_after_min * 60
        if elapsed > limit_s:
            minutes = elapsed / 60
            if not self.confirm(f"Stop the take after {minutes:.0f} minutes?"):
                return
        self.controller.stop()

    def toggle_record(self) -> None:
        if self.controller.state == "recording":
            self.request_stop()
        elif self.controller.state in ("idle", "armed"):
            self.record()

    def _confirm_dialog(self, text: str) -> bool:
        answer = QMessageBox.question(
            self, "Stop the take", text, QMessageBox.Yes | QMessageBox.No, QMessageBox.No
        )
        return answer == QMessageBox.Yes

    # -- controller signals -----------------------------------------------------------------
    def _state_changed(self, state: str, detail: str) -> None:
        self.transport.set_state(state, detail)
        self.setup.set_inputs_enabled(state in ("idle", "armed"))
        if state in ("idle", "armed"):
            self._update_next_take()
            if state == "idle":
                self.transport.set_elapsed(0.0)

    def _take_started(self, paths) -> None:
        self.transport.set_take_text(f"Recording  {paths.stem}")
        self.transport.set_elapsed(0.0)
        self.last_take.set_verdict(None, "in progress")
        self.last_take.summary.setText(f"{paths.stem} in {paths.directory}")
        self.last_take.events.clear()
        self.live_events.start_take(self.controller.take_kind)

    def _elapsed(self, elapsed_s: float) -> None:
        self.live_events.set_ease(self.controller.ease_level())
        self.live_events.set_elapsed(elapsed_s)

    def _take_closed(self, outcome: TakeOutcome) -> None:
        self.live_events.stop_take(outcome.duration_s if not outcome.error else None)

    def _qc_finished(self, outcome: TakeOutcome) -> None:
        self.last_outcome = outcome
        self.last_take.show_qc(outcome)
        self._update_next_take()
        self.takeFinished.emit(outcome)

    def _engine_event(self, name: str, fields: dict) -> None:
        if name == LIVE_EVENT:  # a check fired during the take: its strip
            self.live_events.add_event(fields)
        elif name in ("disk_warning", "disk_stop"):
            text = fields.get("message") or fields.get("reason") or name.replace("_", " ")
            if name == "disk_stop":
                text = f"The take was stopped: {text}"
            self.show_error(text, level="warn" if name == "disk_warning" else "error")
        elif name in ("overflow", "gap", "frame_drop"):
            pass  # counted in the health strip; the take's log keeps each one

    def _dismiss_banner(self, _event) -> None:
        self.banner.setVisible(False)

    def show_error(self, message: str, level: str = "error") -> None:
        self.banner.setText(message)
        restyle(self.banner, level=level)
        self.banner.setVisible(True)

    def _show_audio(self, snap: AudioSnapshot) -> None:
        if snap.channels != len(self.meters.bars):
            self.meters.set_channels(snap.channels)
        self.waveform.configure(snap.channels, snap.rate_hz)
        self._audio_frame = getattr(self, "_audio_frame", 0) + 1
        slow = self._audio_frame % 3 == 0  # ~10 Hz: figures, correlation
        self.meters.update_levels(snap.peak_dbfs, snap.rms_dbfs, snap.dt_s, numbers=slow)
        wave_every, gonio_every = self.controller.traces_every()
        self.waveform.push(snap.block)
        if self._audio_frame % wave_every == 0:
            self.waveform.redraw()
        if slow:
            self.correlation.set_value(
                snap.correlation if math.isfinite(snap.correlation) else math.nan
            )
        if snap.channels >= 2 and self._audio_frame % gonio_every == 0:
            self.goniometer.push(snap.gonio)

    def _show_video(self, images: VideoSnapshot) -> None:
        # computed off the GUI thread (app/scopes.py): only hand the images over here
        self.preview.show_rgb(images.picture)
        self.vectorscope.show_image(images.vectorscope)
        self.waveform_monitor.show_rgb(images.waveform, images.bit_depth)

    # -- life cycle -------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.save_settings()
        self.controller.shutdown()
        if self.deck is not None:
            self.deck.close()
            self.deck = None
