"""``headblock recover LIBRARY``: make takes left open by a crash or power cut valid.

A take is open when its log has a ``take_start`` and no ``take_stop`` or ``recovery``, or
when its master has no ``.md5``. The master is repaired in place keeping every whole sample
frame (WAV: ``metadata.formats.bwf.repair``, sizes and RF64) or every whole video frame (MKV:
``capture.video_recover.repair_mkv``); then it is re-hashed and its sidecars are rewritten
from the ``take_start`` log line with the outcome "recovered" and a PREMIS ``recovery`` event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from capture.disk_room import RESERVE_FILE, is_disk_full
from capture.finalize import finalize_take, record_for
from capture.watchdog import free_space_bytes
from metadata.errors import HeadblockError
from metadata.formats.checksums import md5_path_for
from metadata.formats.pixfmt import pixel_format
from metadata.take.log import TakeLog, read_log, utc_now
from metadata.take.meta import TakeMeta
from metadata.take.naming import TakePaths, iter_take_dirs, paths_for_take_dir
from metadata.take.record import AudioEssence, TakeRecord, VideoEssence

RECOVER_SIDECAR_BYTES = 4 << 20  # the .md5, PBCore, PREMIS, log lines and QC's files


@dataclass
class Recovered:
    take_dir: Path
    master: Path | None
    ok: bool
    summary: str
    notes: list[str] = field(default_factory=list)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def take_is_open(paths: TakePaths) -> bool:
    master = paths.master_if_present()
    events = read_log(paths.log)
    names = [event.event for event in events]
    if "take_start" in names:
        last_start = len(names) - 1 - names[::-1].index("take_start")
        after = names[last_start + 1 :]
        if "take_stop" not in after and "recovery" not in after:
            return master is not None
    return master is not None and not md5_path_for(master).exists()


def find_open_takes(library: Path) -> list[TakePaths]:
    candidates = (paths_for_take_dir(take_dir) for take_dir in iter_take_dirs(library))
    return [paths for paths in candidates if take_is_open(paths)]


def _start_fields(paths: TakePaths) -> tuple[dict, list]:
    events = read_log(paths.log)
    starts = [event for event in events if event.event == "take_start"]
    return (starts[-1].fields if starts else {}), events


def _losses(events) -> tuple[int, int]:
    overflows = frames = 0
    for event in events:
        if event.event in ("overflow", "gap", "frame_drop"):
            overflows += 1
            frames += int(event.fields.get("frames_lost") or 0)
    return overflows, frames


def _device_name(device) -> str:
    if isinstance(device, dict):
        return str(device.get("device") or device.get("name") or device)
    return str(device or "unknown")


def room_needed(master: Path) -> int:
    """Bytes a recovery writes beside ``master``: its sidecars, and for a Matroska master
    the remuxed copy that replaces it."""
    needed = RECOVER_SIDECAR_BYTES
    if master.suffix != ".wav":
        needed += master.stat().st_size
    return needed


def _disk_full_error(paths: TakePaths, free: int, needed: int) -> HeadblockError:
    return HeadblockError(
        f"the disk holding {paths.directory} is full ({_mib(free)} free, about "
        f"{_mib(needed)} needed to recover {paths.directory.name}): free space on it, then "
        f"run headblock recover again (the take is kept as it is)"
    )


def recover_take(paths: TakePaths, log_progress=None) -> Recovered:
    """Repair one open take; never raises for a take that cannot be repaired (``ok=False``).
    A disk without room for the recovery is HeadblockError: the take is left to a later
    run, with nothing changed when the room was missing from the start."""
    master = paths.master_if_present()
    if master is None:
        return Recovered(paths.directory, None, False, "no master file: nothing to recover")
    (paths.directory / RESERVE_FILE).unlink(missing_ok=True)
    needed, free = room_needed(master), free_space_bytes(paths.directory)
    if free < needed:
        raise _disk_full_error(paths, free, needed)
    try:
        return _recover(paths, master)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise _disk_full_error(paths, free_space_bytes(paths.directory), needed) from exc


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):.1f} MiB"


def _recover(paths: TakePaths, master: Path) -> Recovered:
    start, events = _start_fields(paths)
    settings = start.get("settings") or {}
    meta = TakeMeta.from_dict(start.get("meta") or {})
    started = (
        _parse_time(start.get("started_utc"))
        or (_parse_time(events[0].time) if events else None)
        or datetime.fromtimestamp(master.stat().st_mtime, UTC)
    )
    ended = datetime.fromtimestamp(master.stat().st_mtime, UTC)
    overflows, frames_lost = _losses(events)
    log = TakeLog(paths.log)
    try:
        if master.suffix == ".wav":
            record, notes, essence = _repair_wav(master, paths, settings, meta, started, ended)
        else:
            record, notes, essence = _repair_mkv(master, paths, settings, meta, started, ended)
    except HeadblockError as exc:
        log.write("recovery", "ERROR", outcome="failed", error=str(exc))
        log.close()
        return Recovered(paths.directory, master, False, str(exc))
    record.device = _device_name(start.get("device"))
    record.overflows, record.frames_lost = overflows, frames_lost
    log.write(
        "recovery",
        "WARN",
        outcome="recovered",
        master=master.name,
        duration_s=round(record.duration_s, 6),
        notes=notes,
    )
    try:
        result = finalize_take(
            record,
            paths,
            log=log,
            essence_md5=essence,
            essence_verified=True if essence is None else None,
            essence_detail=""
            if essence is not None
            else "rebuilt from what reached the disk after an interrupted take: no digest "
            "from the capture survives to compare with; the MD5 of the rebuilt file is the "
            "reference from now on",
            reason="recovered after an interrupted take",
            run_qc=bool(settings.get("qc", True)),
            profile=str(settings.get("profile") or "default"),
        )
        _add_premis_recovery(paths, record, notes)
    finally:
        log.close()
    summary = f"recovered {master.name}: {record.duration_s:.3f} s kept" + (
        f" ({'; '.join(notes)})" if notes else ""
    )
    return Recovered(paths.directory, master, result.fixity_ok, summary, notes + result.notes)


def _recovered_record(paths, kind, duration_s, started, ended, meta, **essence):
    """The TakeRecord of a master kept by recovery; device, size and MD5 are filled in later."""
    return record_for(
        paths,
        kind,
        duration_s=duration_s,
        started_utc=started,
        ended_utc=ended,
        device="",
        meta=meta,
        outcome="recovered",
        **essence,
    )


def _repair_wav(master, paths, settings, meta, started, ended):
    from metadata.formats import bwf

    repaired = bwf.repair(master)
    wave_format = bwf.read_fmt(master)
    rate = int(
        wave_format.get("rate_hz")
        or wave_format.get("sample_rate")
        or settings.get("rate_hz")
        or 96000
    )
    channels = int(wave_format.get("channels") or settings.get("channels") or 2)
    bits = int(
        wave_format.get("bits") or wave_format.get("bits_per_sample") or settings.get("bits") or 24
    )
    record = _recovered_record(
        paths,
        "audio",
        repaired.frames_kept / rate,
        started,
        ended,
        meta,
        audio=AudioEssence(rate, bits, channels, container="RF64" if repaired.rf64 else "BWF"),
    )
    notes = list(repaired.notes) or ["sizes already current"]
    notes.append(f"{repaired.frames_kept} sample frames kept")
    return record, notes, repaired.data_md5 or bwf.data_md5(master)


def _repair_mkv(master, paths, settings, meta, started, ended):
    try:
        from capture.video_recover import repair_mkv
    except ImportError as exc:
        raise HeadblockError(f"{master.name}: video recovery is not available ({exc})") from exc
    info = repair_mkv(master)
    pix_fmt = str(info.get("pix_fmt") or settings.get("pix_fmt") or "")
    rate = str(info.get("frame_rate") or settings.get("frame_rate") or "30000/1001")
    bit_depth, chroma_subsampling = _pixel_facts(pix_fmt)
    video = VideoEssence(
        codec="FFV1",
        codec_version="3.4",
        width=int(info.get("width") or settings.get("width") or 0),
        height=int(info.get("height") or settings.get("height") or 0),
        pix_fmt=pix_fmt,
        bit_depth=bit_depth,
        chroma_subsampling=chroma_subsampling,
        frame_rate=rate,
        frames=int(info.get("frames") or 0),
        field_order=str(settings.get("field_order") or "progressive"),
        display_aspect_ratio=str(settings.get("display_aspect") or "4:3"),
        standard=str(settings.get("standard") or ""),
        color_primaries=str(settings.get("color_primaries") or ""),
        color_transfer=str(settings.get("color_trc") or ""),
        color_matrix=str(settings.get("colorspace") or ""),
    )
    audio = None
    audio_facts = info.get("audio") or settings.get("audio")
    if audio_facts:
        bits = int((settings.get("audio") or {}).get("bits") or 24)
        audio = AudioEssence(
            int(audio_facts.get("rate_hz") or 48000),
            bits,
            int(audio_facts.get("channels") or 2),
            codec=f"pcm_s{bits}le",
            container="Matroska",
        )
    duration = float(info.get("duration_s") or video.frames / float(Fraction(rate)))
    record = _recovered_record(
        paths, "video", duration, started, ended, meta, video=video, audio=audio
    )
    notes = [f"{video.frames} frames kept"]
    if info.get("frames_torn"):
        notes.append(f"{info['frames_torn']} torn frame(s) dropped")
    return record, notes, None


def _pixel_facts(pix_fmt: str) -> tuple[int, str]:
    """(bit depth, chroma subsampling) of the master's pixel format; 8 and "" when neither
    the master nor its log names a format FFmpeg knows."""
    try:
        pix = pixel_format(pix_fmt)
    except HeadblockError:
        return 8, ""
    return pix.bit_depth, pix.chroma_subsampling


def _add_premis_recovery(paths: TakePaths, record: TakeRecord, notes: list[str]) -> None:
    try:
        from metadata.formats import premis

        if not paths.premis.exists():
            return
        event = premis.PremisEvent(
            "recovery",
            utc_now(),
            "master left open by an interrupted take repaired to the last whole frame on disk",
            "success",
            "; ".join(notes),
            [(premis.software_agent(record.software).identifier, "executing program")],
        )
        premis.add_event(paths.premis, event, premis.software_agent(record.software))
    except Exception as exc:  # the take itself is already valid and hashed
        TakeLog(paths.log).write("warning", "WARN", text=f"PREMIS recovery event: {exc}")
