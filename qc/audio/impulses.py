"""Clipping and clicks: found chunk by chunk while streaming (``qc.audio.accumulator``), their
events closed here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qc.result import QCEvent

if TYPE_CHECKING:
    from qc.audio.accumulator import AudioFindings

EDGE_TOLERANCE_S = 0.005  # a click this close to a clip or a dropout is its edge


def detect_clipping(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    events = found.clips.finish()
    clipped = int(found.clip_samples.sum())
    return events, f"{clipped} samples at or above {thresholds['level_dbfs']} dBFS"


def detect_click(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    events = found.clicks.finish()
    per_minute = found.click_count / max(found.duration_s / 60, 1e-9)
    extra = ""
    if per_minute > thresholds["fail_per_minute"] and events:
        for e in events:
            e.severity = "fail"
        extra = f"; {per_minute:.0f} per minute is over {thresholds['fail_per_minute']:g}"
    # the edges of a clip or a dropout are discontinuities: one fault, one event
    explained = [e for cid in ("clipping", "dropout") for e in found.found.get(cid, [])]
    if not explained:
        return events, f"{found.click_count} impulses{extra}"
    kept = [
        click
        for click in events
        if not any(
            e.channel in (None, click.channel)
            and e.start_s - EDGE_TOLERANCE_S <= click.start_s <= e.end_s + EDGE_TOLERANCE_S
            for e in explained
        )
    ]
    return kept, f"{len(kept)} clicks{extra}"
