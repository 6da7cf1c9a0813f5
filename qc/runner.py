"""The QC runner: checks one master, writes ``.qc.json`` and the review sidecars beside it.

``run_qc`` decides the kind (WAV/BWF/RF64: audio; Matroska or anything FFmpeg opens with a
video stream: video), runs every enabled check of the profile, merges the results into one
``QCResult``, writes ``ITEM_tNN.qc.json`` and ``ITEM_tNN.envelope.npz`` (the video checks
write ``ITEM_tNN.vstats.npz``), appends a PREMIS validation event when the take has a PREMIS
file and brings the catalogue in line. Bad input raises HeadblockError with one clear line.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError
from metadata.progress import ProgressFn, TerminalProgress
from metadata.take.naming import paths_for_master
from qc.profiles import Profile, load_profile
from qc.result import CheckResult, QCEvent, QCResult, worst
from qc.table import CHECKS

WAV_EXTS = {".wav", ".bwf", ".rf64"}
MEDIA_EXTS = {
    ".mkv",
    ".mka",
    ".webm",
    ".mov",
    ".mp4",
    ".m4v",
    ".avi",
    ".mxf",
    ".ts",
    ".dv",
    ".flac",
}
_MAGIC = {
    b"RIFF": "WAV",
    b"RF64": "RF64",
    b"BW64": "RF64",
    b"\x1a\x45\xdf\xa3": "Matroska",
    b"fLaC": "FLAC",
}


# --------------------------------------------------------------------------- input checks


def _sniff(head: bytes) -> str | None:
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
        return "QuickTime/MP4"
    return None


def _wav_truncation(path: Path, size: int) -> str | None:
    """Why a RIFF/RF64 file is cut short, or None. Reads the chunk headers only."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE":
            return "it has no WAVE header"
        ds64_data = None
        pos = 12
        have_fmt = False
        while True:
            fh.seek(pos)
            hdr = fh.read(8)
            if len(hdr) < 8:
                return (
                    "it ends before its audio data begins"
                    if have_fmt
                    else "it ends inside its header"
                )
            cid, csize = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"ds64":
                body = fh.read(min(csize, 28))
                if len(body) >= 16:
                    ds64_data = struct.unpack("<Q", body[8:16])[0]
            if cid == b"fmt ":
                have_fmt = True
            if cid == b"data":
                if csize == 0xFFFFFFFF and ds64_data is not None:
                    csize = ds64_data
                if not have_fmt:
                    return "its data chunk comes before a format chunk"
                end = pos + 8 + csize
                if end > size:
                    missing = end - size
                    return f"it is truncated: {missing} bytes of audio data are missing (try `headblock recover`)"
                return None
            pos += 8 + csize + (csize & 1)
            if pos > size:
                return "its header chunks are corrupt or truncated"


def _vint(fh) -> tuple[int, int] | None:
    """An EBML variable-length integer: (value, its length); None at end of file."""
    first = fh.read(1)
    if not first:
        return None
    b = first[0]
    length = 1
    while length <= 8 and not (b & (0x80 >> (length - 1))):
        length += 1
    if length > 8:
        return None
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = b & ((0x80 >> (length - 1)) - 1)
    all_ones = value == (0x80 >> (length - 1)) - 1
    for byte in rest:
        value = (value << 8) | byte
        all_ones = all_ones and byte == 0xFF
    return (-1 if all_ones else value), length


def _matroska_truncation(path: Path, size: int) -> str | None:
    """Why a Matroska file is cut short (its Segment claims more bytes than there are), or None."""
    with open(path, "rb") as fh:
        fh.seek(4)
        v = _vint(fh)
        if v is None:
            return "it ends inside its EBML header"
        fh.seek(4 + v[1] + v[0])
        seg_id = fh.read(4)
        if len(seg_id) < 4:
            return "it ends before its Segment"
        if seg_id != b"\x18\x53\x80\x67":
            return None
        v = _vint(fh)
        if v is None:
            return "it ends inside its Segment header"
        seg_size = v[0]
        if seg_size >= 0 and fh.tell() + seg_size > size:
            missing = fh.tell() + seg_size - size
            return f"it is truncated: {missing} bytes of its Segment are missing (try `headblock recover`)"
    return None


def inspect_input(master: Path) -> str:
    """Check that ``master`` can be QC'd; return 'audio' or 'media' (PyAV) or raise."""
    master = Path(master)
    name = master.name
    if not master.exists():
        raise HeadblockError(f"{master}: no such file")
    if master.is_dir():
        raise HeadblockError(f"{master} is a folder, not a media file")
    if not master.is_file():
        raise HeadblockError(f"{master} is not a regular file")
    try:
        size = master.stat().st_size
        with open(master, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise HeadblockError(f"cannot read {master}: {exc.strerror}") from exc
    if size == 0:
        raise HeadblockError(f"{name} is empty (zero bytes)")
    ext = master.suffix.lower()
    kind = _sniff(head)
    if ext in WAV_EXTS:
        if kind not in ("WAV", "RF64"):
            what = f"it looks like {kind}" if kind else "its content is not RIFF/RF64"
            raise HeadblockError(f"{name} is not a WAV file ({what}): wrong extension or corrupt")
        problem = _wav_truncation(master, size)
        if problem:
            raise HeadblockError(f"{name}: {problem}")
        return "audio"
    if ext in MEDIA_EXTS:
        if kind in ("WAV", "RF64"):
            raise HeadblockError(f"{name} is a WAV file with a {ext} extension: wrong extension")
        if ext in (".mkv", ".mka", ".webm"):
            if kind != "Matroska":
                raise HeadblockError(
                    f"{name} is not a Matroska file (bad header): wrong extension or corrupt"
                )
            problem = _matroska_truncation(master, size)
            if problem:
                raise HeadblockError(f"{name}: {problem}")
        return "media"
    known = ", ".join(sorted(WAV_EXTS | {".mkv"}))
    raise HeadblockError(
        f"{name}: unsupported file type {ext or '(no extension)'} (QC reads {known} and other FFmpeg media)"
    )


def _probe_media(master: Path) -> tuple[bool, list[int]]:
    """(has video, audio stream indices) of a media file; HeadblockError if unreadable."""
    import av

    try:
        with av.open(str(master)) as c:
            has_video = any(s.type == "video" for s in c.streams)
            audio = [s.index for s in c.streams if s.type == "audio"]
            if not has_video and not audio:
                raise HeadblockError(f"{master.name}: no audio or video stream")
            # one packet proves the file is not just a header
            got = False
            for _ in c.demux():
                got = True
                break
            if not got:
                raise HeadblockError(f"{master.name}: holds no media packets (empty or truncated)")
            return has_video, audio
    except HeadblockError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HeadblockError(f"{master.name}: cannot be read as media ({msg[:160]})") from exc


# --------------------------------------------------------------------------- running


def write_envelope(path: Path, envelope: dict) -> Path:
    """The per-10 ms peak/RMS envelope (float16 dBFS, compressed), written atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **envelope)
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _publish(tmp: str, path: Path) -> None:
    """mkstemp files are private (0600); sidecars get the usual mode before they appear."""
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_envelope(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def _video_part(master: Path, profile: Profile, progress: ProgressFn | None, log_path: Path | None):
    """(checks, events, stats, duration_s) of qc.video_checks, imported when needed."""
    import inspect

    try:
        from qc import video_checks
    except ImportError:
        return None
    fn = video_checks.run_video_checks
    kwargs = {"log_path": log_path} if "log_path" in inspect.signature(fn).parameters else {}
    out = fn(master, profile, progress, **kwargs)
    if isinstance(out, dict):
        return (
            out.get("checks", []),
            out.get("events", []),
            out.get("stats", {}),
            out.get("duration_s"),
        )
    if isinstance(out, tuple):
        checks, events, stats = out[:3]
        return checks, events, stats, (out[3] if len(out) > 3 else None)
    return out.checks, out.events, out.stats, getattr(out, "duration_s", None)


def run_qc(
    master, profile="default", progress: ProgressFn | None = None, write: bool = True
) -> QCResult:
    """Run every enabled check on ``master``; write the sidecars; return the result."""
    from qc.audio_checks import overflow_events, run_audio_checks

    master = Path(master)
    prof = load_profile(profile)
    mode = inspect_input(master)
    paths = paths_for_master(master)
    log_path = paths.log if paths.log.exists() else None
    checks: list[CheckResult] = []
    events: list[QCEvent] = []
    stats: dict = {}
    envelope = None

    if mode == "audio":
        kind = "audio"
        aq = run_audio_checks(master, prof, progress, log_path=log_path)
        checks, events, stats, envelope, duration_s = (
            aq.checks,
            aq.events,
            aq.stats,
            aq.envelope,
            aq.duration_s,
        )
    else:
        has_video, audio_streams = _probe_media(master)
        kind = "video" if has_video else "audio"
        duration_s = 0.0
        audio_span = (0.0, 1.0)
        if has_video:
            audio_span = (0.85, 1.0) if audio_streams else (1.0, 1.0)
            vprog = (lambda f, msg="": progress(f * audio_span[0], msg)) if progress else None
            part = _video_part(master, prof, vprog, log_path)
            if part is None:
                raise HeadblockError(
                    "video QC is not available in this installation (qc.video_checks missing)"
                )
            vchecks, vevents, vstats, vdur = part
            checks += list(vchecks)
            events += list(vevents)
            stats["video"] = vstats
            duration_s = float(vdur or 0.0)
        multi = len(audio_streams) > 1
        audio_stats = []
        for n, idx in enumerate(audio_streams):
            lo, hi = audio_span
            span = (
                lo + (hi - lo) * n / len(audio_streams),
                lo + (hi - lo) * (n + 1) / len(audio_streams),
            )
            aq = run_audio_checks(
                master,
                prof,
                progress,
                log_path=log_path if n == 0 else None,
                stream_index=idx,
                progress_span=span,
            )
            for e in aq.events:
                if multi:
                    e.detail = f"audio stream {n + 1}: {e.detail}"
            events += aq.events
            checks = _merge_checks(checks, aq.checks)
            aq.stats["stream_index"] = idx
            audio_stats.append(aq.stats)
            duration_s = max(duration_s, aq.duration_s)
            if envelope is None:
                envelope = aq.envelope
        if kind == "audio":
            stats = audio_stats[0] if len(audio_stats) == 1 else {"audio": audio_stats}
        elif audio_stats:
            stats["audio"] = audio_stats[0] if len(audio_stats) == 1 else audio_stats
        if (
            has_video
            and not audio_streams
            and prof.enabled("overflow")
            and not any(c.id == "overflow" for c in checks)
        ):
            evs, summary = overflow_events(log_path, prof)
            events += evs
            checks.append(
                CheckResult("overflow", worst(*(e.severity for e in evs)), len(evs), summary)
            )

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
        vs = paths.file(".vstats.npz")
        if kind == "video" and vs.exists():
            result.stats["vstats_file"] = vs.name
        result.write(paths.qc_json)
        _after_qc(paths, result)
    if progress:
        progress(1.0, "done")
    return result


def _merge_checks(a: list[CheckResult], b: list[CheckResult]) -> list[CheckResult]:
    """Check results of several audio streams: one per id, worst status, counts added."""
    out = {c.id: CheckResult(c.id, c.status, c.count, c.summary) for c in a}
    for c in b:
        if c.id in out:
            o = out[c.id]
            o.status, o.count = worst(o.status, c.status), o.count + c.count
            o.summary = f"{o.summary}; {c.summary}"
        else:
            out[c.id] = CheckResult(c.id, c.status, c.count, c.summary)
    return list(out.values())


def _after_qc(paths, result: QCResult) -> None:
    """PREMIS validation event and catalogue sync: owned elsewhere, never fail QC."""
    if paths.premis.exists():
        try:
            from datetime import UTC, datetime

            from metadata.formats import premis
            from metadata.take.record import software_string

            flagged = ", ".join(f"{c.id} {c.status}" for c in result.checks if c.status != "pass")
            detail = f"profile {result.profile}; {len(result.events)} events" + (
                f"; {flagged}" if flagged else ""
            )
            premis.add_event(
                paths.premis,
                premis.qc_event(datetime.now(UTC), result.verdict, detail, software_string()),
            )
        except Exception:  # PREMIS is another module's; QC stands without it
            pass
    try:
        from metadata.catalogue import database as catalogue

        if paths.directory.name == paths.stem:
            catalogue.sync_take(paths.directory)
    except Exception:
        pass


# --------------------------------------------------------------------------- command line


def cmd_qc(args) -> int:
    """``headblock qc FILE [--profile NAME|PATH] [--json OUT]``: exit 0 pass/warn, 1 fail."""
    import sys

    master = Path(args.file)
    profile = load_profile(getattr(args, "profile", "default") or "default")
    json_out = getattr(args, "json_out", None)
    if json_out:
        out_parent = Path(json_out).resolve().parent
        if not out_parent.is_dir():
            raise HeadblockError(f"--json: the folder {out_parent} does not exist")
    bar = TerminalProgress(f"QC {master.name}")
    shown = []

    def progress(fraction: float, message: str = "") -> None:
        shown.append(True)
        bar(fraction, message)

    try:
        result = run_qc(master, profile, progress=progress)
    except BaseException:
        if bar.enabled and shown:  # end the progress line so the error starts on its own
            bar.stream.write("\n")
            bar.stream.flush()
        raise
    bar.done()
    if json_out:
        try:
            shutil.copyfile(paths_for_master(master).qc_json, json_out)
        except OSError as exc:
            raise HeadblockError(f"--json: cannot write {json_out}: {exc.strerror}") from exc
    n_warn = sum(1 for e in result.events if e.severity == "warn")
    n_fail = sum(1 for e in result.events if e.severity == "fail")
    flagged = (
        ", ".join(f"{c.id} {c.status}" for c in result.checks if c.status != "pass")
        or "all checks pass"
    )
    print(
        f"{result.file}: {result.verdict.upper()} ({n_fail} fail, {n_warn} warn events; {flagged})",
        file=sys.stdout,
    )
    return 1 if result.verdict == "fail" else 0
