"""Access copies made from the window: per take on request, and by themselves after QC or
after sign-off as the station's settings say (``settings.delivery``).

One derivation at a time, in the order asked (two x264 encoders on two cores would only
slow each other and the next take). Each is ``headblock.delivery.derive.derive_take``, which
makes the copy in a spawned process at after-take priority (nice 10): the window's thread
only waits for its messages, so neither the window nor a take recording meanwhile waits for
it. Views follow a take's derivations through the signals, by take folder.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.workers import JobRunner
from metadata.settings import Settings

GOOD_VERDICTS = ("pass", "warn")  # a failing take waits for a person before copies are made


@dataclass
class DeriveDone:
    """What the window says of a finished copy."""

    path: Path
    size_bytes: int
    md5: str
    md5_ok: bool  # the copy read back matches its ``.md5`` sidecar
    record_failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        check = "MD5 ok" if self.md5_ok else "MD5 DOES NOT MATCH its .md5"
        text = f"{self.path}  ·  {self.size_bytes / 1e6:.1f} MB  ·  {check}"
        if self.record_failures:
            text += f"  ·  not recorded: {'; '.join(self.record_failures)}"
        return text


@dataclass
class DeriveState:
    """A take's derivation by one profile as the views show it."""

    take_dir: Path
    profile: str
    state: str = "queued"  # queued | running | done | failed | cancelled
    fraction: float = 0.0
    message: str = ""
    done: DeriveDone | None = None
    error: str = ""


def derive_job(take_dir: Path, profile: str, cancel: threading.Event, progress=None) -> DeriveDone:
    """Run on a pool thread: the copy (in its own low-priority process), then its MD5 read
    back against the sidecar just written."""
    from capture.priority import AFTER_TAKE_NICE, lower_this_thread
    from headblock.delivery.derive import derive_take
    from headblock.delivery.transcode import Cancelled
    from metadata.formats.checksums import verify_md5_file

    lower_this_thread(AFTER_TAKE_NICE)  # this thread only waits, and waits low
    if cancel.is_set():
        raise Cancelled("cancelled before it started")
    result = derive_take(take_dir, profile, progress=progress, cancel=cancel)
    ok, _message = verify_md5_file(result.md5_path)
    rec = result.record
    return DeriveDone(Path(rec.path), rec.size_bytes, rec.md5, ok, list(result.record_failures))


class DeliveryManager(QObject):
    """The window's derivations. ``changed`` carries a ``DeriveState`` whenever one moves."""

    changed = Signal(object)  # DeriveState

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.jobs = JobRunner(self, max_threads=1)
        self.states: dict[tuple[str, str], DeriveState] = {}
        self._cancel = threading.Event()
        self.last: DeriveState | None = None

    # -- asking
    def profiles(self) -> list[str]:
        return list(self.settings.delivery.profiles) or ["access"]

    def derive(self, take_dir: Path, profiles: list[str] | None = None) -> list[DeriveState]:
        """Queue the take's copies by ``profiles`` (the settings' by default); a copy already
        queued or being made is not asked for twice."""
        take_dir = Path(take_dir)
        queued = []
        for profile in profiles or self.profiles():
            key = (str(take_dir), profile)
            now = self.states.get(key)
            if now is not None and now.state in ("queued", "running"):
                continue
            state = DeriveState(take_dir, profile)
            self.states[key] = state
            self.jobs.submit(
                self._run,
                state,
                on_finished=lambda done, s=state: self._finished(s, done),
                on_failed=lambda message, s=state: self._failed(s, message),
                on_progress=lambda f, m, s=state: self._progress(s, f, m),
            )
            self._emit(state)
            queued.append(state)
        return queued

    def _run(self, state: DeriveState, progress=None) -> DeriveDone:
        if progress is not None:
            progress(0.0, "starting")  # out of the queue: the copy's process is starting
        return derive_job(state.take_dir, state.profile, self._cancel, progress=progress)

    def state_of(self, take_dir: Path | None) -> list[DeriveState]:
        if take_dir is None:
            return []
        return [s for (d, _), s in self.states.items() if d == str(take_dir)]

    def busy(self) -> bool:
        return any(s.state in ("queued", "running") for s in self.states.values())

    # -- by themselves, as the settings say
    def after_qc(self, outcome) -> list[DeriveState]:
        """The bench's QC of a new take finished (``CaptureTab.takeFinished``)."""
        if self.settings.delivery.auto_derive != "after_qc":
            return []
        if outcome.take_dir is None or outcome.error or outcome.verdict not in GOOD_VERDICTS:
            return []
        return self.derive(outcome.take_dir)

    def after_signoff(self, take_dir: Path, entry: dict) -> list[DeriveState]:
        """A supervisor recorded a decision; copies are made of approved takes."""
        if self.settings.delivery.auto_derive != "after_signoff":
            return []
        if entry.get("decision") != "approved":
            return []
        return self.derive(Path(take_dir))

    # -- results (GUI thread)
    def _progress(self, state: DeriveState, fraction: float, message: str) -> None:
        state.state = "running"
        state.fraction = fraction
        state.message = message
        self._emit(state)

    def _finished(self, state: DeriveState, done: DeriveDone) -> None:
        state.state, state.fraction, state.done = "done", 1.0, done
        if not done.md5_ok:
            state.state, state.error = "failed", done.line()
        self._emit(state)

    def _failed(self, state: DeriveState, message: str) -> None:
        cancelled = self._cancel.is_set()
        state.state = "cancelled" if cancelled else "failed"
        state.error = message
        self._emit(state)

    def _emit(self, state: DeriveState) -> None:
        self.last = state
        self.changed.emit(state)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop what is being made (nothing half-made is left) and wait for it."""
        self._cancel.set()
        self.jobs.wait(int(timeout_s * 1000))
