"""Dropouts: held samples inside program (digital silence or a frozen value) and sudden level
collapses of the ~1 ms level below the program on both sides."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from qc import measures
from qc.audio.reading import BLOCK_S
from qc.result import EventMerger, QCEvent
from qc.series import closing, mean_of_three, running_median, true_runs

if TYPE_CHECKING:
    from qc.audio.accumulator import AudioFindings

SEGMENT_BLOCKS = 6000  # collapses are searched a minute at a time: small temporaries


def detect_dropout(found: AudioFindings, thresholds: dict) -> tuple[list[QCEvent], str]:
    rms_db = found.rms_db
    events = _holds_in_program(found, thresholds, rms_db) + _collapses(found, thresholds, rms_db)
    events.sort(key=lambda e: (e.start_s, e.channel or 0))
    merger = EventMerger("dropout", 0.05, lower_is_worse=True)
    for e in events:
        merger.add(e.start_s, e.end_s, e.channel, e.severity, e.value, e.detail)
    merged = merger.finish()
    return merged, f"{len(merged)} dropouts"


def _holds_in_program(found: AudioFindings, thresholds: dict, rms_db: np.ndarray) -> list[QCEvent]:
    """Identical samples between the first and the last sound of the take (an analog noise
    floor never holds still; head/tail digital silence is the silence check's)."""
    block_frames = found.block_frames
    audible = (
        np.flatnonzero(rms_db.max(axis=1) >= found.thresholds["silence"]["level_dbfs"])
        if len(rms_db)
        else []
    )
    first_frame = audible[0] * block_frames if len(audible) else None
    last_frame = (audible[-1] + 1) * block_frames if len(audible) else None
    merged: list[list] = []
    for start, end, channel, value in sorted(found.holds, key=lambda h: (h[2], h[0])):
        if merged and merged[-1][2] == channel and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, channel, value])
    events = []
    edge_min = thresholds["hold_edge_min_dbfs"]
    for start, end, channel, value in merged:
        if (
            first_frame is None
            or start < first_frame
            or end > last_frame
            or abs(value) >= found.clip_level
        ):
            continue  # outside program, or full scale (the clipping check's)
        # the signal beside the hold: a dropout cuts into sound, a digital fade ends in zeros
        first_block, end_block = start // block_frames, -(-end // block_frames)
        side_before = rms_db[max(0, first_block - 3) : first_block, channel]
        side_after = rms_db[end_block : end_block + 3, channel]
        if (
            not side_before.size
            or not side_after.size
            or side_before.max() < edge_min
            or side_after.max() < edge_min
        ):
            continue
        what = "digital silence" if value == 0 else f"held value {value:+.4f}"
        events.append(
            QCEvent(
                "dropout",
                found.time_of(start),
                found.time_of(end),
                channel + 1,
                "fail",
                measures.DBFS_FLOOR if value == 0 else round(float(measures.dbfs(value)), 1),
                f"{what} for {(end - start) / found.rate_hz * 1000:.1f} ms inside program",
            )
        )
    return events


def _collapses(found: AudioFindings, thresholds: dict, rms_db: np.ndarray) -> list[QCEvent]:
    """The ~1 ms level falls many dB below the program on both sides, abruptly."""
    context = max(2, int(round(thresholds["context_s"] / BLOCK_S)))
    n_blocks = len(rms_db)
    sub_s = found.sub_frames / found.rate_hz
    per_block = found.block_frames // found.sub_frames
    min_sub = max(1, int(math.ceil(thresholds["min_ms"] / 1000 / sub_s)))
    max_sub = int(thresholds["max_ms"] / 1000 / sub_s)
    edge = max(1, int(round(thresholds["edge_ms"] / 1000 / sub_s)))
    events: list[QCEvent] = []
    if not len(found.sub_db) or n_blocks <= 2 * context:
        return events
    # in segments (plus context) so the temporaries stay small in a long take
    pad = context + max_sub // per_block + edge + 4
    for seg_start in range(0, n_blocks, SEGMENT_BLOCKS):
        lo, hi = max(0, seg_start - pad), min(n_blocks, seg_start + SEGMENT_BLOCKS + pad)
        events += _collapses_in_stretch(
            found,
            thresholds,
            rms_db[lo:hi],
            found.sub_db[lo * per_block : hi * per_block],
            lo,
            (seg_start - lo, min(SEGMENT_BLOCKS, n_blocks - seg_start)),
            (context, n_blocks),
            (min_sub, max_sub, edge),
        )
    return events


def _collapses_in_stretch(found, thresholds, rms_db, sub_db, first_block, own, take, sizes):
    """Level collapses in one stretch; only those starting in its own part (``own``: its first
    block and length) are returned. ``take``: the context width and the take's length."""
    program_min = thresholds["program_min_dbfs"]
    own_from, own_len = own
    context, take_blocks = take
    min_sub, max_sub, edge = sizes
    per_block = found.block_frames // found.sub_frames
    sub_s = found.sub_frames / found.rate_hz
    nb = len(rms_db)
    median = running_median(rms_db.T, context).T
    half = context // 2 + 1
    # the program level over the context before and after each block
    before = np.vstack([np.repeat(median[:1], half, axis=0), median[:-half]])
    after = np.vstack([median[half:], np.repeat(median[-1:], half, axis=0)])
    ref_blocks = np.maximum(before, after)
    out = []
    for c in range(found.channels):
        env = sub_db[:, c].astype(np.float32)
        ref = np.repeat(ref_blocks[:, c], per_block)[: len(env)]
        # a 3 ms power average keeps the level of an attenuated program from flickering
        smooth = measures.power_db(mean_of_three(10 ** (env.astype(np.float64) / 10)))
        low = (smooth <= ref - thresholds["collapse_db"]) & (ref >= program_min)
        low = closing(low, 5) | low
        r0, r1 = true_runs(low)
        for a, b in zip(r0, r1, strict=True):
            if not own_from * per_block <= a < (own_from + own_len) * per_block:
                continue
            if b - a < min_sub or b - a > max_sub or a < edge or b + edge > len(env):
                continue
            # program must be heard on both sides: not in the first or last context of the take
            g0, g1 = first_block + a // per_block, first_block + -(-b // per_block)
            if g0 < context or g1 > take_blocks - context:
                continue
            b0, b1 = a // per_block, -(-b // per_block)
            level_before = float(before[min(b0, nb - 1), c])
            level_after = float(after[min(b1, nb - 1), c])
            if level_before < program_min or level_after < program_min:
                continue
            level = _power_mean_db(env[a:b])
            # depth against the program level: the wider context or, when the program
            # right beside the collapse (50 ms each side) is louder, that
            near_before = float(np.median(rms_db[max(0, b0 - 6) : max(1, b0 - 1), c]))
            near_after = float(np.median(rms_db[min(nb - 1, b1 + 1) : min(nb, b1 + 6), c]))
            # abrupt: across each end the level jumps, edge_ms outside against edge_ms
            # inside (a fade or a word's decay passes through the levels in between, so
            # neighbouring stretches differ little)
            step_in = _power_mean_db(env[a - edge : a]) - _power_mean_db(env[a : a + edge])
            step_out = _power_mean_db(env[b : b + edge]) - _power_mean_db(env[b - edge : b])
            step = min(step_in, step_out)
            if step < thresholds["collapse_db"] - 6:
                continue
            # the program may be quieter at the collapse than around it: the jumps at its
            # ends measure the depth too
            program = min(level_before, level_after)
            depth = max(min(near_before, near_after), program, level + step) - level
            if depth < thresholds["collapse_db"] or program - level < thresholds["collapse_db"] - 6:
                continue
            sev = "fail" if depth >= thresholds["fail_collapse_db"] else "warn"
            f0 = (first_block * per_block + a) * found.sub_frames
            f1 = (first_block * per_block + b) * found.sub_frames
            out.append(
                QCEvent(
                    "dropout",
                    found.time_of(f0),
                    found.time_of(f1),
                    c + 1,
                    sev,
                    round(level, 1),
                    f"level collapse {depth:.0f} dB for {(b - a) * sub_s * 1000:.0f} ms",
                )
            )
    return out


def _power_mean_db(env_db: np.ndarray) -> float:
    return (
        float(measures.power_db(np.mean(10 ** (env_db.astype(np.float64) / 10))))
        if len(env_db)
        else measures.DBFS_FLOOR
    )
