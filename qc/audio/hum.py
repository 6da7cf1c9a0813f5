"""Mains hum: per analysis window the prominence of 50/60 Hz and harmonics above the
neighbouring bins (``mains_prominence``, while streaming), then sustained hum as events."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from qc import measures
from qc.result import QCEvent
from qc.series import true_runs

if TYPE_CHECKING:
    from qc.audio.accumulator import AudioFindings


def mains_prominence(window: np.ndarray, rate_hz: float, taper: np.ndarray, thresholds: dict):
    """Per channel of one (channels, n) window: best prominence (dB), its level (dBFS) and
    frequency (Hz)."""
    channels, n = window.shape
    df = rate_hz / n
    top = min(n // 2 + 1, int((max(1, int(thresholds["harmonics"])) * 60.0 * 1.01 + 12.0) / df) + 2)
    spec = np.abs(np.fft.rfft(window * taper, axis=1)[:, :top])  # only the mains region is read
    power_db = 20 * np.log10(np.maximum(spec, 1e-12))
    amp_db = power_db + 20 * math.log10(2.0 / taper.sum())
    best_prom = np.full(channels, -np.inf)
    best_level = np.full(channels, measures.DBFS_FLOOR)
    best_freq = np.zeros(channels)
    harmonics = max(1, int(thresholds["harmonics"]))
    for f0 in (50.0, 60.0):
        proms = []
        for k in range(1, harmonics + 1):
            f = k * f0
            tol = max(2 * df, 0.004 * f)  # mains drift and small tape speed errors
            i0, i1 = int((f - tol) / df), int(math.ceil((f + tol) / df)) + 1
            lo0, lo1 = int((f - tol - 8.0) / df), int((f - tol - 1.0) / df)
            hi0, hi1 = int((f + tol + 1.0) / df), int((f + tol + 8.0) / df)
            peak = power_db[:, i0:i1].max(axis=1)
            ref = np.median(
                np.concatenate([power_db[:, lo0:lo1], power_db[:, hi0:hi1]], axis=1), axis=1
            )
            level = amp_db[:, i0:i1].max(axis=1)
            prom = np.where(level >= thresholds["min_level_dbfs"], peak - ref, -np.inf)
            proms.append((prom, level, f))
        fund = proms[0][0]
        # mains hum: the fundamental, or the 2nd and 3rd harmonics together (rectifier buzz)
        pair = (
            np.minimum(proms[1][0], proms[2][0]) if harmonics >= 3 else np.full(channels, -np.inf)
        )
        score = np.maximum(fund, pair)
        for c in range(channels):
            if score[c] > best_prom[c]:
                best_prom[c] = score[c]
                j = 0 if fund[c] >= pair[c] else (1 if proms[1][0][c] >= proms[2][0][c] else 2)
                best_level[c] = proms[j][1][c]
                best_freq[c] = proms[j][2]
    return best_prom, best_level, best_freq


def detect_hum(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    """Hum sustained over ``min_duration_s`` in consecutive windows, per channel."""
    if not found.hum_windows:
        return [], "take shorter than one hum window"
    starts = np.array([w[0] for w in found.hum_windows])
    prom = np.vstack([w[1] for w in found.hum_windows])
    level = np.vstack([w[2] for w in found.hum_windows])
    freq = np.vstack([w[3] for w in found.hum_windows])
    win_s = thresholds["window_s"]
    events = []
    for c in range(found.channels):
        flags = prom[:, c] >= thresholds["prominence_db"]
        r0, r1 = true_runs(flags)
        for a, b in zip(r0, r1, strict=True):
            if (b - a) * win_s + 1e-9 < thresholds["min_duration_s"]:
                continue
            prominence = float(np.median(prom[a:b, c]))
            freq_hz = float(np.median(freq[a:b, c]))
            level_dbfs = float(np.median(level[a:b, c]))
            sev = "fail" if prominence >= thresholds["fail_prominence_db"] else "warn"
            events.append(
                QCEvent(
                    "hum",
                    float(starts[a]),
                    float(starts[b - 1] + win_s),
                    c + 1,
                    sev,
                    round(prominence, 1),
                    f"{freq_hz:g} Hz hum at {level_dbfs:.0f} dBFS, "
                    f"{prominence:.0f} dB above neighbouring bins",
                )
            )
    finite = prom[np.isfinite(prom)]
    top = float(np.median(prom.max(axis=1))) if finite.size else float("nan")
    return events, (
        f"median mains prominence {top:.1f} dB" if math.isfinite(top) else "no mains component"
    )
