"""Loudness: EBU R 128 integrated loudness and true peak of the whole take against limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qc import measures
from qc.result import QCEvent

if TYPE_CHECKING:
    from qc.audio.accumulator import AudioFindings


def detect_loudness(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    events = []
    start, end = found.offset_s, found.offset_s + found.duration_s
    true_peak_dbtp = found.true_peak_dbtp
    true_peak = float(true_peak_dbtp.max()) if true_peak_dbtp.size else measures.DBFS_FLOOR
    if true_peak > thresholds["true_peak_max_dbtp"]:
        channel = int(np.argmax(true_peak_dbtp)) + 1
        sev = "fail" if true_peak > thresholds["fail_true_peak_dbtp"] else "warn"
        events.append(
            QCEvent(
                "loudness",
                start,
                end,
                channel,
                sev,
                round(true_peak, 2),
                f"true peak {true_peak:+.1f} dBTP over {thresholds['true_peak_max_dbtp']:g} dBTP",
            )
        )
    integrated = integrated_or_none(found.integrated_lufs)
    if integrated is not None:
        lo, hi = thresholds["integrated_min_lufs"], thresholds["integrated_max_lufs"]
        side = "below" if integrated < lo else "above" if integrated > hi else None
        if side:
            events.append(
                QCEvent(
                    "loudness",
                    start,
                    end,
                    None,
                    "warn",
                    round(integrated, 2),
                    f"integrated loudness {integrated:.1f} LUFS {side} "
                    f"{lo if side == 'below' else hi:g}",
                )
            )
    shown = "n/a" if integrated is None else f"{integrated:.1f} LUFS"
    return events, f"integrated {shown}, true peak {true_peak:+.1f} dBTP"


def integrated_or_none(integrated: float | None) -> float | None:
    """The integrated loudness, or None when there was too little (or only gated) audio."""
    return None if integrated is None or integrated <= measures.LUFS_FLOOR else integrated
