"""Between the capture engine and the window.

The engine runs on its own threads (audio callback, writer, encoder). This controller never
touches them from the GUI thread beyond cheap, copying accessors (``latest``, ``stats``,
``status``, ``latest_frame``): a QTimer at ~30 fps pulls a snapshot and emits it as one Qt
signal per refresh (never one per audio block). Engine callbacks (``on_event`` from engine
threads) go into a queue drained by the same timer. Starting a take is quick; closing it
(joining the writer, fixity read-back) and QC run in a worker, so a busy window never delays
the engine and a closing take never freezes the window.
"""

from __future__ import annotations

import math
import queue
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.scopes import ScopeWorker, VideoImages
from app.widgets.health import HealthFigures
from app.workers import JobRunner
from capture.priority import AFTER_TAKE_NICE, lower_this_thread, on_engine_thread
from metadata.errors import HeadblockError
from metadata.settings import Settings
from metadata.take.meta import TakeMeta
from qc.measures import correlation, peak_dbfs, rms_dbfs  # imported now: scipy takes seconds

REFRESH_HZ = 30
RMS_WINDOW_S = 0.3
GONIO_FRAMES = 2048
MAX_DISPLAY_BLOCK_S = 1.0  # after a stall, the display catches up on the last second only
# Display easing by the take's queue fill (level = how many of these it has passed), and the
# refresh ticks between repaints at each level (30 Hz ticks).
EASE_FILLS = (0.1, 0.3, 0.6)
METERS_EVERY = (1, 1, 1, 2)
PICTURE_EVERY = (3, 6, 15, 30)
WAVEFORM_EVERY_VIDEO = (3, 4, 6, 10)
GONIO_EVERY_VIDEO = (4, 6, 10, 30)


@dataclass
class AudioSnapshot:
    """What the meters and scopes show for one refresh."""

    channels: int
    rate_hz: int
    block: np.ndarray  # every frame since the last refresh (capped), float32 (n, channels)
    peak_dbfs: np.ndarray  # of ``block``: instant attack, no peak missed between refreshes
    rms_dbfs: np.ndarray  # over the last RMS_WINDOW_S
    correlation: float  # over the last RMS_WINDOW_S; NaN with fewer than two channels
    gonio: np.ndarray  # the newest GONIO_FRAMES frames
    dt_s: float
    frames_received: int
    newest_at: float  # monotonic time of this snapshot (for latency figures)
    newest_frame_at: float | None = None  # monotonic time the newest frame reached the engine


VideoSnapshot = VideoImages  # what ``videoSnapshot`` carries: images ready to show


@dataclass
class TakeOutcome:
    """What the window shows once a take is closed and checked."""

    take_dir: Path | None
    master: Path | None
    verdict: str | None = None  # pass | warn | fail, None when QC did not run
    events: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    frames_lost: int = 0
    duration_s: float = 0.0
    error: str | None = None
    record_failures: list[str] = field(default_factory=list)  # PREMIS, catalogue not written
    proof_pending: bool = False  # the master is still being read back for its fixity
    fixity_ok: bool | None = None  # once read back
    take: object = None  # the engine's take while its read-back goes on (controller only)


def _engine_backends():
    from capture import backends

    return backends


def _engine_audio_take():
    from capture import audio_take

    return audio_take


def _engine_video():
    from capture.video import take

    return take


class BenchController(QObject):
    audioSnapshot = Signal(object)  # AudioSnapshot
    videoSnapshot = Signal(object)  # VideoSnapshot
    health = Signal(object)  # HealthFigures
    elapsed = Signal(float)
    timecode = Signal(str)  # the take's tape timecode ("" when it has none)
    stateChanged = Signal(str, str)  # state, detail
    takeStarted = Signal(object)  # TakePaths
    takeClosed = Signal(object)  # TakeOutcome (before QC)
    qcFinished = Signal(object)  # TakeOutcome with the verdict
    proofFinished = Signal(object)  # TakeOutcome once the master is read back (fixity)
    afterTakeProgress = Signal(float, str)  # closing, QC, then the read-back of the master
    engineEvent = Signal(str, dict)
    error = Signal(str)

    def __init__(self, parent=None, refresh_hz: int = REFRESH_HZ):
        super().__init__(parent)
        self.state = "idle"  # idle | armed | recording | stopping
        self.settings: Settings | None = None
        self.meta = TakeMeta()
        self.item = ""
        self.monitor = None  # AudioInput opened for arming (reused by the audio take)
        self.take = None  # AudioTake | VideoTake
        self.take_kind = "audio"
        self.take_paths = None
        self.jobs = JobRunner(self)
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._last_frames = 0
        self._last_tick = time.monotonic()
        self._tick_count = 0
        self._last_status = None
        self._health_every = max(1, refresh_hz // 5)
        self._last_video_pts = None
        self.stall_s = 0.0  # the benchmark sets this to stall the GUI thread once
        # the library's free space (bytes) as the disk watchdog reads it; tests inject a figure
        self.free_space: Callable[[Path], int] | None = None
        self.video_audio: _AudioTap | None = None
        self.tick_times: list[float] = []  # monotonic times of refreshes (benchmark)
        self.qc_after_take = True
        self._queue_fill = 0.0  # of the running take, read with the health figures
        self._take_ended_itself = False
        self._shown_timecode = ""
        self.scopes: ScopeWorker | None = None
        self._shown_images: VideoImages | None = None
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(int(1000 / refresh_hz))
        self._period = 1.0 / refresh_hz
        self._next_due = 0.0
        self.timer.timeout.connect(self._tick)
        try:
            import psutil

            self._psutil = psutil
            psutil.cpu_percent(None)
        except ImportError:  # CPU figure only
            self._psutil = None

    # -- configuration ----------------------------------------------------------------------
    def configure(self, settings: Settings, meta: TakeMeta, item: str) -> None:
        self.settings = settings
        self.meta = meta
        self.item = item

    @property
    def library(self) -> Path:
        return Path(self.settings.library).expanduser()

    # -- arm / disarm -----------------------------------------------------------------------
    def arm(self) -> None:
        """Open the audio input and show it on the meters without recording."""
        if self.state != "idle":
            return
        a = self.settings.audio
        engine_backends = _engine_backends()
        try:
            self.monitor = on_engine_thread(_open_started, engine_backends, a)
        except HeadblockError as exc:
            self.monitor = None
            self.error.emit(str(exc))
            return
        except Exception as exc:  # a device that fails to open must not take the window down
            self.monitor = None
            self.error.emit(f"cannot open the audio input {a.device!r}: {exc}")
            return
        self._last_frames = self._frames_received(self.monitor)
        self._set_state("armed", f"{a.device}, {a.rate_hz} Hz, {a.bits}-bit, {a.channels} ch")
        self.timer.start()

    def disarm(self) -> None:
        if self.state != "armed":
            return
        self._close_monitor()
        self._set_state("idle")
        self.timer.stop()

    def _close_monitor(self) -> None:
        if self.monitor is not None:
            try:
                self.monitor.stop()
            except Exception as exc:
                self.error.emit(f"closing the audio input: {exc}")
            self.monitor = None

    # -- record / stop ----------------------------------------------------------------------
    def record(self) -> bool:
        """Start a take of ``settings.mode``. Returns False (and says why) when it cannot."""
        if self.state not in ("idle", "armed"):
            return False
        from metadata.take.naming import item_id_problem

        problem = item_id_problem(self.item)
        if problem:
            self.error.emit(problem)
            return False
        kind = self.settings.mode if self.settings.video.device else "audio"
        self._drain_events()  # a late event of the last take reaches the window before this one
        # seen while the last take closed: it must not stop this one at its first refresh
        self._take_ended_itself = False
        try:
            if kind == "video":
                self._close_monitor()  # the video take opens its own audio
                take = self._new_video_take()
            else:
                take = self._new_audio_take()
            on_engine_thread(take.start)  # its threads run before the window's (priority.py)
        except HeadblockError as exc:
            self.error.emit(str(exc))
            self._after_failed_start()
            return False
        except Exception as exc:
            self.error.emit(f"cannot start the take: {type(exc).__name__}: {exc}")
            self._after_failed_start()
            return False
        self.take = take
        self.take_kind = kind
        self.take_paths = take.paths
        if kind == "video":
            self.scopes = ScopeWorker(take)
        self._last_frames = self._frames_received(self._audio_source())
        self._last_video_pts = None
        self._set_state("recording", self.take_paths.stem)
        self.takeStarted.emit(self.take_paths)
        self.timer.start()
        return True

    def _after_failed_start(self) -> None:
        if self.monitor is None and self.state == "armed":
            self._set_state("idle")
            self.timer.stop()

    def _on_event(self, name: str, fields: dict) -> None:
        # engine thread: only a queue put, the timer hands it to the window
        self._events.put((name, dict(fields or {})))

    def _new_audio_take(self):
        audio_take = _engine_audio_take()
        a = self.settings.audio
        settings = audio_take.AudioTakeSettings(
            device=a.device,
            item=self.item,
            library=self.library,
            rate_hz=a.rate_hz,
            bits=a.bits,
            channels=a.channels,
            meta=self.meta,
            ltc_channel=a.ltc_channel or None,
            qc=self.qc_after_take,  # live: the verdict is there at Stop
            on_event=self._on_event,
        )
        if self.free_space is not None:
            settings.free_space = self.free_space
        return audio_take.AudioTake(settings, input=self.monitor)

    def _new_video_take(self):
        video_take = _engine_video()
        v = self.settings.video
        settings = video_take.VideoTakeSettings(
            device=v.device,
            library=self.library,
            item=self.item,
            standard=v.standard or None,
            audio_device=v.audio_device or None,
            meta=self.meta,
            run_qc=self.qc_after_take,  # live: the verdict is there at Stop
            ltc_channel=self.settings.audio.ltc_channel or None,
        )
        if v.audio_device:  # the audio input of the set-up panel, at its format
            a = self.settings.audio
            settings.audio_rate_hz, settings.audio_channels = a.rate_hz, a.channels
            settings.audio_bits = min(a.bits, 24)
        take = video_take.VideoTake(settings, on_event=self._on_event)
        self.video_audio = _tap_video_audio(take)
        return take

    def elapsed_s(self) -> float:
        if self.take is None:
            return 0.0
        try:
            return float(self.take.status().elapsed_s)
        except Exception:
            return 0.0

    def stop(self, reason: str = "user") -> None:
        """Ask the take to stop; closing and QC happen in a worker."""
        if self.state != "recording" or self.take is None:
            return
        take = self.take
        self._stop_scopes()
        self._set_state("stopping", self.take_paths.stem)
        self.jobs.submit(
            _close_take,
            take,
            reason,
            on_finished=self._take_closed,
            on_failed=self._take_close_failed,
            on_progress=self._after_take_progress,
        )

    def _take_closed(self, outcome: TakeOutcome) -> None:
        take = outcome.take
        outcome.take = None
        self._finish_take()
        self.takeClosed.emit(outcome)
        if take is not None and outcome.proof_pending:  # the read-back goes on meanwhile
            self.jobs.submit(
                _await_proof,
                take,
                outcome,
                on_finished=self.proofFinished.emit,
                on_failed=lambda msg, o=outcome: self._proof_failed(o, msg),
                on_progress=self._after_take_progress,
            )
        if outcome.verdict is not None:  # live QC judged the take at Stop
            self._qc_done(outcome)
        elif self.qc_after_take and outcome.master is not None and outcome.master.exists():
            self.jobs.submit(
                _run_qc,
                outcome,
                on_finished=self._qc_done,
                on_failed=lambda msg, o=outcome: self._qc_failed(o, msg),
                on_progress=lambda f, m: self._after_take_progress(f, f"QC: {m}" if m else "QC"),
            )

    def _qc_done(self, outcome: TakeOutcome) -> None:
        self.qcFinished.emit(outcome)
        if outcome.record_failures:  # beside the verdict: the banner of the capture tab
            self.error.emit("QC: " + "; ".join(outcome.record_failures))

    def _after_take_progress(self, fraction: float, message: str) -> None:
        self.afterTakeProgress.emit(fraction, message)

    def _proof_failed(self, outcome: TakeOutcome, message: str) -> None:
        outcome.fixity_ok = False
        outcome.error = f"reading the master back: {message}"
        self.proofFinished.emit(outcome)

    def _qc_failed(self, outcome: TakeOutcome, message: str) -> None:
        outcome.error = f"QC failed: {message}"
        self.qcFinished.emit(outcome)

    def _take_close_failed(self, message: str) -> None:
        self.error.emit(f"closing the take: {message}")
        paths = self.take_paths
        self._finish_take()
        self.takeClosed.emit(TakeOutcome(paths.directory if paths else None, None, error=message))

    def _finish_take(self) -> None:
        was_video = self.take_kind == "video"
        self._stop_scopes()
        if self._shown_timecode:
            self._shown_timecode = ""
            self.timecode.emit("")
        self._queue_fill = 0.0
        self.take = None
        self._drain_events()
        if self.monitor is not None:
            self._last_frames = self._frames_received(self.monitor)
            self._set_state("armed")
        else:
            self._set_state("idle")
            self.timer.stop()
        if was_video:
            self.take_kind = "audio"

    # -- shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop everything and wait for the workers: nothing is left running."""
        self.timer.stop()
        self._stop_scopes()
        if self.take is not None and self.state == "recording":
            try:
                _close_take(self.take, "window closed")
            except Exception as exc:
                self.error.emit(f"closing the take: {exc}")
            self.take = None
        self._close_monitor()
        self.jobs.wait(int(timeout_s * 1000))
        self.state = "idle"

    # -- the refresh ------------------------------------------------------------------------
    def _audio_source(self):
        """The AudioInput the meters read: the take's when recording, else the monitor."""
        if self.take is not None:
            if self.take_kind == "video":
                return self.video_audio
            return getattr(self.take, "input", None)
        return self.monitor

    @staticmethod
    def _frames_received(src) -> int:
        if src is None:
            return 0
        try:
            return int(src.stats().frames_received)
        except Exception:
            return 0

    def _tick(self) -> None:
        now = time.monotonic()
        self._schedule_next(now)
        self._tick_count += 1
        self.tick_times.append(now)
        if len(self.tick_times) > 100000:
            del self.tick_times[:50000]
        if self.stall_s > 0:  # benchmark: the window is busy; the take must not notice
            stall, self.stall_s = self.stall_s, 0.0
            time.sleep(stall)
        self._drain_events()
        # The take comes first: when its queue fills, the display eases off so that the
        # encoder gets the processor back: pictures first, then waveform and goniometer, and
        # the level bars last.
        ease = self.ease_level()
        audio_every = METERS_EVERY[ease]
        video_every = PICTURE_EVERY[ease]
        src = self._audio_source()
        if src is not None and self._tick_count % audio_every == 0:
            snap = self._audio_snapshot(src, now - self._last_tick, now)
            self._last_tick = now
            if snap is not None:
                self.audioSnapshot.emit(snap)
        video = self.take is not None and self.take_kind == "video"
        if video and self._tick_count % video_every == 0:
            self._video_tick()
        if self.take is not None and self._tick_count % 3 == 0:
            self.elapsed.emit(self.elapsed_s())
            self._emit_timecode()
        if self._tick_count % self._health_every == 1 or self._health_every == 1:
            self.health.emit(self.health_figures())
            if self._take_ended_itself and self.state == "recording":
                self._take_ended_itself = False
                self.stop(reason="engine")  # close it in the window too

    def _emit_timecode(self) -> None:
        try:
            timecode = getattr(self.take.status(), "timecode", None) or ""
        except Exception:  # noqa: BLE001 - a figure, never a reason to stop refreshing
            timecode = ""
        if timecode != self._shown_timecode:
            self._shown_timecode = timecode
            self.timecode.emit(timecode)

    def _schedule_next(self, now: float) -> None:
        """Ticks keep to a fixed grid: a late tick does not push the later ones back (a
        timer restarted at each tick would lose a frame a second to 1 ms of lateness)."""
        due = self._next_due + self._period
        if due <= now - self._period:  # far behind (a stall): start the grid again
            due = now + self._period
        self._next_due = due
        self.timer.setInterval(max(1, round((due - now) * 1000)))

    def ease_level(self) -> int:
        """0: full display; 1, 2, 3: eased while the take's queue passes each of
        ``EASE_FILLS``."""
        return sum(self._queue_fill >= f for f in EASE_FILLS)

    def traces_every(self) -> tuple[int, int]:
        """Refresh ticks between waveform and between goniometer repaints: during a video
        take the encoder needs the processor, so these costly panes run slower than the bars."""
        if self.take is not None and self.take_kind == "video":
            ease = self.ease_level()
            return WAVEFORM_EVERY_VIDEO[ease], GONIO_EVERY_VIDEO[ease]
        return 1, 2

    def _audio_snapshot(self, src, dt: float, now: float) -> AudioSnapshot | None:
        try:
            received = int(src.stats().frames_received)
            rate = int(getattr(src, "rate_hz", 0) or self.settings.audio.rate_hz)
            new = received - self._last_frames
            self._last_frames = received
            cap = int(rate * MAX_DISPLAY_BLOCK_S)
            window = int(rate * RMS_WINDOW_S)
            recent = np.asarray(
                src.latest(max(window, GONIO_FRAMES, min(max(new, 0), cap))), np.float32
            )
        except Exception as exc:
            self.error.emit(f"reading the input for the meters: {exc}")
            return None
        if recent.ndim == 1:
            recent = recent[:, None]
        channels = recent.shape[1] if recent.size else self.settings.audio.channels
        if new <= 0 or recent.size == 0:
            block = recent[:0]
            peaks = np.full(channels, -math.inf)
        else:
            block = recent[-min(new, cap) :]
            peaks = peak_dbfs(block)
        tail = recent[-window:]
        rms = rms_dbfs(tail) if len(tail) else np.full(channels, -math.inf)
        corr = correlation(tail) if channels >= 2 and len(tail) else math.nan
        return AudioSnapshot(
            channels=channels,
            rate_hz=rate,
            block=block,
            peak_dbfs=np.asarray(peaks, np.float64),
            rms_dbfs=np.asarray(rms, np.float64),
            correlation=float(corr),
            gonio=recent[-GONIO_FRAMES:],
            dt_s=dt,
            frames_received=received,
            newest_at=now,
            newest_frame_at=getattr(src, "newest_at", None),
        )

    def _video_tick(self) -> None:
        scopes = self.scopes
        if scopes is None:
            return
        images = scopes.latest
        if images is not None and images is not self._shown_images:
            self._shown_images = images
            self.videoSnapshot.emit(images)
        if scopes.error:
            self.error.emit(f"drawing the picture: {scopes.error}")
            scopes.error = None
        scopes.request()  # the next one is drawn while the window does the rest

    def _stop_scopes(self) -> None:
        if self.scopes is not None:
            self.scopes.stop()
            self.scopes = None
        self._shown_images = None

    def _drain_events(self) -> None:
        while True:
            try:
                name, fields = self._events.get_nowait()
            except queue.Empty:
                return
            self.engineEvent.emit(name, fields)

    def health_figures(self) -> HealthFigures:
        f = HealthFigures()
        if self._psutil is not None:
            f.cpu_percent = float(self._psutil.cpu_percent(None))
        status = None
        if self.take is not None:
            try:
                status = self.take.status()
            except Exception:
                status = None
        if status is not None:  # a capture.take.TakeStatus, of either kind of take
            if status.state in ("finishing", "done", "failed"):
                self._take_ended_itself = True  # --seconds, a full disk, an error
            f.samples_lost = int(status.frames_lost)
            f.last_sample_loss_at_s = status.last_loss_at_s
            f.disk_free_bytes = status.disk_free_bytes
            f.disk_time_left_s = status.disk_time_left_s
            f.queue_fill = status.queue_fill
            self._queue_fill = float(f.queue_fill or 0.0)
            if self.take_kind == "video":  # the video take's own counters
                f.frames_dropped = int(getattr(status, "frames_dropped", 0) or 0)
                f.queue_depth = getattr(status, "encoder_queue_depth", None)
                f.last_frame_drop_at_s = getattr(status, "last_loss_at_s", None)
                f.samples_lost = int(getattr(status, "audio_frames_lost", 0) or 0)
        else:
            src = self.monitor
            if src is not None:
                try:
                    st = src.stats()
                    f.samples_lost = int(st.frames_lost)
                    f.last_sample_loss_at_s = st.last_loss_at_s
                except Exception:
                    pass
            f.disk_free_bytes, f.disk_time_left_s = self._disk_estimate()
        return f

    def _bytes_per_s(self) -> float:
        if self.settings is None:
            return 96000 * 2 * 3
        a = self.settings.audio
        rate = a.rate_hz * a.channels * math.ceil(a.bits / 8)
        if self.settings.mode == "video" and self.settings.video.device:
            rate += 20e6  # FFV1 SD 10-bit 4:2:2 of noisy tape: ~160 Mbit/s
        return float(rate)

    def _disk_estimate(self) -> tuple[int | None, float | None]:
        if self.settings is None:
            return None, None
        path = self.library
        while not path.exists() and path != path.parent:
            path = path.parent
        try:
            free = int(self.free_space(path)) if self.free_space else shutil.disk_usage(path).free
        except OSError:
            return None, None
        return free, free / self._bytes_per_s()

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state = state
        self.stateChanged.emit(state, detail)


# -- worker jobs (run off the GUI thread) ----------------------------------------------------
def _close_take(take, reason: str, progress=None) -> TakeOutcome:
    """Stop the take and wait for its verdict (live QC judges it at Stop), or its end."""
    take.stop(reason=reason)
    from capture.take import closing_step

    finished = take.wait(0.05)
    while not finished and take.status().verdict is None:
        status = take.status()
        step = closing_step(status)
        if progress is not None and step is not None:
            progress(min(status.closing, 1.0), f"Closing: {step}")  # the bar shows the verb
        finished = take.wait(0.1)
    paths = take.paths
    status = take.status()
    outcome = TakeOutcome(
        take_dir=paths.directory if paths is not None else None,
        master=paths.master(take.kind) if paths is not None else None,
        frames_lost=int(status.frames_lost),
        duration_s=float(status.elapsed_s),
    )
    if finished and take.error:
        outcome.error = f"the take ended with an error: {take.error}"
        return outcome
    if status.verdict is not None and paths is not None and paths.qc_json.exists():
        _read_qc(outcome, paths.qc_json)
    outcome.proof_pending = not finished
    if finished:
        outcome.fixity_ok = getattr(take, "fixity_ok", None)
        result = getattr(take, "result", None)
        if result is not None:
            outcome.fixity_ok = result.fixity_ok
    else:
        outcome.take = take
    return outcome


def _read_qc(outcome: TakeOutcome, qc_json: Path) -> None:
    import json

    try:
        data = json.loads(qc_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        outcome.error = f"the QC result cannot be read: {exc}"
        return
    outcome.verdict = data.get("verdict")
    outcome.events = list(data.get("events", []))
    outcome.checks = list(data.get("checks", []))


def _await_proof(take, outcome: TakeOutcome, progress=None) -> TakeOutcome:
    """The rest of a take's end after its verdict: the master read back for its fixity."""
    from capture.take import closing_step

    lower_this_thread(AFTER_TAKE_NICE)
    while not take.wait(0.25):
        status = take.status()
        if progress is not None and closing_step(status) is not None:
            progress(min(status.closing, 1.0), "Fixity: reading the master back")
    result = getattr(take, "result", None)
    outcome = replace(outcome, proof_pending=False)  # the verdict's outcome stays as it was
    outcome.fixity_ok = bool(result.fixity_ok) if result is not None else False
    if take.error and result is None:
        outcome.error = f"the take's end failed: {take.error}"
    if outcome.take_dir is not None:  # Review and Sign-off show the new integrity state now
        from app.widgets.integrity import announce

        announce(outcome.take_dir)
    return outcome


def _run_qc(outcome: TakeOutcome, progress=None) -> TakeOutcome:
    from qc.runner import run_qc

    lower_this_thread(AFTER_TAKE_NICE)  # a pool thread for after-take work: it stays low

    result = run_qc(outcome.master, progress=progress)
    data = result.to_dict()
    outcome.verdict = data.get("verdict")
    outcome.events = list(data.get("events", []))
    outcome.checks = list(data.get("checks", []))
    outcome.record_failures = list(result.record_failures)
    return outcome


def _open_started(engine_backends, a):
    monitor = engine_backends.open_audio_input(a.device, a.rate_hz, a.channels, a.bits)
    monitor.start()
    return monitor


class _AudioTap:
    """The meters' view of a video take's audio, through the take's public meter ring."""

    def __init__(self, take):
        self.take = take

    @property
    def rate_hz(self) -> int:
        params = self.take.audio_params
        return params.rate_hz if params else 0

    def latest(self, n_frames: int) -> np.ndarray:
        x = self.take.latest_audio(n_frames)
        if x is None:
            return np.zeros((0, 2), np.float32)
        return x

    @property
    def newest_at(self) -> float | None:
        return getattr(self.take, "audio_metered_at", None)

    def stats(self):
        from capture.audio_input import InputStats

        return InputStats(int(getattr(self.take, "audio_frames_metered", 0)), 0, 0, None)


def _tap_video_audio(take) -> _AudioTap:
    return _AudioTap(take)
