"""Audio lost in capture: the capture log's ``overflow`` and ``gap`` events as QC events.

``gap`` events with ``source`` "timestamps" count video frames: the frame_drop check's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from metadata.take.log import read_log
from qc.result import QCEvent


@dataclass
class CaptureLogContext:
    """Where a take's capture log is and how its times map to the file."""

    log_path: Path | None
    offset_s: float = 0.0
    rate_hz: float | None = None  # from the log's take_start when None
    duration_s: float = 0.0  # of the master, for the checks that judge its length


def detect_overflow(found: CaptureLogContext, thresholds: dict) -> tuple[list[QCEvent], str]:
    """Runs on every take: ``found`` is the audio pass's findings or, on a take without audio,
    a ``CaptureLogContext``."""
    return overflow_events(found.log_path, thresholds, found.offset_s, found.rate_hz)


def overflow_events(
    log_path: Path | None, thresholds: dict, offset_s: float = 0.0, rate_hz: float | None = None
) -> tuple[list[QCEvent], str]:
    """Events of audio frames lost in capture, and the check's summary."""
    if log_path is None or not Path(log_path).exists():
        return [], "no capture log"
    rate = rate_hz
    losses = []
    for ev in read_log(Path(log_path)):
        if ev.event == "take_start" and rate is None:
            settings = ev.fields.get("settings") or {}
            if isinstance(settings, dict):
                rate = settings.get("rate_hz") or settings.get("rate")
        if ev.event in ("overflow", "gap") and ev.fields.get("source") != "timestamps":
            try:
                at = float(ev.fields.get("at_s", 0.0))
                lost = int(ev.fields.get("frames_lost", 0))
            except (TypeError, ValueError):
                continue
            losses.append((at, lost, ev.event, ev.fields.get("source", "")))
    total = sum(lost for _, lost, _, _ in losses)
    events = []
    for at, lost, kind, source in losses:
        if lost < thresholds["warn_frames_lost"]:
            continue
        dur = lost / float(rate) if rate else 0.0
        sev = "fail" if total >= thresholds["fail_frames_lost"] else "warn"
        src = f" ({source})" if source else ""
        events.append(
            QCEvent(
                "overflow",
                offset_s + at,
                offset_s + at + dur,
                None,
                sev,
                float(lost),
                f"{kind}: {lost} audio frames lost in capture{src}",
            )
        )
    return events, f"{total} audio frames lost in {len(losses)} capture events"
