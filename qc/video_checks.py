"""Video checks: per-frame statistics (``qc.video_stats``) turned into events.

``run_video_checks(master, profile, progress)`` decodes the first video stream once, writes
the ``ITEM_tNN.vstats.npz`` sidecar beside the master, and returns
``(checks, events, stats, duration_s)``. Checks: ``video_dropout``, ``line_repetition``,
``out_of_range``, ``saturation``, ``black``, ``freeze``, ``frame_drop`` (timestamp gaps and the
capture log's ``gap``/``frame_drop`` events), ``decode_error`` (slice CRC mismatches and other
decoder errors), ``framemd5`` (every decoded frame against the ``.framemd5`` written at capture,
when there is one: the same decode, so a take is decoded once after capture) and
``conformance`` (``qc.conformance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metadata.formats.framemd5 import frame_hashes, read_framemd5
from metadata.progress import ProgressFn
from metadata.take.log import read_log
from metadata.take.naming import paths_for_master
from qc.conformance import run_conformance
from qc.profiles import Profile, load_profile
from qc.result import CheckResult, EventMerger, QCEvent, worst
from qc.video_stats import AnalysisParams, VideoStats, compute_video_stats, write_vstats

VIDEO_CHECKS = (
    "video_dropout",
    "line_repetition",
    "out_of_range",
    "saturation",
    "black",
    "freeze",
    "frame_drop",
    "decode_error",
    "framemd5",
    "conformance",
)

# Defaults for thresholds a profile made before they were in the table may lack.
_FALLBACK = {
    "video_dropout": {"streak_fraction": 0.1},
    "black": {"head_tail_warn_s": 10.0},
    "saturation": {"min_area_fraction": 0.0},
    "decode_error": {"enabled": True, "fail_on_error": True},
}


def _thresholds(profile: Profile, check_id: str) -> dict:
    t = dict(_FALLBACK.get(check_id, {}))
    if check_id in profile.checks:
        t.update(profile.checks[check_id])
    t.setdefault("enabled", True)
    return t


@dataclass
class _Ctx:
    stats: VideoStats
    pts: np.ndarray
    frame_s: float
    mult: float  # 2^(depth - 8)
    black: np.ndarray  # frames judged black (blackdetect picture ratio)

    def span(self, i0: int, i1: int) -> tuple[float, float]:
        """Seconds covered by frames i0..i1-1."""
        return float(self.pts[i0]), float(self.pts[i1 - 1] + self.frame_s)


def _runs(mask: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
    """[start, end) runs of True, joining runs separated by at most ``gap`` False frames."""
    if mask.size == 0:
        return []
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(np.int8))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    out: list[tuple[int, int]] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if out and s - out[-1][1] <= gap:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _events_from_runs(
    ctx: _Ctx,
    check: str,
    runs,
    values: np.ndarray,
    fail_at: float | None,
    detail,
    min_duration_s: float = 0.0,
    lower_is_worse: bool = False,
) -> list[QCEvent]:
    events = []
    for i0, i1 in runs:
        start_s, end_s = ctx.span(i0, i1)
        if end_s - start_s + 1e-9 < min_duration_s:
            continue
        seg = values[i0:i1]
        k = int(np.argmin(seg) if lower_is_worse else np.argmax(seg))
        v = float(seg[k])
        bad = fail_at is not None and (v <= fail_at if lower_is_worse else v >= fail_at)
        events.append(
            QCEvent(
                check, start_s, end_s, None, "fail" if bad else "warn", v, detail(i0, i1, i0 + k, v)
            )
        )
    return events


def _status(events: list[QCEvent]) -> str:
    return worst(*(e.severity for e in events))


def _result(check: str, events: list[QCEvent], summary_ok: str, summary_bad) -> CheckResult:
    if not events:
        return CheckResult(check, "pass", 0, summary_ok)
    return CheckResult(check, _status(events), len(events), summary_bad(events))


def _total_s(events: list[QCEvent]) -> float:
    return sum(e.end_s - e.start_s for e in events)


# -- the checks ------------------------------------------------------------------------


def check_video_dropout(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent]]:
    s = ctx.stats
    tout, streak = s.column("TOUT"), s.column("STREAK")
    flag = (tout >= t["tout_fraction"]) | (streak >= t["streak_fraction"])
    fail = float(t["fail_tout_fraction"])
    merger = EventMerger("video_dropout", gap_s=(int(t["merge_gap_frames"]) + 0.5) * ctx.frame_s)
    for i in np.flatnonzero(flag).tolist():
        a, b = ctx.span(i, i + 1)
        v = float(tout[i])
        merger.add(
            a,
            b,
            None,
            "fail" if v >= fail else "warn",
            v,
            f"TOUT {v:.4f}, longest streak {streak[i] * 100:.0f}% of a line (frame at {a:.3f} s)",
        )
    events = merger.finish()
    return (
        _result(
            "video_dropout",
            events,
            f"no dropouts (TOUT max {float(tout.max(initial=0)):.4f})",
            lambda ev: (
                f"{len(ev)} dropout events over {_total_s(ev):.2f} s (TOUT max {max(e.value for e in ev):.4f})"
            ),
        ),
        events,
    )


def check_line_repetition(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent]]:
    vrep = ctx.stats.column("VREP")
    # a black or flat frame repeats every line: that is the black check's business
    flag = (vrep >= t["vrep_fraction"]) & ~ctx.black
    runs = _runs(flag, gap=int(t["merge_gap_frames"]))
    events = _events_from_runs(
        ctx,
        "line_repetition",
        runs,
        vrep,
        float(t["fail_vrep_fraction"]),
        lambda i0, i1, k, v: (
            f"VREP {v:.3f}: {v * 100:.1f}% of lines repeat the line 4 above ({i1 - i0} frames)"
        ),
    )
    return (
        _result(
            "line_repetition",
            events,
            f"no repeated lines (VREP max {float(np.where(ctx.black, 0, vrep).max(initial=0)):.3f})",
            lambda ev: (
                f"{len(ev)} events over {_total_s(ev):.2f} s (VREP max {max(e.value for e in ev):.3f})"
            ),
        ),
        events,
    )


def check_out_of_range(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent]]:
    s = ctx.stats
    brng = s.column("BRNG")
    m = ctx.mult
    # noise around a legal black level puts half the pixels of a black frame just below 16:
    # that is the black check's run, not an illegal picture (a black level set too low is)
    noisy_legal_black = ctx.black & (s.column("YAVG") >= 15.5 * m)
    flag = (brng >= t["brng_fraction"]) & ~noisy_legal_black
    runs = _runs(flag, gap=1)

    def detail(i0, i1, k, v):
        return (
            f"BRNG {v:.3f} (luma {int(s.column('YMIN')[k])}..{int(s.column('YMAX')[k])}, "
            f"legal {int(16 * m)}..{int(235 * m)})"
        )

    events = _events_from_runs(
        ctx,
        "out_of_range",
        runs,
        brng,
        float(t["fail_brng_fraction"]),
        detail,
        float(t["min_duration_s"]),
    )
    return (
        _result(
            "out_of_range",
            events,
            f"in broadcast range (BRNG max {float(brng.max(initial=0)):.4f})",
            lambda ev: (
                f"{len(ev)} events over {_total_s(ev):.2f} s (BRNG max {max(e.value for e in ev):.3f})"
            ),
        ),
        events,
    )


def check_saturation(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent]]:
    s = ctx.stats
    satmax = s.column("SATMAX")
    scale = ctx.mult / 4.0  # thresholds are in 10-bit code values
    limit = float(t["satmax_10bit"]) * scale
    fail = float(t["fail_satmax_10bit"]) * scale
    flag = (satmax > limit) & (s.column("SATOVER") >= float(t["min_area_fraction"]))
    runs = _runs(flag, gap=1)
    events = _events_from_runs(
        ctx,
        "saturation",
        runs,
        satmax,
        fail + 1,  # SATMAX above (not at) the fail limit
        lambda i0, i1, k, v: (
            f"SATMAX {v:.0f} above {limit:.0f}; {s.column('SATOVER')[k] * 100:.2f}% of chroma over"
        ),
        float(t["min_duration_s"]),
    )
    return (
        _result(
            "saturation",
            events,
            f"legal chroma (SATMAX max {float(satmax.max(initial=0)):.0f}, limit {limit:.0f})",
            lambda ev: (
                f"{len(ev)} events over {_total_s(ev):.2f} s (SATMAX max {max(e.value for e in ev):.0f})"
            ),
        ),
        events,
    )


def check_black(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent], dict]:
    n = len(ctx.pts)
    runs = _runs(ctx.black)
    events = []
    head_tail = []
    for i0, i1 in runs:
        a, b = ctx.span(i0, i1)
        dur = b - a
        where = "head" if i0 == 0 else ("tail" if i1 == n else "")
        if where:
            head_tail.append({"where": where, "start_s": a, "end_s": b})
            if dur + 1e-9 < float(t["head_tail_warn_s"]):
                continue
        elif dur + 1e-9 < float(t["min_duration_s"]):
            continue
        label = f"black at the {where} of the take" if where else "black inside the programme"
        events.append(QCEvent("black", a, b, None, "warn", dur, f"{label}: {dur:.2f} s"))
    res = _result(
        "black",
        events,
        "no black run"
        if not runs
        else f"{len(runs)} short black runs (under the minimum duration)",
        lambda ev: f"{len(ev)} black runs, {_total_s(ev):.2f} s in all",
    )
    return res, events, {"black_head_tail": head_tail}


def check_freeze(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent]]:
    mafd = ctx.stats.column("MAFD")
    noise = 10.0 ** (float(t["noise_db"]) / 20.0)
    same = mafd <= noise
    same[0] = False  # the first frame has nothing to repeat
    same &= ~ctx.black  # a black run is the black check's
    events = []
    for i0, i1 in _runs(same):
        a = float(ctx.pts[i0 - 1])  # the frame that is being repeated
        b = float(ctx.pts[i1 - 1] + ctx.frame_s)
        if b - a + 1e-9 < float(t["min_duration_s"]):
            continue
        v = float(mafd[i0:i1].max())
        events.append(
            QCEvent(
                "freeze",
                a,
                b,
                None,
                "warn",
                b - a,
                f"picture frozen for {b - a:.2f} s ({i1 - i0 + 1} frames, difference at most {v:.2e})",
            )
        )
    return (
        _result(
            "freeze",
            events,
            "no frozen picture",
            lambda ev: f"{len(ev)} freezes, {_total_s(ev):.2f} s in all",
        ),
        events,
    )


def check_frame_drop(
    ctx: _Ctx, t: dict, log_path: Path | None
) -> tuple[CheckResult, list[QCEvent], dict]:
    pts = ctx.pts
    findings: list[list] = []  # [at_s, end_s, frames_lost, source]
    if len(pts) > 1:
        d = np.diff(pts)
        for i in np.flatnonzero(d > 1.5 * ctx.frame_s).tolist():
            lost = int(round(d[i] / ctx.frame_s)) - 1
            findings.append(
                [float(pts[i] + ctx.frame_s), float(pts[i + 1]), max(lost, 1), "timestamps"]
            )
        backwards = int(np.count_nonzero(d <= 0))
    else:
        backwards = 0
    from_log = 0
    if log_path is not None:
        for ev in read_log(log_path):
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
    total_fail = total >= int(t["fail_frames"])
    events = []
    for at, end, lost, source in findings:
        if lost < int(t["warn_frames"]) and not total_fail:
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
    res = _result(
        "frame_drop",
        events,
        "no frame lost",
        lambda ev: f"{total} frames lost in {len(ev)} places",
    )
    if backwards:
        res.summary += f"; {backwards} timestamps out of order"
    return (
        res,
        events,
        {"frames_lost": total, "log_drop_events": from_log, "pts_out_of_order": backwards},
    )


def check_decode_errors(ctx: _Ctx, t: dict) -> tuple[CheckResult, list[QCEvent]]:
    severity = "fail" if t.get("fail_on_error", True) else "warn"
    merger = EventMerger("decode_error", gap_s=1.5 * ctx.frame_s)
    for issue in ctx.stats.issues:
        if issue.time_s is not None:
            at = issue.time_s
        elif issue.frame_index is not None and len(ctx.pts):
            at = float(ctx.pts[min(issue.frame_index, len(ctx.pts) - 1)])
        else:
            at = 0.0
        merger.add(at, at + ctx.frame_s, None, severity, None, issue.message)
    events = merger.finish()
    return (
        _result(
            "decode_error",
            events,
            "decoded without errors",
            lambda ev: (
                f"{len(ctx.stats.issues)} decoder errors in {len(ev)} places (e.g. {ev[0].detail})"
            ),
        ),
        events,
    )


def check_framemd5(ctx: _Ctx, sidecar: Path) -> tuple[CheckResult, list[QCEvent]]:
    """Every decoded frame against the framemd5 written while the take was captured."""
    try:
        written = frame_hashes(read_framemd5(sidecar))
    except (OSError, ValueError) as exc:
        detail = f"cannot read {sidecar.name}: {exc}"
        return CheckResult("framemd5", "warn", 1, detail), []
    if not written:
        return CheckResult("framemd5", "warn", 1, f"{sidecar.name} lists no frames"), []
    if ctx.stats.framemd5 is None:
        return CheckResult("framemd5", "warn", 1, "the frames could not be hashed (no rate)"), []
    decoded = frame_hashes(ctx.stats.framemd5)
    merger = EventMerger("framemd5", gap_s=1.5 * ctx.frame_s)
    bad = 0
    indices = sorted(written.keys() | decoded.keys())
    for index in indices:
        w, d = written.get(index), decoded.get(index)
        if w == d:
            continue
        bad += 1
        at = index * ctx.frame_s
        what = (
            "written at capture, not decoded now"
            if d is None
            else "decoded now, not written at capture"
            if w is None
            else "differs from the frame written at capture"
        )
        merger.add(at, at + ctx.frame_s, None, "fail", None, f"frame {index} {what}")
    events = merger.finish()
    return (
        _result(
            "framemd5",
            events,
            f"all {len(decoded)} decoded frames match {sidecar.name}",
            lambda ev: (
                f"{bad} of {len(indices)} frames differ from {sidecar.name} in {len(ev)} "
                f"place{'s' if len(ev) != 1 else ''} (first: {ev[0].detail})"
            ),
        ),
        events,
    )


# -- the runner's entry point ------------------------------------------------------------


def run_video_checks(
    master: Path,
    profile: Profile | str = "default",
    progress: ProgressFn | None = None,
    write_sidecar: bool = True,
    log_path: Path | None = None,
):
    """Decode the video once; return ``(checks, events, stats, duration_s)``."""
    master = Path(master)
    prof = load_profile(profile)
    paths = paths_for_master(master)
    black_t = _thresholds(prof, "black")
    sat_t = _thresholds(prof, "saturation")
    params = AnalysisParams(
        black_pixel_threshold=float(black_t["pixel_black_threshold"]),
        satmax_10bit=float(sat_t["satmax_10bit"]),
    )
    sidecar = paths.framemd5
    hash_frames = sidecar.exists() and _thresholds(prof, "framemd5").get("enabled", True)
    stats = compute_video_stats(master, params, progress, frame_md5=hash_frames)
    info = stats.info
    frame_s = (
        float(1 / info.rate)
        if info.rate
        else float(np.median(np.diff(stats.pts_s)) if len(stats) > 1 else 0.04)
    )
    pts = stats.pts_s
    ctx = _Ctx(
        stats=stats,
        pts=pts,
        frame_s=frame_s,
        mult=float(1 << (info.bit_depth - 8)),
        black=stats.column("BLACK") >= float(black_t["picture_black_ratio"]),
    )
    duration_s = max(info.duration_s, float(pts[-1] + frame_s) if len(pts) else 0.0)
    if log_path is None and paths.log.exists():
        log_path = paths.log

    checks: list[CheckResult] = []
    events: list[QCEvent] = []
    extra: dict = {}
    for cid in VIDEO_CHECKS:
        t = _thresholds(prof, cid)
        if not t.get("enabled", True):
            continue
        if cid == "video_dropout":
            res, evs = check_video_dropout(ctx, t)
        elif cid == "line_repetition":
            res, evs = check_line_repetition(ctx, t)
        elif cid == "out_of_range":
            res, evs = check_out_of_range(ctx, t)
        elif cid == "saturation":
            res, evs = check_saturation(ctx, t)
        elif cid == "black":
            res, evs, more = check_black(ctx, t)
            extra.update(more)
        elif cid == "freeze":
            res, evs = check_freeze(ctx, t)
        elif cid == "frame_drop":
            res, evs, more = check_frame_drop(ctx, t, log_path)
            extra.update(more)
        elif cid == "decode_error":
            res, evs = check_decode_errors(ctx, t)
        elif cid == "framemd5":
            if not hash_frames:
                continue  # a file without its framemd5: nothing to compare with
            res, evs = check_framemd5(ctx, sidecar)
        else:  # conformance
            scan = {"packets": stats.packets, "non_key": stats.non_key_packets}
            res, evs, facts = run_conformance(master, t, scan, duration_s)
            extra["conformance"] = facts
        checks.append(res)
        events.extend(evs)

    out_stats = _summary(stats, duration_s)
    out_stats.update(extra)
    if write_sidecar:
        side = paths.file(".vstats.npz")
        try:
            write_vstats(side, stats)
            out_stats["statistics_file"] = side.name
        except OSError as exc:
            out_stats["statistics_file"] = None
            out_stats["statistics_error"] = f"cannot write {side.name}: {exc.strerror}"
    return checks, events, out_stats, duration_s


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
