"""Video checks: per-frame statistics (``qc.video_stats``) turned into events.

``run_video_checks(master, profile, progress)`` decodes the first video stream once, writes
the ``ITEM_tNN.vstats.npz`` sidecar beside the master, runs the detector of every enabled
video row of ``qc.table`` on it (the ``detect_*`` functions here: the framemd5 check compares
the same decode with the ``.framemd5`` written at capture, so a take is decoded once after
capture) and returns ``(checks, events, stats, duration_s)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from metadata.formats.framemd5 import differing_frames, frame_hashes, read_framemd5
from metadata.progress import ProgressFn
from metadata.take.log import read_log
from metadata.take.naming import paths_for_master
from qc.conformance import run_conformance
from qc.integrity import decode_error_detection, framemd5_detection
from qc.profiles import Profile, load_profile
from qc.result import CheckResult, EventMerger, QCEvent, status_of
from qc.series import joined_runs
from qc.table import CHECKS
from qc.video_stats import AnalysisParams, VideoStats, compute_video_stats, write_vstats

# Checks that decode the master: after a live take they are the integrity job's
DECODE_CHECKS = ("decode_error", "framemd5")


@dataclass
class VideoContext:
    """What the video detectors read: the per-frame statistics of one decode of the master."""

    master: Path
    stats: VideoStats
    pts: np.ndarray
    frame_s: float
    code_scale: float  # 2^(depth - 8): 8-bit code values times this are the file's
    black: np.ndarray  # frames judged black (blackdetect picture ratio)
    duration_s: float
    log_path: Path | None = None
    framemd5_path: Path | None = None  # set when the frames were hashed against it

    def span(self, i0: int, i1: int) -> tuple[float, float]:
        """Seconds covered by frames i0..i1-1."""
        return float(self.pts[i0]), float(self.pts[i1 - 1] + self.frame_s)


class Detection(NamedTuple):
    """A video detector's finding: the check's result, its events, statistics for qc.json."""

    result: CheckResult
    events: list[QCEvent]
    stats: dict | None = None


def _detect_runs(
    ctx: VideoContext,
    check: str,
    runs,
    values: np.ndarray,
    fail_at: float,
    detail,
    summary_ok: str,
    measure: tuple[str, str],
    min_duration_s: float = 0.0,
) -> Detection:
    """One event per run of frames, valued at its worst frame (fail from ``fail_at`` up);
    ``measure`` names the value and its format in the summary."""
    events = []
    for i0, i1 in runs:
        start_s, end_s = ctx.span(i0, i1)
        if end_s - start_s + 1e-9 < min_duration_s:
            continue
        worst_at = int(np.argmax(values[i0:i1]))
        value = float(values[i0 + worst_at])
        severity = "fail" if value >= fail_at else "warn"
        detail_text = detail(i0, i1, i0 + worst_at, value)
        events.append(QCEvent(check, start_s, end_s, None, severity, value, detail_text))
    return _detection(check, events, summary_ok, _events_over(*measure))


def _detection(
    check: str, events: list[QCEvent], summary_ok: str, summary_bad, stats: dict | None = None
) -> Detection:
    if not events:
        return Detection(CheckResult(check, "pass", 0, summary_ok), events, stats)
    result = CheckResult(check, status_of(events), len(events), summary_bad(events))
    return Detection(result, events, stats)


def _total_s(events: list[QCEvent]) -> float:
    return sum(e.end_s - e.start_s for e in events)


def _events_over(measure: str, value_format: str, what: str = "events"):
    """The summary of a check whose events carry the worst ``measure`` of their frames."""

    def summary(events: list[QCEvent]) -> str:
        worst_value = format(max(e.value for e in events), value_format)
        return f"{len(events)} {what} over {_total_s(events):.2f} s ({measure} max {worst_value})"

    return summary


# -- the detectors: each takes the context and its thresholds ---------------------------


def detect_video_dropout(ctx: VideoContext, thresholds: dict) -> Detection:
    tout, streak = ctx.stats.column("TOUT"), ctx.stats.column("STREAK")
    flag = (tout >= thresholds["tout_fraction"]) | (streak >= thresholds["streak_fraction"])
    fail = float(thresholds["fail_tout_fraction"])
    merger = EventMerger(
        "video_dropout", gap_s=(int(thresholds["merge_gap_frames"]) + 0.5) * ctx.frame_s
    )
    for i in np.flatnonzero(flag).tolist():
        start_s, end_s = ctx.span(i, i + 1)
        value = float(tout[i])
        merger.add(
            start_s,
            end_s,
            None,
            "fail" if value >= fail else "warn",
            value,
            f"TOUT {value:.4f}, longest streak {streak[i] * 100:.0f}% of a line "
            f"(frame at {start_s:.3f} s)",
        )
    return _detection(
        "video_dropout",
        merger.finish(),
        f"no dropouts (TOUT max {float(tout.max(initial=0)):.4f})",
        _events_over("TOUT", ".4f", "dropout events"),
    )


def detect_line_repetition(ctx: VideoContext, thresholds: dict) -> Detection:
    vrep = ctx.stats.column("VREP")
    # a black or flat frame repeats every line: that is the black check's business
    flag = (vrep >= thresholds["vrep_fraction"]) & ~ctx.black
    vrep_max = float(np.where(ctx.black, 0, vrep).max(initial=0))
    return _detect_runs(
        ctx,
        "line_repetition",
        joined_runs(flag, gap=int(thresholds["merge_gap_frames"])),
        vrep,
        float(thresholds["fail_vrep_fraction"]),
        lambda i0, i1, k, v: (
            f"VREP {v:.3f}: {v * 100:.1f}% of lines repeat the line 4 above ({i1 - i0} frames)"
        ),
        f"no repeated lines (VREP max {vrep_max:.3f})",
        ("VREP", ".3f"),
    )


def detect_out_of_range(ctx: VideoContext, thresholds: dict) -> Detection:
    stats = ctx.stats
    brng = stats.column("BRNG")
    scale = ctx.code_scale
    # noise around a legal black level puts half the pixels of a black frame just below 16:
    # that is the black check's run, not an illegal picture (a black level set too low is)
    noisy_legal_black = ctx.black & (stats.column("YAVG") >= 15.5 * scale)
    flag = (brng >= thresholds["brng_fraction"]) & ~noisy_legal_black

    def detail(i0, i1, k, v):
        return (
            f"BRNG {v:.3f} (luma {int(stats.column('YMIN')[k])}..{int(stats.column('YMAX')[k])}, "
            f"legal {int(16 * scale)}..{int(235 * scale)})"
        )

    return _detect_runs(
        ctx,
        "out_of_range",
        joined_runs(flag, gap=1),
        brng,
        float(thresholds["fail_brng_fraction"]),
        detail,
        f"in broadcast range (BRNG max {float(brng.max(initial=0)):.4f})",
        ("BRNG", ".3f"),
        float(thresholds["min_duration_s"]),
    )


def detect_saturation(ctx: VideoContext, thresholds: dict) -> Detection:
    stats = ctx.stats
    satmax = stats.column("SATMAX")
    scale = ctx.code_scale / 4.0  # thresholds are in 10-bit code values
    limit = float(thresholds["satmax_10bit"]) * scale
    fail = float(thresholds["fail_satmax_10bit"]) * scale
    flag = (satmax > limit) & (stats.column("SATOVER") >= float(thresholds["min_area_fraction"]))
    return _detect_runs(
        ctx,
        "saturation",
        joined_runs(flag, gap=1),
        satmax,
        fail + 1,  # SATMAX above (not at) the fail limit
        lambda i0, i1, k, v: (
            f"SATMAX {v:.0f} above {limit:.0f}; "
            f"{stats.column('SATOVER')[k] * 100:.2f}% of chroma over"
        ),
        f"legal chroma (SATMAX max {float(satmax.max(initial=0)):.0f}, limit {limit:.0f})",
        ("SATMAX", ".0f"),
        float(thresholds["min_duration_s"]),
    )


def detect_black(ctx: VideoContext, thresholds: dict) -> Detection:
    n = len(ctx.pts)
    runs = joined_runs(ctx.black)
    events = []
    head_tail = []
    for i0, i1 in runs:
        start_s, end_s = ctx.span(i0, i1)
        dur = end_s - start_s
        where = "head" if i0 == 0 else ("tail" if i1 == n else "")
        if where:
            head_tail.append({"where": where, "start_s": start_s, "end_s": end_s})
            if dur + 1e-9 < float(thresholds["head_tail_warn_s"]):
                continue
        elif dur + 1e-9 < float(thresholds["min_duration_s"]):
            continue
        label = f"black at the {where} of the take" if where else "black inside the programme"
        events.append(QCEvent("black", start_s, end_s, None, "warn", dur, f"{label}: {dur:.2f} s"))
    return _detection(
        "black",
        events,
        "no black run"
        if not runs
        else f"{len(runs)} short black runs (under the minimum duration)",
        lambda ev: f"{len(ev)} black runs, {_total_s(ev):.2f} s in all",
        {"black_head_tail": head_tail},
    )


def detect_freeze(ctx: VideoContext, thresholds: dict) -> Detection:
    mafd = ctx.stats.column("MAFD")
    noise = 10.0 ** (float(thresholds["noise_db"]) / 20.0)
    same = mafd <= noise
    same[0] = False  # the first frame has nothing to repeat
    same &= ~ctx.black  # a black run is the black check's
    events = []
    for i0, i1 in joined_runs(same):
        start_s = float(ctx.pts[i0 - 1])  # the frame that is being repeated
        end_s = float(ctx.pts[i1 - 1] + ctx.frame_s)
        if end_s - start_s + 1e-9 < float(thresholds["min_duration_s"]):
            continue
        largest = float(mafd[i0:i1].max())
        events.append(
            QCEvent(
                "freeze",
                start_s,
                end_s,
                None,
                "warn",
                end_s - start_s,
                f"picture frozen for {end_s - start_s:.2f} s ({i1 - i0 + 1} frames, "
                f"difference at most {largest:.2e})",
            )
        )
    return _detection(
        "freeze",
        events,
        "no frozen picture",
        lambda ev: f"{len(ev)} freezes, {_total_s(ev):.2f} s in all",
    )


def detect_frame_drop(ctx: VideoContext, thresholds: dict) -> Detection:
    """Timestamp gaps, and the capture log's ``gap``/``frame_drop`` events."""
    pts = ctx.pts
    findings: list[list] = []  # [at_s, end_s, frames_lost, source]
    if len(pts) > 1:
        steps = np.diff(pts)
        for i in np.flatnonzero(steps > 1.5 * ctx.frame_s).tolist():
            lost = int(round(steps[i] / ctx.frame_s)) - 1
            findings.append(
                [float(pts[i] + ctx.frame_s), float(pts[i + 1]), max(lost, 1), "timestamps"]
            )
        backwards = int(np.count_nonzero(steps <= 0))
    else:
        backwards = 0
    from_log = 0
    if ctx.log_path is not None:
        for ev in read_log(ctx.log_path):
            if ev.event not in ("gap", "frame_drop"):
                continue
            try:
                at = float(ev.fields.get("at_s", 0.0))
                lost = int(ev.fields.get("frames_lost", 1))
            except (TypeError, ValueError):
                continue
            from_log += 1
            same = next((f for f in findings if abs(f[0] - at) <= 2.5 * ctx.frame_s), None)
            if same is not None:  # the gap the log reported is the one in the timestamps
                same[2] = max(same[2], lost)
                same[3] = "timestamps and capture log"
            else:
                findings.append([at, at + max(lost, 1) * ctx.frame_s, max(lost, 1), "capture log"])
    findings.sort()
    total = sum(f[2] for f in findings)
    total_fail = total >= int(thresholds["fail_frames"])
    events = []
    for at, end, lost, source in findings:
        if lost < int(thresholds["warn_frames"]) and not total_fail:
            continue
        events.append(
            QCEvent(
                "frame_drop",
                at,
                max(end, at),
                None,
                "fail" if total_fail else "warn",
                float(lost),
                f"{lost} frame{'s' if lost != 1 else ''} lost ({source})",
            )
        )
    found = _detection(
        "frame_drop",
        events,
        "no frame lost",
        lambda ev: f"{total} frames lost in {len(ev)} places",
        {"frames_lost": total, "log_drop_events": from_log, "pts_out_of_order": backwards},
    )
    if backwards:
        found.result.summary += f"; {backwards} timestamps out of order"
    return found


def detect_decode_error(ctx: VideoContext, thresholds: dict) -> Detection:
    """Slice CRC mismatches and other decoder errors."""
    result, events = decode_error_detection(ctx.stats.issues, ctx.frame_s, thresholds, ctx.pts)
    return Detection(result, events)


def detect_framemd5(ctx: VideoContext, thresholds: dict) -> Detection | None:
    """Every decoded frame against the framemd5 written while the take was captured; None for
    a file without its framemd5 (nothing to compare with)."""
    sidecar = ctx.framemd5_path
    if sidecar is None:
        return None
    try:
        written = frame_hashes(read_framemd5(sidecar))
    except (OSError, ValueError) as exc:
        detail = f"cannot read {sidecar.name}: {exc}"
        return Detection(CheckResult("framemd5", "warn", 1, detail), [])
    if not written:
        return Detection(CheckResult("framemd5", "warn", 1, f"{sidecar.name} lists no frames"), [])
    if ctx.stats.framemd5 is None:
        no_rate = "the frames could not be hashed (no rate)"
        return Detection(CheckResult("framemd5", "warn", 1, no_rate), [])
    decoded = frame_hashes(ctx.stats.framemd5)
    differences = differing_frames(written, decoded)
    result, events = framemd5_detection(differences, ctx.frame_s, sidecar.name, len(decoded))
    return Detection(result, events)


def detect_conformance(ctx: VideoContext, thresholds: dict) -> Detection:
    """The master against the preservation target (``qc.conformance``)."""
    # measured while recording, nothing was demuxed: conformance samples the packets itself
    scan = (
        {"packets": ctx.stats.packets, "non_key": ctx.stats.non_key_packets}
        if ctx.stats.packets
        else None
    )
    result, events, facts = run_conformance(ctx.master, thresholds, scan, ctx.duration_s)
    return Detection(result, events, {"conformance": facts})


# -- the runner's entry point ------------------------------------------------------------


def run_video_checks(
    master: Path,
    profile: Profile | str = "default",
    progress: ProgressFn | None = None,
    write_sidecar: bool = True,
    log_path: Path | None = None,
    stats: VideoStats | None = None,
) -> tuple[list[CheckResult], list[QCEvent], dict, float]:
    """Decode the video once (or take ``stats`` measured while the take was recorded: then
    the checks that decode the master are left to the integrity job); run every enabled
    video check of the table on it; return ``(checks, events, stats, duration_s)``."""
    master = Path(master)
    prof = load_profile(profile)
    paths = paths_for_master(master)
    skip: tuple[str, ...] = ()
    if stats is None:
        hash_frames = paths.framemd5.exists() and prof.enabled("framemd5")
        stats = compute_video_stats(master, video_params(prof), progress, frame_md5=hash_frames)
    else:
        hash_frames = False
        skip = DECODE_CHECKS
    if log_path is None and paths.log.exists():
        log_path = paths.log
    checks, events, out_stats = run_detectors(
        master,
        prof,
        stats,
        log_path=log_path,
        framemd5_path=paths.framemd5 if hash_frames else None,
        skip=skip,
    )
    if write_sidecar:
        side = paths.file(".vstats.npz")
        try:
            write_vstats(side, stats)
            out_stats["statistics_file"] = side.name
        except OSError as exc:
            out_stats["statistics_file"] = None
            out_stats["statistics_error"] = f"cannot write {side.name}: {exc.strerror}"
    return checks, events, out_stats, out_stats["duration_s"]


def video_params(prof: Profile) -> AnalysisParams:
    """The analysis parameters a profile sets (they shape some statistics)."""
    black_t = prof.thresholds("black")
    return AnalysisParams(
        black_pixel_threshold=float(black_t["pixel_black_threshold"]),
        satmax_10bit=float(prof.thresholds("saturation")["satmax_10bit"]),
    )


def run_detectors(
    master: Path | None,
    prof: Profile,
    stats: VideoStats,
    *,
    log_path: Path | None = None,
    framemd5_path: Path | None = None,
    only: tuple[str, ...] | None = None,
    skip: tuple[str, ...] = (),
) -> tuple[list[CheckResult], list[QCEvent], dict]:
    """The enabled video checks of the table (or ``only`` these, less ``skip``) on ``stats``:
    ``(checks, events, stats for qc.json)``; ``stats["duration_s"]`` is the video's length."""
    info = stats.info
    pts = stats.pts_s
    frame_s = (
        float(1 / info.rate)
        if info.rate
        else float(np.median(np.diff(pts)) if len(stats) > 1 else 0.04)
    )
    duration_s = max(info.duration_s, float(pts[-1] + frame_s) if len(pts) else 0.0)
    black_t = prof.thresholds("black")
    ctx = VideoContext(
        master=master,
        stats=stats,
        pts=pts,
        frame_s=frame_s,
        code_scale=float(1 << (info.bit_depth - 8)),
        black=stats.column("BLACK") >= float(black_t["picture_black_ratio"]),
        duration_s=duration_s,
        log_path=log_path,
        framemd5_path=framemd5_path,
    )
    checks: list[CheckResult] = []
    events: list[QCEvent] = []
    out_stats = _summary(stats, duration_s)
    out_stats["duration_s"] = duration_s
    for spec in CHECKS.values():
        if spec.kind != "video" or not prof.enabled(spec.id) or spec.id in skip:
            continue
        if only is not None and spec.id not in only:
            continue
        found = spec.detector(ctx, prof.thresholds(spec.id))
        if found is None:
            continue
        checks.append(found.result)
        events.extend(found.events)
        out_stats.update(found.stats or {})
    return checks, events, out_stats


def _summary(stats: VideoStats, duration_s: float) -> dict:
    info = stats.info

    def agg(name, fn):
        col = stats.column(name)
        return float(fn(col)) if len(col) else None

    return {
        "frames": len(stats),
        "width": info.width,
        "height": info.height,
        "pix_fmt": info.pix_fmt,
        "bit_depth": info.bit_depth,
        "codec": info.codec,
        "frame_rate": str(info.rate) if info.rate else None,
        "duration_s": duration_s,
        "decode_errors": len(stats.issues),
        "frames_without_pts": stats.missing_pts,
        "timing": {k: round(v, 3) for k, v in stats.timing.items()},
        "tout_mode": "native bit depth (FFmpeg uses the low 8 bits above 8-bit)"
        if info.bit_depth > 8
        else "as FFmpeg signalstats",
        "signalstats": {
            "YAVG_mean": agg("YAVG", np.mean),
            "YMIN_min": agg("YMIN", np.min),
            "YMAX_max": agg("YMAX", np.max),
            "SATMAX_max": agg("SATMAX", np.max),
            "SATAVG_mean": agg("SATAVG", np.mean),
            "TOUT_max": agg("TOUT", np.max),
            "VREP_max": agg("VREP", np.max),
            "BRNG_max": agg("BRNG", np.max),
        },
    }
