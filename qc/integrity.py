"""The proof that nothing decoded differs from what was captured, as QC records it.

The comparison of decoded frames with the ``.framemd5`` (``metadata.formats.framemd5``) runs
after the take (``capture.integrity``) or in ``headblock verify``, not in the QC that gives the
verdict at Stop. Its outcome lands in the take's ``qc.json`` here: the ``framemd5`` check (pass,
or fail with one event per run of frames that differ), the verdict recomputed, and the
``integrity`` key (docs/qc-result.md). ``framemd5_detection`` is also what QC's own
``framemd5`` check reports, so the two give the same events for the same frames.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from metadata.clock import utc_iso, utc_now
from metadata.errors import HeadblockError
from metadata.formats.framemd5 import FRAME_MISSING, FrameDifference
from metadata.take.log import read_log
from qc.result import CheckResult, EventMerger, QCEvent, QCResult, status_of

STATES = ("pending", "done", "failed")
CHECK_ID = "framemd5"


def framemd5_detection(
    differences: list[FrameDifference], frame_s: float, sidecar_name: str, decoded: int
) -> tuple[CheckResult, list[QCEvent]]:
    """The ``framemd5`` check and its events: frames that differ from the framemd5, merged
    into runs (neighbouring frames are one event, at the frames' times)."""
    merger = EventMerger(CHECK_ID, gap_s=1.5 * frame_s)
    for diff in differences:
        at = diff.index * frame_s
        merger.add(at, at + frame_s, None, "fail", None, f"frame {diff.index} {diff.what}")
    events = merger.finish()
    if not events:
        ok = f"all {decoded} decoded frames match {sidecar_name}"
        return CheckResult(CHECK_ID, "pass", 0, ok), events
    total = decoded + sum(1 for d in differences if d.what == FRAME_MISSING)
    summary = (
        f"{len(differences)} of {total} frames differ from {sidecar_name} in {len(events)} "
        f"place{'s' if len(events) != 1 else ''} (first: {events[0].detail})"
    )
    return CheckResult(CHECK_ID, status_of(events), len(events), summary), events


def decode_error_detection(
    issues, frame_s: float, thresholds: dict, pts=None
) -> tuple[CheckResult, list[QCEvent]]:
    """The ``decode_error`` check: the decoder's errors (``qc.video_stats.DecodeIssue``: a
    slice CRC mismatch, a damaged frame) at their times; ``pts`` gives the time of an issue
    known by its frame alone. Shared by QC's decode and the after-take integrity job's."""
    severity = "fail" if thresholds.get("fail_on_error", True) else "warn"
    merger = EventMerger("decode_error", gap_s=1.5 * frame_s)
    for issue in issues:
        if issue.time_s is not None:
            at = issue.time_s
        elif issue.frame_index is not None and pts is not None and len(pts):
            at = float(pts[min(issue.frame_index, len(pts) - 1)])
        else:
            at = 0.0
        merger.add(at, at + frame_s, None, severity, None, issue.message)
    events = merger.finish()
    if not events:
        return CheckResult("decode_error", "pass", 0, "decoded without errors"), events
    summary = f"{len(issues)} decoder errors in {len(events)} places (e.g. {events[0].detail})"
    return CheckResult("decode_error", status_of(events), len(events), summary), events


def decode_checks(
    qc_json: Path, frames, issues, frame_s: float
) -> list[tuple[CheckResult, list[QCEvent]]]:
    """The checks the after-take decode settles (``framemd5``, ``decode_error``), each when
    the profile that made the take's qc.json enables it (all of them without a qc.json)."""
    from qc.profiles import load_profile

    try:
        profile = QCResult.read(Path(qc_json)).profile if Path(qc_json).exists() else "default"
        prof = load_profile(profile)
    except HeadblockError:  # a profile file gone since: the defaults
        prof = load_profile("default")
    out = []
    if frames is not None and prof.enabled(CHECK_ID):
        out.append(framemd5_detection(frames.differences, frame_s, frames.sidecar, frames.decoded))
    if issues is not None and prof.enabled("decode_error"):
        out.append(decode_error_detection(issues, frame_s, prof.thresholds("decode_error")))
    return out


def integrity_entry(
    state: str,
    *,
    fixity: str | None = None,
    framemd5: str | None = None,
    detail: str = "",
    by: str = "after-take job",
    decode_errors: int | None = None,
) -> dict:
    """The ``integrity`` key of qc.json: ``state`` pending | done | failed; ``fixity`` and
    ``framemd5`` each "pass", "fail" or None (not checked); ``decode_errors`` the decoder's
    errors in the after-take decode (None: not decoded); ``detail`` in words."""
    if state not in STATES:
        raise ValueError(state)
    return {
        "state": state,
        "fixity": fixity,
        "framemd5": framemd5,
        "decode_errors": decode_errors,
        "detail": detail,
        "by": by,
        "finished_utc": None if state == "pending" else utc_iso(utc_now()),
    }


@contextmanager
def _folder_lock(folder: Path):
    """One writer of a take's qc.json at a time (the job and ``headblock verify``)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record_in_qc(
    qc_json: Path,
    integrity: dict,
    checks: list[tuple[CheckResult, list[QCEvent]]] | tuple | None = None,
) -> QCResult | None:
    """Write ``integrity`` (and ``checks``, each with its events, replacing an earlier result
    of the same check; the verdict recomputed, so a failure turns it to fail) into a take's
    qc.json.
    Returns the result written, or None when the take has no qc.json yet. HeadblockError for
    a qc.json that cannot be read or written."""
    qc_json = Path(qc_json)
    if not qc_json.exists():
        return None
    # the folder's lock, as PREMIS writers take it: never write PREMIS inside (a second
    # descriptor of the same folder in one process would wait for itself)
    with _folder_lock(qc_json.parent):
        result = QCResult.read(qc_json)
        if isinstance(checks, tuple):  # one (check, events)
            checks = [checks]
        for found, events in checks or []:
            result.checks = [c for c in result.checks if c.id != found.id] + [found]
            result.events = [e for e in result.events if e.check != found.id] + events
        if checks:
            result.update_verdict()
        result.integrity = integrity
        try:
            result.write(qc_json)
        except OSError as exc:
            raise HeadblockError(f"cannot write {qc_json.name}: {exc.strerror}") from exc
    return result


def read_integrity(qc_json: Path | None, log: Path | None) -> dict | None:
    """The take's integrity state: qc.json's key when it has one, else the last
    ``integrity`` line of the take's log (a take without QC), else None (never checked
    after the take: a take made before the job existed)."""
    if qc_json is not None and Path(qc_json).exists():
        try:
            entry = QCResult.read(Path(qc_json)).integrity
        except HeadblockError:
            entry = None
        if entry:
            return entry
    if log is not None and Path(log).exists():
        found = None
        for ev in read_log(Path(log)):
            if ev.event == "integrity" and ev.fields.get("state") in STATES:
                found = ev.fields
        if found:
            return {
                "state": found.get("state"),
                "fixity": found.get("fixity"),
                "framemd5": found.get("framemd5"),
                "decode_errors": found.get("decode_errors"),
                "detail": found.get("detail", ""),
                "by": found.get("by", ""),
                "finished_utc": found.get("finished_utc"),
            }
    return None


def describe(entry: dict | None) -> str:
    """One line for the window and the report: "done", "pending", "failed: why"."""
    if not entry:
        return "not checked after the take"
    state = str(entry.get("state") or "")
    if state == "pending":
        return "pending (frames and fixity being checked at idle priority)"
    detail = str(entry.get("detail") or "")
    return f"{state}: {detail}" if detail else state
