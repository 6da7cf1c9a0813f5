"""The shared end of every take (audio and video): the verdict, then the proof of fixity.

``finalize_take(record, paths, log=..., essence_md5=...)`` is called once the master is
closed. First what needs no read of the master: PBCore and PREMIS (capture), the QC result
from what the take measured while recording (``qc.live``; only what it could not take is read
back), the catalogue, and a ``verdict`` log line with the seconds since Stop. Then the proof:
the essence as stored against the MD5 computed while writing, the whole file's MD5
(``MASTER.md5``), PBCore and PREMIS completed (message digest calculation, fixity check).
Neither QC nor the catalogue can fail a take that is on disk.
"""

from __future__ import annotations

import time
from pathlib import Path

from capture.disk_room import DiskReserve, is_disk_full
from capture.integrity import premis_events, read_back_md5  # moved to the after-take job
from capture.priority import AFTER_TAKE_NICE, lower_this_thread
from capture.take import EventFn, TakeResult, log_event
from metadata.collection.after_take import after_take
from metadata.errors import HeadblockError, TakeCutShort
from metadata.take.log import TakeLog
from metadata.take.naming import TakePaths
from metadata.take.record import TakeRecord


def record_for(paths: TakePaths, kind: str, **fields) -> TakeRecord:
    """The record of a take's closed master, named by ``paths``; its size and MD5 are filled
    in by ``finalize_take``. ``fields``: the rest of ``TakeRecord`` (duration, times, device,
    meta, essence, losses, outcome)."""
    return TakeRecord(
        item=paths.item,
        take_number=paths.take_number,
        kind=kind,
        master=paths.master(kind),
        size_bytes=0,
        md5="",
        **fields,
    )


def _write_md5(master: Path, digest: str) -> Path:
    from metadata.formats.checksums import write_md5_file

    return write_md5_file(master, digest)


def _direct(write, *args, **kwargs):
    return write(*args, **kwargs)


def write_sidecars(record: TakeRecord, paths: TakePaths, events, room=_direct) -> list[str]:
    """PBCore and PREMIS; returns notes for what could not be written (never raises).
    ``room(write, *args)`` runs each write (``DiskReserve.retry_on_full``: a full disk
    gives back the take's reserve and the write is tried again)."""
    notes = []
    try:
        from metadata.formats.pbcore import write_pbcore

        room(write_pbcore, record, paths.pbcore)
    except Exception as exc:  # a sidecar problem must not lose the take
        notes.append(f"PBCore not written: {type(exc).__name__}: {exc}")
    try:
        from metadata.formats.premis import write_premis

        room(write_premis, record, events, paths.premis)
    except Exception as exc:
        notes.append(f"PREMIS not written: {type(exc).__name__}: {exc}")
    return notes


def finalize_take(
    record: TakeRecord,
    paths: TakePaths,
    *,
    log: TakeLog,
    essence_md5: str | None,
    essence_verified: bool | None = None,
    essence_detail: str = "",
    reason: str = "",
    run_qc: bool = True,
    profile: str = "default",
    on_event: EventFn | None = None,
    progress=None,
    readback_progress=None,
    reserve: DiskReserve | None = None,
    live=None,
    essence_check=None,
    on_verdict=None,
) -> TakeResult:
    """Finish a closed take; see the module docstring.

    ``record`` carries everything but ``md5``/``size_bytes`` (filled here). For audio the
    essence check compares ``essence_md5`` with the data chunk read back; a video caller
    passes ``essence_verified`` (its packet check) and ``essence_detail`` (how, for PREMIS)
    instead. ``log`` stays open (the caller closes it). ``progress`` follows QC,
    ``readback_progress`` the read of the whole file (minutes for hours of video).
    ``reserve``: the take's room on its disk, given back when a write finds the disk full;
    with none left the take ends as ``TakeCutShort`` (the master is whole, ``headblock
    recover`` writes what is missing once there is room).
    """
    try:
        return _finalize(
            record,
            paths,
            log,
            essence_md5,
            essence_verified,
            essence_detail,
            reason,
            run_qc,
            profile,
            on_event,
            progress,
            readback_progress,
            reserve,
            live,
            essence_check,
            on_verdict,
        )
    finally:
        if live is not None:  # its workers end even when the take could not be finished
            live.close()


def _finalize(
    record,
    paths,
    log,
    essence_md5,
    essence_verified,
    essence_detail,
    reason,
    run_qc,
    profile,
    on_event,
    progress,
    readback_progress,
    reserve,
    live,
    essence_check,
    on_verdict,
) -> TakeResult:
    room = reserve.retry_on_full if reserve is not None else _direct

    def event(name: str, level: str = "INFO", **fields) -> None:
        log_event(log, on_event, name, level, **fields)

    master = Path(record.master)
    result = TakeResult(paths=paths, record=record, reason=reason)
    frames = (
        record.video.frames
        if record.video is not None
        else int(round(record.duration_s * record.audio.rate_hz))
        if record.audio
        else 0
    )
    event(
        "take_stop",
        "INFO" if record.outcome == "complete" else "WARN",
        reason=reason or record.outcome,
        frames=frames,
        duration_s=round(record.duration_s, 6),
        frames_lost=record.frames_lost,
        overflows=record.overflows,
        outcome=record.outcome,
    )

    # the verdict first: nothing below reads the master again
    record.size_bytes = master.stat().st_size
    stop_at = time.monotonic()
    try:
        result.notes += write_sidecars(record, paths, _stop_events(record), room)
        if run_qc:
            result.qc_verdict = _run_qc(master, profile, event, progress, reserve, live)
        elif live is not None:
            live.close()
        _sync_catalogue(paths.directory, event)
    finally:
        if live is not None:
            live.close()
    if on_verdict is not None:
        on_verdict(result.qc_verdict)
    event(
        "verdict",
        verdict=result.qc_verdict,
        seconds_after_stop=round(time.monotonic() - stop_at, 3),
        **_live_figures(live),
    )

    # then the proof: the essence as stored against what was written, the whole file's MD5;
    # a take the technician starts meanwhile comes first
    lower_this_thread(AFTER_TAKE_NICE)
    if essence_verified is None and essence_check is not None:
        essence_verified, essence_detail = essence_check()
    record.md5, on_disk = read_back_md5(master, record.kind, readback_progress)
    try:
        room(_write_md5, master, record.md5)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        event("disk_stop", "ERROR", message=f"no room for {master.name}.md5 and the sidecars")
        library = paths.directory.parent.parent
        raise TakeCutShort(
            f"the disk holding {paths.directory} is full: {master.name} is whole, but its "
            f".md5 and sidecars could not be written; free space on that disk, then run "
            f"headblock recover {library}"
        ) from exc
    if essence_verified is None:
        essence_verified = bool(essence_md5) and on_disk == essence_md5
    result.fixity_ok = bool(essence_verified)
    event(
        "fixity",
        "INFO" if result.fixity_ok else "ERROR",
        md5=record.md5,
        essence_md5=essence_md5,
        verified=result.fixity_ok,
    )
    result.notes += _record_fixity(record, paths, result.fixity_ok, essence_detail, room)
    _sync_catalogue(paths.directory, event)
    after_take(paths.directory, event)  # inspections to PREMIS, claim ended; never raises
    for note in result.notes:
        event("warning", "WARN", text=note)
    return result


def _live_figures(live) -> dict:
    """What the live analysis took and what it left to be read back after Stop."""
    out = {}
    if live is None:
        return out
    if live.video is not None:
        c = live.video.counts
        out.update(
            frames_live=c.analysed, frames_read_back=c.refilled, read_back_s=round(c.refill_s, 3)
        )
    if live.audio is not None:
        c = live.audio.counts
        out.update(audio_read_back_samples=c.refilled)
    return out


def _stop_events(record: TakeRecord):
    from metadata.formats import premis

    return [premis.capture_event(record)]


def _record_fixity(record: TakeRecord, paths: TakePaths, ok: bool, detail: str, room) -> list[str]:
    """PBCore with the master's MD5; PREMIS with its fixity and the digest and fixity events
    after those written at Stop (capture, QC)."""
    notes = []
    try:
        from metadata.formats import premis

        earlier = premis.read_events(paths.premis) if paths.premis.exists() else []
        earlier = earlier or _stop_events(record)
        events = [*earlier, *premis_events(record, fixity_ok=ok, detail=detail)[1:]]
    except Exception as exc:
        events = premis_events(record, fixity_ok=ok, detail=detail)
        notes.append(f"PREMIS events of the take not read back: {type(exc).__name__}: {exc}")
    return notes + write_sidecars(record, paths, events, room)


def _run_qc(master: Path, profile: str, event, progress, reserve=None, live=None) -> str | None:
    from qc.runner import run_qc

    try:
        try:
            try:
                qc_result = run_qc(master, profile=profile, progress=progress, live=live)
            except HeadblockError as exc:
                if live is None:
                    raise
                # what was measured live does not match the file (a master repaired after
                # a full disk): the file is judged from the start
                event("qc_live", "WARN", reason=str(exc), action="the master is read instead")
                qc_result = run_qc(master, profile=profile, progress=progress)
        except OSError as exc:  # a full disk: QC's files get the reserve, once
            if not (is_disk_full(exc) and reserve is not None and reserve.release()):
                raise
            qc_result = run_qc(master, profile=profile, progress=progress)
    except Exception as exc:
        event("qc_error", "ERROR", error=f"{type(exc).__name__}: {exc}")
        return None
    verdict = getattr(qc_result, "verdict", None)
    event("qc", "INFO" if verdict != "fail" else "WARN", verdict=verdict, profile=profile)
    return verdict


def _sync_catalogue(take_dir: Path, event) -> None:
    try:
        from metadata.catalogue.database import sync_take
    except ImportError:
        return
    try:
        sync_take(take_dir)
    except Exception as exc:  # the catalogue can always be rebuilt from the folders
        event("catalogue", "WARN", error=f"{type(exc).__name__}: {exc}")
