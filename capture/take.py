"""The take contract: what the window and the command line use of any take, audio or video.

A take is started, shows its progress through ``status()``, is stopped with a reason, and is
waited for; once finished it holds a ``TakeResult``. A new kind of take (the
external FFmpeg device) implements ``Take`` and extends ``TakeStatus``; the shared contract
test (``tests/capture/test_take_contract.py``) then holds it to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from metadata.take.naming import TakePaths
from metadata.take.record import TakeRecord

if TYPE_CHECKING:
    import numpy as np

    from metadata.take.log import TakeLog

EventFn = Callable[[str, dict], None]  # a take's listener, called from engine threads

STATES = ("idle", "recording", "finishing", "done", "failed")


@dataclass
class TakeStatus:
    """Progress of any take, read by the window's refresh and the terminal's status line."""

    state: str = "idle"  # one of STATES
    elapsed_s: float = 0.0  # media time written (audio) or received (video)
    frames_written: int = 0  # sample frames (audio) or video frames in the master
    frames_lost: int = 0  # audio sample frames, or video frame slots, missing from the master
    overflows: int = 0  # losses the audio input reported
    last_loss_at_s: float | None = None
    disk_free_bytes: int | None = None  # None until the disk watchdog has looked
    disk_time_left_s: float | None = None
    queue_fill: float = 0.0  # 0..1 of the buffer between the input and the writer
    closing: float | None = None  # share of the read-back after the master closed, while it runs
    verdict: str | None = None  # the QC verdict, once known: at Stop, before the read-back
    timecode: str | None = None  # the tape's, live: LTC channel or the source's own (or None)


# Why a take may end and still be whole: its --seconds, the user (a button, Ctrl-C:
# "signal SIGINT"), the input's own end. Anything else (disk full, input lost or failed, an
# error) cut it short: the master is made valid all the same, and the command line exits 1.
COMPLETE_REASONS = ("user", "duration", "end of input", "deck out point")


def cut_short(reason: str) -> bool:
    """True when a take that stopped for ``reason`` ended before it was asked to ("" is a
    take whose reason is not known: not cut short)."""
    reason = (reason or "").strip()
    return bool(reason) and reason not in COMPLETE_REASONS and not reason.startswith("signal")


@dataclass
class TakeResult:
    """What a finished take left on disk and what QC said of it."""

    paths: TakePaths
    record: TakeRecord
    reason: str = ""  # why the take stopped
    fixity_ok: bool = True
    qc_verdict: str | None = None  # "pass" | "warn" | "fail" | None when QC did not run
    notes: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """The command line's: 0 for a QC pass or warn (or no QC), 1 for a QC fail, a failed
        fixity or a take cut short (``cut_short``)."""
        if not self.fixity_ok or self.qc_verdict == "fail" or self.cut_short:
            return 1
        return 0

    @property
    def cut_short(self) -> bool:
        return cut_short(self.reason)


@runtime_checkable
class Take(Protocol):
    """One take of any kind (see the module docstring)."""

    kind: str  # "audio" | "video": the master's kind (``TakePaths.master(kind)``)
    paths: TakePaths | None  # set by ``start``
    result: TakeResult | None  # set once the take is finished
    error: object  # what failed the take (a message or the exception), None otherwise

    def start(self) -> TakePaths:
        """Open the input, create the take folder and the master, start recording."""

    def stop(self, reason: str = "user") -> None:
        """Ask the take to stop; what was captured is closed and finished."""

    def wait(self, timeout: float | None = None) -> bool:
        """True once the take is finished (master closed, sidecars and QC done)."""

    def status(self) -> TakeStatus:
        """A copy of the take's progress."""

    def latest_audio(self, n_frames: int) -> np.ndarray | None:
        """The newest ``n_frames`` of the take's audio, float32 (n, channels), for meters;
        None for a take without audio."""


def notify(on_event: EventFn | None, name: str, fields: dict) -> None:
    """Hand an event to the take's listener; a listener's bug never breaks the take."""
    if on_event is not None:
        try:
            on_event(name, fields)
        except Exception:  # noqa: BLE001
            pass


def log_event(
    log: TakeLog | None, on_event: EventFn | None, name: str, level: str = "INFO", **fields
) -> None:
    """Write an event to the take's log and hand it to the listener with the same fields. A
    log line that cannot be written (the disk is full) is skipped: the master matters more."""
    if log is not None:
        try:
            log.write(name, level, **fields)
        except OSError:
            pass
    notify(on_event, name, fields)


def closing_step(status) -> str | None:
    """What a take does once its master is closed (None before): the verdict (QC from what was
    measured while recording), then reading the master back for its fixity."""
    closing = getattr(status, "closing", None)
    if closing is None:
        return None
    return "reading the master back" if closing < 1.0 else "recording its fixity"
