"""What QC can read: a master's kind (WAV/BWF/RF64, or media FFmpeg opens) and why it cannot
be read (wrong extension, truncated, no stream), said in one clear line before any check runs."""

from __future__ import annotations

import struct
from pathlib import Path

from metadata.errors import HeadblockError


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """An exception's message on one line (its type when it has none), at most ``limit`` long."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]


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


def probe_media(master: Path) -> tuple[bool, list[int]]:
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
        why = first_line(exc, 160)
        raise HeadblockError(f"{master.name}: cannot be read as media ({why})") from exc
