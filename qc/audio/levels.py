"""Sustained level conditions over the 10 ms series: DC offset, phase (anti-correlation),
channel imbalance and silence."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qc import measures
from qc.audio.reading import BLOCK_S
from qc.result import EventMerger, QCEvent
from qc.series import true_runs

if TYPE_CHECKING:
    from qc.audio.accumulator import AudioFindings


def _window_sums(series: np.ndarray, window_blocks: int) -> np.ndarray:
    n = len(series) // window_blocks
    return series[: n * window_blocks].reshape(n, window_blocks, *series.shape[1:]).sum(axis=1)


def _window_blocks(thresholds: dict) -> int:
    return max(1, int(round(thresholds["window_s"] / BLOCK_S)))


def _sustained(
    found: AudioFindings,
    check: str,
    flags: np.ndarray,
    values: np.ndarray,
    window_blocks: int,
    min_duration_s: float,
    severity_of,
    detail_of,
    channel: int | None,
    lower_is_worse: bool,
) -> list[QCEvent]:
    """Events for runs of flagged windows lasting at least ``min_duration_s``."""
    merger = EventMerger(check, 0.0, lower_is_worse)
    window_s = window_blocks * found.block_frames / found.rate_hz
    r0, r1 = true_runs(flags)
    for a, b in zip(r0, r1, strict=True):
        if (b - a) * window_s + 1e-9 < min_duration_s:
            continue
        run = values[a:b]
        value = float(run.min() if lower_is_worse else run.max())
        merger.add(
            found.block_time(a * window_blocks),
            found.block_time(b * window_blocks),
            channel,
            severity_of(value),
            value,
            detail_of(value, (b - a) * window_s),
        )
    return merger.finish()


def detect_dc_offset(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    window_blocks = _window_blocks(thresholds)
    events = []
    worst_db = measures.DBFS_FLOOR
    for c in range(found.channels):
        mean = _window_sums(found.dc[:, c].astype(np.float64), window_blocks) / window_blocks
        mean_db = measures.dbfs(mean)
        if mean_db.size:
            worst_db = max(worst_db, float(mean_db.max()))
        events += _sustained(
            found,
            "dc_offset",
            mean_db >= thresholds["warn_dbfs"],
            mean_db,
            window_blocks,
            thresholds["min_duration_s"],
            lambda v: "fail" if v >= thresholds["fail_dbfs"] else "warn",
            lambda v, d: f"mean {100 * 10 ** (v / 20):.1f} % of full scale for {d:.0f} s",
            c + 1,
            False,
        )
    return events, f"largest 1 s mean {worst_db:.1f} dBFS"


def _sliding_sums(series: np.ndarray, window_blocks: int) -> np.ndarray:
    """Sums over every window of ``window_blocks`` consecutive blocks, one per starting block."""
    if len(series) < window_blocks:
        return np.zeros(0)
    total = np.concatenate(([0.0], np.cumsum(series, dtype=np.float64)))
    return total[window_blocks:] - total[:-window_blocks]


# Edges of an inversion are placed with this short window: a 1 s window cannot say where in
# its second the sign flipped, a 0.25 s one places it to about a tenth of a second.
_EDGE_WINDOW_S = 0.25


def detect_phase(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    """Anti-correlation between channels 1 and 2 sustained for ``min_duration_s``.

    Found with ``window_s`` windows sliding by one 10 ms block, so an inversion is found
    wherever it starts; its edges are then placed with 0.25 s windows inside the run.
    """
    if found.channels < 2:
        return [], "not applicable (one channel)"
    window_blocks = _window_blocks(thresholds)
    edge_blocks = min(window_blocks, max(1, int(round(_EDGE_WINDOW_S / BLOCK_S))))
    sumsq = found.rms[:, :2].astype(np.float64) ** 2 * found.block_frames
    min_power = measures.amplitude(thresholds["min_level_dbfs"]) ** 2 * found.block_frames

    def windows(blocks: int) -> tuple[np.ndarray, np.ndarray]:
        cross = _sliding_sums(found.cross, blocks)
        left = _sliding_sums(sumsq[:, 0], blocks)
        right = _sliding_sums(sumsq[:, 1], blocks)
        loud = (left >= min_power * blocks) & (right >= min_power * blocks)
        return measures.correlation_from_sums(cross, left, right), loud

    corr, loud = windows(window_blocks)
    edge_corr, edge_loud = windows(edge_blocks)
    inverted = edge_loud & (edge_corr <= thresholds["warn_correlation"])
    merger = EventMerger("phase", 0.0, True)
    starts, ends = true_runs(loud & (corr <= thresholds["warn_correlation"]))
    for first, last in zip(starts, ends, strict=True):
        # the flagged windows cover [first, last - 1 + window); the inversion lies inside
        inside = np.flatnonzero(inverted[first : last - 1 + window_blocks - edge_blocks + 1])
        begin = first + int(inside[0]) if inside.size else first
        end = (first + int(inside[-1]) if inside.size else last - 1) + edge_blocks
        duration_s = (end - begin) * found.block_frames / found.rate_hz
        if duration_s + 1e-9 < thresholds["min_duration_s"]:
            continue
        value = float(corr[first:last].min())
        merger.add(
            found.block_time(begin),
            found.block_time(end),
            None,
            "fail" if value <= thresholds["fail_correlation"] else "warn",
            value,
            f"correlation {value:+.2f} for {duration_s:.1f} s (channels 1 and 2)",
        )
    lowest = float(corr[loud].min()) if loud.any() else 0.0
    return merger.finish(), f"lowest {thresholds['window_s']:g} s correlation {lowest:+.2f}"


def detect_channel_imbalance(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    if found.channels < 2:
        return [], "not applicable (one channel)"
    window_blocks = _window_blocks(thresholds)
    sumsq = found.rms[:, :2].astype(np.float64) ** 2
    level_db = measures.power_db(_window_sums(sumsq, window_blocks) / window_blocks)
    diff = level_db[:, 0] - level_db[:, 1]
    loud = level_db.max(axis=1) >= thresholds["min_level_dbfs"]
    events = []
    for sign, quiet_channel in ((1, 2), (-1, 1)):
        lower_by = sign * diff
        events += _sustained(
            found,
            "channel_imbalance",
            loud & (lower_by >= thresholds["warn_db"]),
            lower_by,
            window_blocks,
            thresholds["min_duration_s"],
            lambda v: "fail" if v >= thresholds["fail_db"] else "warn",
            lambda v, dur, q=quiet_channel: f"channel {q} {v:.1f} dB lower for {dur:.0f} s",
            quiet_channel,
            False,
        )
    median = float(np.median(diff[loud])) if loud.any() else 0.0
    return events, f"median difference (1 - 2) {median:+.1f} dB"


def detect_silence(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    """Silence inside the take; head and tail silence as such. Adds their lengths to stats."""
    rms_db = found.rms_db
    level_db = rms_db.max(axis=1) if found.channels else np.zeros(0)
    r0, r1 = true_runs(level_db < thresholds["level_dbfs"])
    block_s = found.block_frames / found.rate_hz
    n_blocks = len(level_db)
    head = tail = 0.0
    merger = EventMerger("silence", 0.0)
    total = 0.0
    for a, b in zip(r0, r1, strict=True):
        dur = (b - a) * block_s
        if dur + 1e-9 < thresholds["min_duration_s"]:
            continue
        total += dur
        loudest = float(level_db[a:b].max())
        span = (found.block_time(a), found.block_time(b), None)
        if a == 0 and b == n_blocks:
            merger.add(*span, "fail", loudest, "the whole take is silent")
            head = tail = dur
        elif a == 0:
            head = dur
            if dur > thresholds["head_tail_warn_s"]:
                merger.add(*span, "warn", loudest, f"head silence {dur:.1f} s")
        elif b == n_blocks:
            tail = dur
            if dur > thresholds["head_tail_warn_s"]:
                merger.add(*span, "warn", loudest, f"tail silence {dur:.1f} s")
        else:
            merger.add(
                *span,
                "warn",
                loudest,
                f"silence {dur:.1f} s below {thresholds['level_dbfs']:g} dBFS",
            )
    events = merger.finish()
    duration_s = found.duration_s
    if (total / duration_s if duration_s else 0.0) >= thresholds["fail_fraction"]:
        for e in events:
            e.severity = "fail"
    found.stats["head_silence_s"] = round(head, 3)
    found.stats["tail_silence_s"] = round(tail, 3)
    found.stats["silence_s"] = round(total, 3)
    return events, f"{total:.1f} s of silence (head {head:.1f} s, tail {tail:.1f} s)"
