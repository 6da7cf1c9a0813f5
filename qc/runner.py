"""The QC runner: checks one master, writes ``.qc.json`` and the review sidecars beside it.

``run_qc`` decides the kind (WAV/BWF/RF64: audio; Matroska or anything FFmpeg opens with a
video stream: video), runs every enabled check of the profile, merges the results into one
``QCResult``, writes ``ITEM_tNN.qc.json`` and ``ITEM_tNN.envelope.npz`` (the video checks
write ``ITEM_tNN.vstats.npz``), appends a PREMIS validation event when the take has a PREMIS
file and brings the catalogue in line. Bad input (``qc.inputs``) raises HeadblockError with one
clear line.
A record that could not be written is said in the take's log, on the terminal (``headblock
qc``) and in the window, from ``QCResult.record_failures``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from metadata.clock import utc_now
from metadata.progress import ProgressFn
from metadata.take.log import say_record_failures
from metadata.take.naming import TakePaths, paths_for_master
from qc.audio.capture_log import CaptureLogContext
from qc.inputs import first_line, inspect_input, probe_media
from qc.live import LiveTake
from qc.profiles import load_profile
from qc.result import CheckResult, QCEvent, QCResult, status_of, worst
from qc.sidecars import write_envelope
from qc.table import CHECKS


def run_qc(
    master,
    profile="default",
    progress: ProgressFn | None = None,
    write: bool = True,
    catalogue: bool = True,
    live: LiveTake | None = None,
) -> QCResult:
    """Run every enabled check on ``master``; write the sidecars; return the result.

    ``catalogue=False`` leaves the catalogue to the caller (a batch worker: its client
    updates the catalogue once per result). ``live``: what the take measured while it was
    recorded (``qc.live``); only what it could not take is read from the master, and the
    checks that decode the master are left to the integrity job after the take.

    A record that could not be brought in line (PREMIS, catalogue) does not fail QC: it is
    logged in the take's log and listed in ``result.record_failures``.
    """
    from qc.audio.analysis import run_audio_checks
    from qc.video_checks import run_video_checks

    master = Path(master)
    prof = load_profile(profile)
    mode = inspect_input(master)
    paths = paths_for_master(master)
    log_path = paths.log if paths.log.exists() else None
    checks: list[CheckResult] = []
    events: list[QCEvent] = []
    stats: dict = {}
    envelope = None

    live = live or LiveTake()
    if mode == "audio":
        kind = "audio"
        if live.audio is not None:
            audio = live.audio.finish(master, log_path, progress=progress)
        else:
            audio = run_audio_checks(master, prof, progress, log_path=log_path)
        checks, events, stats = audio.checks, audio.events, audio.stats
        envelope, duration_s = audio.envelope, audio.duration_s
    else:
        has_video, audio_streams = probe_media(master)
        kind = "video" if has_video else "audio"
        duration_s = 0.0
        audio_span = (0.0, 1.0)
        if has_video:
            audio_span = (0.85, 1.0) if audio_streams else (1.0, 1.0)
            video_progress = (
                (lambda f, msg="": progress(f * audio_span[0], msg)) if progress else None
            )
            measured = live.video.finish(master, video_progress) if live.video else None
            video_checks, video_events, video_stats, video_duration_s = run_video_checks(
                master, prof, video_progress, log_path=log_path, stats=measured
            )
            checks += video_checks
            events += video_events
            stats["video"] = video_stats
            duration_s = float(video_duration_s or 0.0)
        multi = len(audio_streams) > 1
        audio_stats = []
        for n, idx in enumerate(audio_streams):
            lo, hi = audio_span
            span = (
                lo + (hi - lo) * n / len(audio_streams),
                lo + (hi - lo) * (n + 1) / len(audio_streams),
            )
            if n == 0 and live.audio is not None:
                audio = live.audio.finish(master, log_path, stream_index=idx)
            else:
                audio = run_audio_checks(
                    master,
                    prof,
                    progress,
                    log_path=log_path if n == 0 else None,
                    stream_index=idx,
                    progress_span=span,
                )
            for e in audio.events:
                if multi:
                    e.detail = f"audio stream {n + 1}: {e.detail}"
            events += audio.events
            checks = _merge_checks(checks, audio.checks)
            audio.stats["stream_index"] = idx
            audio_stats.append(audio.stats)
            duration_s = max(duration_s, audio.duration_s)
            if envelope is None:
                envelope = audio.envelope
        if kind == "audio":
            stats = audio_stats[0] if len(audio_stats) == 1 else {"audio": audio_stats}
        elif audio_stats:
            stats["audio"] = audio_stats[0] if len(audio_stats) == 1 else audio_stats
        if has_video and not audio_streams:
            # no audio pass ran the checks of every take: run them on the take's context
            context = CaptureLogContext(log_path, duration_s=duration_s)
            for spec in CHECKS.values():
                if spec.kind != "both" or not prof.enabled(spec.id):
                    continue
                found, summary = spec.detector(context, prof.thresholds(spec.id))
                events += found
                checks.append(CheckResult(spec.id, status_of(found), len(found), summary))

    order = {cid: i for i, cid in enumerate(CHECKS)}
    checks.sort(key=lambda c: order.get(c.id, len(order)))
    result = QCResult(
        master.name, kind, duration_s, prof.name, checks=checks, events=events, stats=stats
    )
    result.update_verdict()
    if write:
        if envelope is not None:
            env_path = paths.file(".envelope.npz")
            write_envelope(env_path, envelope)
            result.stats["envelope_file"] = env_path.name
        vstats_path = paths.file(".vstats.npz")
        if kind == "video" and vstats_path.exists():
            result.stats["vstats_file"] = vstats_path.name
        result.write(paths.qc_json)
        result.record_failures = _bring_records_in_line(paths, result, catalogue)
    if progress:
        progress(1.0, "done")
    return result


def _merge_checks(checks: list[CheckResult], more: list[CheckResult]) -> list[CheckResult]:
    """Check results of several audio streams: one per id, worst status, counts added."""
    merged = {c.id: CheckResult(c.id, c.status, c.count, c.summary) for c in checks}
    for check in more:
        same = merged.get(check.id)
        if same is None:
            merged[check.id] = CheckResult(check.id, check.status, check.count, check.summary)
            continue
        same.status, same.count = worst(same.status, check.status), same.count + check.count
        same.summary = f"{same.summary}; {check.summary}"
    return list(merged.values())


def _bring_records_in_line(paths: TakePaths, result: QCResult, catalogue: bool = True) -> list[str]:
    """The PREMIS validation event and the catalogue; what could not be written, said in the
    take's log and returned (QC itself stands)."""
    failures: list[tuple[str, str, str]] = []  # (record, its file, why)
    if paths.premis.exists():
        try:
            _add_premis_event(paths.premis, result)
        except Exception as exc:
            failures.append(("PREMIS", paths.premis.name, first_line(exc)))
    if catalogue and paths.directory.name == paths.stem:
        why = _sync_catalogue(paths.directory)
        if why is not None:
            failures.append(("catalogue", paths.directory.name, why))
    return say_record_failures(paths.log, failures, "updated")


def _add_premis_event(path: Path, result: QCResult) -> None:
    from metadata.formats import premis
    from metadata.take.record import software_string

    flagged = ", ".join(f"{c.id} {c.status}" for c in result.checks if c.status != "pass")
    detail = f"profile {result.profile}; {len(result.events)} events" + (
        f"; {flagged}" if flagged else ""
    )
    premis.add_event(path, premis.qc_event(utc_now(), result.verdict, detail, software_string()))


def _sync_catalogue(take_dir: Path) -> str | None:
    """None when the catalogue holds the take; else why not (the catalogue logs it, this
    hears it)."""
    from metadata.catalogue import database as catalogue

    heard: list[str] = []

    class _Hear(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            cause = record.args[-1] if isinstance(record.args, tuple) and record.args else None
            heard.append(first_line(cause) if isinstance(cause, Exception) else record.getMessage())

    hear = _Hear(logging.WARNING)
    catalogue.log.addHandler(hear)
    try:
        if catalogue.sync_take(take_dir):
            return None
    finally:
        catalogue.log.removeHandler(hear)
    return heard[-1] if heard else "the catalogue could not index the take"


# --------------------------------------------------------------------------- command line
