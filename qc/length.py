"""Whether a master is long enough to judge: a take of a few milliseconds passes every other
check for want of material, so its shortness is a finding of its own."""

from __future__ import annotations

from typing import Protocol

from qc.result import QCEvent


class _HasDuration(Protocol):
    duration_s: float


def detect_too_short(found: _HasDuration, thresholds: dict) -> tuple[list[QCEvent], str]:
    """Runs on every master: ``found`` is the audio pass's findings or, without audio, the
    take's context (``qc.audio.capture_log.CaptureLogContext``)."""
    duration_s = float(found.duration_s)
    summary = f"{duration_s:.2f} s long"
    if duration_s >= thresholds["min_s"]:
        return [], summary
    detail = f"{duration_s:.3f} s of material: too short to judge (under {thresholds['min_s']:g} s)"
    return [QCEvent("duration", 0.0, duration_s, None, "warn", duration_s, detail)], summary
