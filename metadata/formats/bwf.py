"""Broadcast WAV masters written chunk by chunk (EBU Tech 3285 bext, Tech 3306 RF64).

Layout written by :class:`BWFWriter`::

    RIFF|RF64 size WAVE
    JUNK(28)      reserved for ds64, so promotion to RF64 rewrites bytes in place
    fmt           WAVE_FORMAT_EXTENSIBLE when channels > 2 or bits > 16
    bext          EBU Tech 3285 version 2
    iXML          optional
    LIST INFO     optional
    data          the audio
    MD5           on close: BWF MetaEdit's audio-data checksum (16 bytes)

The header sizes are patched to the data already on disk by ``flush_header()``, so a crash
leaves a file that reads up to the last flush and that :func:`repair` brings to its last whole
sample frame. libsndfile is not used to write because it cannot write a full bext (see
platform-facts.md).
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

import numpy as np

from metadata.errors import HeadblockError

RF64_THRESHOLD = 0xFFFFFFFF  # largest RIFF size a plain WAV can declare
_U32_MAX = 0xFFFFFFFF
_DS64_BODY = 28  # riffSize, dataSize, sampleCount (8 bytes each), tableLength (4)
_BEXT_FIXED = 602
_BEXT_STRUCT = struct.Struct("<256s32s32s10s8sIIH64shhhhh180s")
assert _BEXT_STRUCT.size == _BEXT_FIXED
_LOUDNESS_UNSET = 0x7FFF  # Tech 3285 v2: a loudness field not in use holds 0x7FFF
_KSDATAFORMAT_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
_MD5_CHUNK_HEAD = b"MD5 " + struct.pack("<I", 16)
# Chunks that may legitimately follow the data chunk (used to tell them from stale-size audio).
_TRAILING_IDS = {b"MD5 ", b"LIST", b"iXML", b"JUNK", b"PAD ", b"bext", b"cue ", b"axml", b"_PMX", b"id3 ", b"ID3 ", b"smpl", b"inst", b"fact", b"umid", b"chna", b"levl", b"link", b"qlty", b"mext"}  # fmt: skip


# --------------------------------------------------------------------------- bext


def _ascii(text: str, length: int | None = None) -> bytes:
    """bext strings are ASCII: accents are folded, anything else becomes '?'."""
    folded = unicodedata.normalize("NFKD", text or "")
    out = "".join(c for c in folded if not unicodedata.combining(c))
    raw = out.encode("ascii", "replace")
    return raw if length is None else raw[:length]


def _loudness(value: float | None) -> int:
    if value is None:
        return _LOUDNESS_UNSET
    return int(max(-32768, min(32766, round(value * 100))))


@dataclass
class BextInfo:
    """The bext fields. ``time_reference`` counts samples since midnight of the origination time."""

    description: str = ""
    originator: str = ""
    originator_reference: str = ""
    origination_date: str = ""  # "yyyy-mm-dd"
    origination_time: str = ""  # "hh:mm:ss"
    time_reference: int = 0
    version: int = 2
    umid: bytes = b""
    loudness_value: float | None = None  # LUFS
    loudness_range: float | None = None  # LU
    max_true_peak: float | None = None  # dBTP
    max_momentary: float | None = None  # LUFS
    max_short_term: float | None = None  # LUFS
    coding_history: list[str] = field(default_factory=list)

    @classmethod
    def for_take(
        cls,
        *,
        started: datetime,
        rate_hz: int,
        description: str = "",
        originator: str = "",
        originator_reference: str = "",
        coding_history: list[str] | None = None,
    ) -> BextInfo:
        """Origination date/time in the station's local time, TimeReference from midnight."""
        local = started.astimezone() if started.tzinfo else started
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        samples = int(round((local - midnight).total_seconds() * rate_hz))
        return cls(
            description=description,
            originator=originator,
            originator_reference=originator_reference,
            origination_date=local.strftime("%Y-%m-%d"),
            origination_time=local.strftime("%H:%M:%S"),
            time_reference=samples,
            coding_history=list(coding_history or []),
        )

    def to_bytes(self) -> bytes:
        """The chunk payload: 602 fixed bytes, then CodingHistory as CR/LF-terminated lines."""
        umid = (self.umid or b"")[:64].ljust(64, b"\0")
        fixed = _BEXT_STRUCT.pack(
            _ascii(self.description, 256),
            _ascii(self.originator, 32),
            _ascii(self.originator_reference, 32),
            _ascii(self.origination_date, 10),
            _ascii(self.origination_time, 8),
            self.time_reference & _U32_MAX,
            (self.time_reference >> 32) & _U32_MAX,
            self.version,
            umid,
            _loudness(self.loudness_value),
            _loudness(self.loudness_range),
            _loudness(self.max_true_peak),
            _loudness(self.max_momentary),
            _loudness(self.max_short_term),
            b"\0" * 180,
        )
        history = "".join(line.rstrip("\r\n") + "\r\n" for line in self.coding_history if line)
        return fixed + _ascii(history)


def parse_bext(payload: bytes) -> dict:
    """Fields of a bext payload as a dict (strings stripped of NUL padding)."""
    if len(payload) < _BEXT_FIXED:
        raise HeadblockError(f"bext chunk is {len(payload)} bytes, shorter than {_BEXT_FIXED}")
    f = _BEXT_STRUCT.unpack_from(payload)

    def s(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")

    def loud(v: int) -> float | None:
        return None if v == _LOUDNESS_UNSET else v / 100.0

    history = payload[_BEXT_FIXED:].split(b"\0", 1)[0].decode("ascii", "replace")
    return {
        "description": s(f[0]),
        "originator": s(f[1]),
        "originator_reference": s(f[2]),
        "origination_date": s(f[3]),
        "origination_time": s(f[4]),
        "time_reference": f[5] | (f[6] << 32),
        "version": f[7],
        "umid": f[8].rstrip(b"\0").hex(),
        "loudness_value": loud(f[9]),
        "loudness_range": loud(f[10]),
        "max_true_peak": loud(f[11]),
        "max_momentary": loud(f[12]),
        "max_short_term": loud(f[13]),
        "coding_history": history,
        "coding_history_lines": [x for x in history.split("\r\n") if x],
    }


# --------------------------------------------------------------------------- other chunks


@dataclass(frozen=True)
class IxmlTimecode:
    """The tape's timecode as iXML writes it: ``rate`` "25/1" or "30000/1001", ``flag`` "DF"
    or "NDF", and the first sample's time of day in samples (as bext TimeReference)."""

    rate: str
    flag: str
    samples_since_midnight: int


def build_ixml(
    *,
    project: str = "",
    scene: str = "",
    take: str = "",
    tape: str = "",
    note: str = "",
    file_uid: str = "",
    rate_hz: int | None = None,
    bits: int | None = None,
    track_names: list[str] | None = None,
    timecode: IxmlTimecode | None = None,
) -> str:
    """A small iXML document (project = item, scene = carrier, take, notes, track list), and
    the tape's timecode in ``SPEED`` when ``timecode`` is given (iXML 2.x: TIMECODE_RATE,
    TIMECODE_FLAG, TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI/LO, TIMESTAMP_SAMPLE_RATE)."""

    def el(tag: str, text) -> str:
        return f"<{tag}>{escape(str(text))}</{tag}>" if text not in (None, "") else ""

    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<BWFXML>", el("IXML_VERSION", "2.10")]
    parts += [el("PROJECT", project), el("SCENE", scene), el("TAKE", take), el("TAPE", tape)]
    parts += [el("NOTE", note), el("FILE_UID", file_uid)]
    if timecode is not None:
        samples = timecode.samples_since_midnight
        parts.append(
            "<SPEED>"
            + el("MASTER_SPEED", timecode.rate)
            + el("CURRENT_SPEED", timecode.rate)
            + el("TIMECODE_RATE", timecode.rate)
            + el("TIMECODE_FLAG", timecode.flag)
            + el("FILE_SAMPLE_RATE", rate_hz)
            + el("AUDIO_BIT_DEPTH", bits)
            + el("DIGITIZER_SAMPLE_RATE", rate_hz)
            + el("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", (samples >> 32) & _U32_MAX)
            + el("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", samples & _U32_MAX)
            + el("TIMESTAMP_SAMPLE_RATE", rate_hz)
            + "</SPEED>"
        )
    elif rate_hz or bits:
        parts.append(
            "<SPEED>" + el("FILE_SAMPLE_RATE", rate_hz) + el("AUDIO_BIT_DEPTH", bits) + "</SPEED>"
        )
    if track_names:
        tracks = "".join(
            "<TRACK>"
            + el("CHANNEL_INDEX", i)
            + el("INTERLEAVE_INDEX", i)
            + el("NAME", name)
            + "</TRACK>"
            for i, name in enumerate(track_names, 1)
        )
        parts.append(f"<TRACK_LIST>{el('TRACK_COUNT', len(track_names))}{tracks}</TRACK_LIST>")
    parts.append("</BWFXML>")
    return "\n".join(p for p in parts if p) + "\n"


def info_from_meta(meta, *, title: str, created: datetime, software: str) -> dict[str, str]:
    """LIST-INFO fields from a TakeMeta: INAM, IART, ICMT, ICRD, ISFT, ITCH, ISRC, IMED."""
    info = {
        "INAM": meta.title or title,
        "IART": meta.originator,
        "ICMT": "; ".join(x for x in (meta.description, meta.notes) if x),
        "ICRD": created.strftime("%Y-%m-%d"),
        "ISFT": software,
        "ITCH": meta.technician,
        "ISRC": meta.extra.get("source", "") or meta.originator,
        "IMED": meta.carrier_label,
    }
    return {k: v for k, v in info.items() if v}


def _chunk(cid: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) & 1 else b""
    return cid + struct.pack("<I", len(payload)) + payload + pad


def _info_payload(info: dict[str, str]) -> bytes:
    body = bytearray(b"INFO")
    for key, value in info.items():
        cid = key.encode("ascii")
        if len(cid) != 4:
            raise HeadblockError(f"LIST-INFO keys are four characters, got {key!r}")
        body += _chunk(cid, value.encode("utf-8") + b"\0")
    return bytes(body)


def default_channel_mask(channels: int) -> int:
    """Mono: front centre; stereo: front left/right; more: 0 (tracks of a tape, not speakers)."""
    return {1: 0x4, 2: 0x3}.get(channels, 0)


def _fmt_payload(rate_hz: int, channels: int, bits: int, channel_mask: int | None) -> bytes:
    block_align = channels * bits // 8
    extensible = channels > 2 or bits > 16
    tag = 0xFFFE if extensible else 1
    base = struct.pack("<HHIIHH", tag, channels, rate_hz, rate_hz * block_align, block_align, bits)
    if not extensible:
        return base
    mask = default_channel_mask(channels) if channel_mask is None else channel_mask
    return base + struct.pack("<HHI", 22, bits, mask) + _KSDATAFORMAT_SUBTYPE_PCM


def md5_chunk_bytes(hexdigest: str) -> bytes:
    """BWF MetaEdit stores the MD5 as a little-endian 128-bit integer."""
    return int(hexdigest, 16).to_bytes(16, "little")


def md5_from_chunk(payload: bytes) -> str:
    return f"{int.from_bytes(payload[:16], 'little'):032x}"


# --------------------------------------------------------------------------- writer


class BWFCloseResult(NamedTuple):
    data_bytes: int
    md5: str  # hex MD5 of the data chunk payload


def _pack_samples(a: np.ndarray, bits: int) -> bytes:
    """Interleaved little-endian PCM bytes. int32 input carries audio in its top bits."""
    if a.dtype.kind == "f":
        scale = float(2 ** (bits - 1))
        q = np.clip(np.rint(a * scale), -scale, scale - 1).astype(np.int32)
        a = q << (32 - bits) if bits < 32 else q
    if a.dtype == np.int32 or a.dtype == np.dtype(">i4"):
        a32 = np.ascontiguousarray(a, dtype="<i4")
        if bits == 32:
            return a32.tobytes()
        if bits == 24:
            # three column copies: ~6x faster than one strided (n, 3) slice copy
            u = a32.reshape(-1).view(np.uint8).reshape(-1, 4)
            out = np.empty((u.shape[0], 3), np.uint8)
            out[:, 0] = u[:, 1]
            out[:, 1] = u[:, 2]
            out[:, 2] = u[:, 3]
            return out.tobytes()
        return (a32 >> 16).astype("<i2").tobytes()
    if a.dtype == np.int16 or a.dtype == np.dtype(">i2"):
        a16 = np.ascontiguousarray(a, dtype="<i2")
        if bits == 16:
            return a16.tobytes()
        if bits == 24:
            out = np.zeros((a16.size, 3), np.uint8)
            out[:, 1:] = a16.view(np.uint8).reshape(-1, 2)
            return out.tobytes()
        return (a16.astype("<i4") << 16).tobytes()
    raise HeadblockError(f"BWFWriter takes int32, int16 or float samples, not {a.dtype}")


class BWFWriter:
    """Writes one Broadcast WAV master; see the module docstring for the layout.

    ``write`` and ``flush_header`` may be called from different threads (a lock orders them).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        rate_hz: int,
        channels: int,
        bits: int,
        bext: BextInfo,
        info: dict[str, str] | None = None,
        ixml: str | None = None,
        rf64_threshold_bytes: int = RF64_THRESHOLD,
        channel_mask: int | None = None,
        ixml_reserve_bytes: int = 0,
    ):
        if bits not in (16, 24, 32):
            raise HeadblockError(f"unsupported bit depth {bits} (16, 24 or 32)")
        if not 1 <= channels <= 64:
            raise HeadblockError(f"unsupported channel count {channels}")
        if not 1000 <= rate_hz <= 768000:
            raise HeadblockError(f"unsupported sample rate {rate_hz} Hz")
        self.path = Path(path)
        self.rate_hz = rate_hz
        self.channels = channels
        self.bits = bits
        self.block_align = channels * bits // 8
        self.rf64_threshold_bytes = rf64_threshold_bytes
        self.frames_written = 0
        self.data_bytes = 0
        self.rf64 = False
        self.closed = False
        self._md5 = hashlib.md5()
        self._lock = threading.Lock()
        self._result: BWFCloseResult | None = None

        header = bytearray(b"RIFF\0\0\0\0WAVE")
        header += b"JUNK" + struct.pack("<I", _DS64_BODY) + bytes(_DS64_BODY)
        header += _chunk(b"fmt ", _fmt_payload(rate_hz, channels, bits, channel_mask))
        header += _chunk(b"bext", bext.to_bytes())
        if ixml:
            # room for a longer iXML written in place later (the take's timecode, once read)
            payload = ixml.encode("utf-8") + b" " * ixml_reserve_bytes
            header += _chunk(b"iXML", payload)
        if info:
            header += _chunk(b"LIST", _info_payload(info))
        header += b"data\0\0\0\0"
        self.data_offset = len(header)
        try:
            self._f = open(self.path, "xb")  # never overwrite an existing master
        except FileExistsError as exc:
            raise HeadblockError(
                f"{self.path} already exists; a master is never overwritten"
            ) from exc
        except OSError as exc:
            raise HeadblockError(f"cannot create {self.path}: {exc.strerror}") from exc
        self._fd = self._f.fileno()
        self._f.write(header)
        self.flush_header()

    # sizes -----------------------------------------------------------------
    def _needs_rf64(self, data_bytes: int) -> bool:
        # Count the pad byte and MD5 chunk written at close, so the closed file fits too.
        riff = self.data_offset + data_bytes + 1 + 24 - 8
        return riff > self.rf64_threshold_bytes or data_bytes > self.rf64_threshold_bytes

    def _patch(self, data_bytes: int, trailing: int) -> None:
        riff = self.data_offset + data_bytes + trailing - 8
        frames = data_bytes // self.block_align
        if self.rf64:
            ds64 = b"ds64" + struct.pack("<IQQQI", _DS64_BODY, riff, data_bytes, frames, 0)
            os.pwrite(self._fd, ds64, 12)
            os.pwrite(self._fd, struct.pack("<I", _U32_MAX), self.data_offset - 4)
            os.pwrite(self._fd, b"RF64" + struct.pack("<I", _U32_MAX), 0)
        else:
            os.pwrite(self._fd, struct.pack("<I", data_bytes), self.data_offset - 4)
            os.pwrite(self._fd, b"RIFF" + struct.pack("<I", riff), 0)

    def flush_header(self, fsync: bool = False) -> None:
        """Push buffered audio to the OS and patch every size to the data on disk."""
        with self._lock:
            if self.closed:
                return
            self._f.flush()
            self._patch(self.data_bytes, 0)
            if fsync:
                os.fsync(self._fd)

    # audio -----------------------------------------------------------------
    def write(self, frames: np.ndarray) -> int:
        """Append frames shaped (n, channels); returns n. int32 is 24-bit audio in the top bits."""
        a = np.asarray(frames)
        if a.ndim == 1 and self.channels == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != self.channels:
            raise HeadblockError(f"expected frames shaped (n, {self.channels}), got {a.shape}")
        n = a.shape[0]
        if n == 0:
            return 0
        payload = _pack_samples(a, self.bits)
        with self._lock:
            if self.closed:
                raise HeadblockError(f"{self.path} is already closed")
            self._f.write(payload)
            self._md5.update(payload)
            self.data_bytes += len(payload)
            self.frames_written += n
            promote = not self.rf64 and self._needs_rf64(self.data_bytes)
        if promote:
            with self._lock:
                self.rf64 = True
            self.flush_header()
        return n

    @property
    def md5_so_far(self) -> str:
        return self._md5.copy().hexdigest()

    def close(self, fsync: bool = True) -> BWFCloseResult:
        """Finish the file: exact sizes, the MD5 chunk, fsync. Returns (data bytes, data MD5)."""
        if self._result is not None:
            return self._result
        self.flush_header()
        with self._lock:
            digest = self._md5.hexdigest()
            pad = self.data_bytes & 1
            self._f.write(b"\0" * pad + _MD5_CHUNK_HEAD + md5_chunk_bytes(digest))
            self._f.flush()
            self._patch(self.data_bytes, pad + 24)
            if fsync:
                os.fsync(self._fd)
            self._f.close()
            self.closed = True
            self._result = BWFCloseResult(self.data_bytes, digest)
        return self._result

    def abort(self) -> None:
        """Give up on a file that cannot be finished (e.g. the disk is full): close the handle
        without flushing more, leaving on disk what reached it for ``repair``."""
        with self._lock:
            if self._f.closed:
                return
            try:
                self._f.close()
            except OSError:
                pass  # the unflushed buffer is lost; what is on disk stays
            self.closed = True

    def __enter__(self) -> BWFWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- reading


@dataclass
class Chunk:
    id: str
    offset: int  # of the 8-byte chunk header
    size: int  # payload size (RF64 sizes resolved through ds64)
    declared_size: int  # the 32-bit field as found
    truncated: bool = False  # the payload runs past the end of the file

    @property
    def data_offset(self) -> int:
        return self.offset + 8


@dataclass
class WaveLayout:
    form: str  # "RIFF" or "RF64"
    riff_size: int
    file_size: int
    chunks: list[Chunk]
    ds64: dict | None = None

    def get(self, cid: str) -> Chunk | None:
        return next((c for c in self.chunks if c.id == cid), None)


def read_layout(path: str | os.PathLike) -> WaveLayout:
    """Walk the chunks tolerantly: stops at the first chunk that runs past the end of file."""
    path = Path(path)
    file_size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            raise HeadblockError(f"{path} is not a WAV/RF64 file")
        form = head[:4].decode()
        riff_size = struct.unpack_from("<I", head, 4)[0]
        chunks: list[Chunk] = []
        ds64 = None
        pos = 12
        while pos + 8 <= file_size:
            f.seek(pos)
            hdr = f.read(8)
            cid = hdr[:4].decode("latin-1")
            declared = struct.unpack_from("<I", hdr, 4)[0]
            size = declared
            if cid == "ds64" and declared >= _DS64_BODY:
                r, d, s = struct.unpack("<QQQ", f.read(24))
                ds64 = {"riff_size": r, "data_size": d, "sample_count": s}
                if form == "RF64":
                    riff_size = r
            if cid == "data" and declared == _U32_MAX and ds64 is not None:
                size = ds64["data_size"]
            truncated = pos + 8 + size > file_size
            chunks.append(Chunk(cid, pos, size, declared, truncated))
            if truncated:
                break
            pos += 8 + size + (size & 1)
    return WaveLayout(form, riff_size, file_size, chunks, ds64)


def read_chunks(path: str | os.PathLike) -> list[Chunk]:
    return read_layout(path).chunks


def _read_payload(path, chunk: Chunk, limit: int | None = None) -> bytes:
    with open(path, "rb") as f:
        f.seek(chunk.data_offset)
        return f.read(chunk.size if limit is None else min(limit, chunk.size))


def read_bext(path: str | os.PathLike) -> dict:
    c = read_layout(path).get("bext")
    if c is None:
        raise HeadblockError(f"{path} has no bext chunk")
    return parse_bext(_read_payload(path, c))


def read_fmt(path: str | os.PathLike) -> dict:
    c = read_layout(path).get("fmt ")
    if c is None or c.size < 16:
        raise HeadblockError(f"{path} has no usable fmt chunk")
    p = _read_payload(path, c)
    tag, ch, rate, byterate, align, bits = struct.unpack_from("<HHIIHH", p)
    out = {"format_tag": tag, "channels": ch, "rate_hz": rate, "byte_rate": byterate,
           "block_align": align, "bits": bits}  # fmt: skip
    if tag == 0xFFFE and len(p) >= 40:
        _, valid, mask = struct.unpack_from("<HHI", p, 16)
        out.update(valid_bits=valid, channel_mask=mask, subformat=p[24:40])
    return out


def read_info(path: str | os.PathLike) -> dict[str, str]:
    out: dict[str, str] = {}
    layout = read_layout(path)
    for c in layout.chunks:
        if c.id != "LIST" or c.truncated:
            continue
        p = _read_payload(path, c)
        if p[:4] != b"INFO":
            continue
        pos = 4
        while pos + 8 <= len(p):
            cid = p[pos : pos + 4].decode("latin-1")
            size = struct.unpack_from("<I", p, pos + 4)[0]
            out[cid] = p[pos + 8 : pos + 8 + size].split(b"\0", 1)[0].decode("utf-8", "replace")
            pos += 8 + size + (size & 1)
    return out


def read_ixml(path: str | os.PathLike) -> str | None:
    c = read_layout(path).get("iXML")
    return None if c is None else _read_payload(path, c).decode("utf-8", "replace")


_BEXT_TIME_REFERENCE = 338  # Description 256 + Originator 32 + Reference 32 + Date 10 + Time 8


def write_timecode(path: str | os.PathLike, time_reference: int, ixml: str | None = None) -> None:
    """Write a closed master's TimeReference (bext) and, when given, its iXML in place: the
    iXML must fit the chunk already there (``BWFWriter(ixml_reserve_bytes=...)`` leaves room)
    and is padded with spaces to its size. The audio and every other byte stay as they are."""
    layout = read_layout(path)
    bext = layout.get("bext")
    if bext is None or bext.size < _BEXT_FIXED or bext.truncated:
        raise HeadblockError(f"{path} has no complete bext chunk")
    writes = [(bext.data_offset + _BEXT_TIME_REFERENCE, struct.pack("<Q", time_reference))]
    if ixml is not None:
        chunk = layout.get("iXML")
        payload = ixml.encode("utf-8")
        if chunk is None or chunk.truncated:
            raise HeadblockError(f"{path} has no iXML chunk to write the timecode into")
        if len(payload) > chunk.size:
            raise HeadblockError(
                f"{path}: the iXML with timecode needs {len(payload)} bytes, the chunk has "
                f"{chunk.size}"
            )
        writes.append((chunk.data_offset, payload + b" " * (chunk.size - len(payload))))
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset, data in writes:
            os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_md5_chunk(path: str | os.PathLike) -> str | None:
    """The data MD5 stored in the ``MD5 `` chunk, or None."""
    c = read_layout(path).get("MD5 ")
    if c is None or c.size < 16 or c.truncated:
        return None
    return md5_from_chunk(_read_payload(path, c, 16))


def data_md5(path: str | os.PathLike, progress=None, block_bytes: int = 4 << 20) -> str:
    """MD5 of the data chunk payload as it is on disk (what the ``MD5 `` chunk records)."""
    c = read_layout(path).get("data")
    if c is None:
        raise HeadblockError(f"{path} has no data chunk")
    return _hash_range(path, c.data_offset, c.data_offset + c.size, progress, block_bytes)


def _hash_range(path, start: int, end: int, progress=None, block_bytes: int = 4 << 20) -> str:
    h = hashlib.md5()
    total = max(end - start, 1)
    with open(path, "rb") as f:
        f.seek(start)
        remaining = end - start
        while remaining > 0:
            block = f.read(min(block_bytes, remaining))
            if not block:
                break
            h.update(block)
            remaining -= len(block)
            if progress:
                progress((end - start - remaining) / total, "hashing audio")
    return h.hexdigest()


def file_and_data_md5(
    path: str | os.PathLike, progress=None, block_bytes: int = 4 << 20
) -> tuple[str, str | None]:
    """(MD5 of the whole file, MD5 of the data payload) in one read of the file.

    The second is None when the file has no whole data chunk (not a readable WAV).
    """
    path = Path(path)
    data_range = None
    try:
        data = read_layout(path).get("data")
        if data is not None and not data.truncated:
            data_range = (data.data_offset, data.data_offset + data.size)
    except HeadblockError:
        pass
    file_hash = hashlib.md5()
    data_hash = hashlib.md5() if data_range else None
    total = path.stat().st_size
    pos = 0
    with open(path, "rb") as f:
        while block := f.read(block_bytes):
            file_hash.update(block)
            if data_hash is not None:
                lo, hi = max(data_range[0], pos), min(data_range[1], pos + len(block))
                if hi > lo:
                    data_hash.update(memoryview(block)[lo - pos : hi - pos])
            pos += len(block)
            if progress:
                progress(pos / total if total else 1.0, path.name)
    return file_hash.hexdigest(), data_hash.hexdigest() if data_hash is not None else None


# --------------------------------------------------------------------------- repair


@dataclass
class RepairResult:
    path: Path
    frames_kept: int
    data_bytes: int
    bytes_dropped: int  # partial frame and partial trailing chunk removed
    rf64: bool
    changed: bool
    data_md5: str | None = None
    notes: list[str] = field(default_factory=list)


def _trailing_end(f, start: int, file_size: int) -> tuple[bool, int, list[bytes]]:
    """Walk chunks after the data: (plausible, end of the last whole chunk, their ids).

    Plausible means known chunk ids that reach exactly the end of file, or end in a partial
    ``MD5 `` chunk (a crash while closing); anything else means ``start`` is inside audio.
    """
    pos = start
    ids: list[bytes] = []
    while pos < file_size:
        f.seek(pos)
        hdr = f.read(8)
        if len(hdr) < 8 or pos + 8 + struct.unpack_from("<I", hdr, 4)[0] > file_size:
            return _MD5_CHUNK_HEAD.startswith(hdr[:8]), pos, ids
        if hdr[:4] not in _TRAILING_IDS:
            return False, pos, ids
        size = struct.unpack_from("<I", hdr, 4)[0]
        ids.append(hdr[:4])
        pos += 8 + size + (size & 1)
        if pos == file_size + 1:  # a missing final pad byte is tolerated
            return True, file_size, ids
    return pos == file_size, min(pos, file_size), ids


def repair(
    path: str | os.PathLike,
    *,
    add_md5: bool = True,
    progress=None,
    rf64_threshold_bytes: int = RF64_THRESHOLD,
) -> RepairResult:
    """Make a master left open by a crash valid, keeping every whole sample frame on disk.

    Sizes are set to the last whole frame (a partial frame is cut off), the file becomes RF64
    when it no longer fits a RIFF size, and with ``add_md5`` a missing ``MD5 `` chunk is added
    (which reads the audio once). Raises HeadblockError when the file was cut inside its header.
    """
    path = Path(path)
    try:
        layout = read_layout(path)
    except HeadblockError as exc:
        raise HeadblockError(f"{path}: cut inside its header, no audio to keep") from exc
    file_size = layout.file_size
    fmt_chunk = layout.get("fmt ")
    data = layout.get("data")
    if fmt_chunk is None or fmt_chunk.truncated or data is None:
        raise HeadblockError(f"{path}: cut inside its header ({file_size} bytes), no audio to keep")
    fmt = read_fmt(path)
    block_align = fmt["block_align"]
    if block_align <= 0:
        raise HeadblockError(f"{path}: fmt chunk declares block align {block_align}")
    notes: list[str] = []
    data_start = data.data_offset
    declared = data.size

    with open(path, "r+b") as f:
        original_head = f.read(data_start)
        keep_to = None  # everything before this offset stays
        has_md5 = False
        after = data_start + declared + (declared & 1)
        if declared % block_align == 0 and after <= file_size:
            plausible, end, ids = _trailing_end(f, after, file_size)
            if plausible:  # the sizes were current: a closed file or a crash while closing
                data_len = declared
                keep_to = end if ids else data_start + data_len
                has_md5 = b"MD5 " in ids
        if keep_to is None:  # stale sizes: the audio runs to the end of file
            region_end = file_size
            tail_len = min(file_size - data_start, 25)
            f.seek(file_size - tail_len)
            at = f.read(tail_len).rfind(_MD5_CHUNK_HEAD)
            if at >= 0:  # crashed while closing, before the sizes were written
                region_end = file_size - tail_len + at
            data_len = (region_end - data_start) // block_align * block_align
            pad_ok = region_end - data_start - data_len == (data_len & 1)
            has_md5 = at >= 0 and file_size - region_end == 24 and pad_ok
            keep_to = file_size if has_md5 else data_start + data_len
        dropped = file_size - keep_to
        if dropped:
            f.truncate(keep_to)
            notes.append(f"dropped {dropped} bytes after the last whole sample frame")
        new_size = keep_to
        md5_hex = None
        if add_md5 and not has_md5:
            md5_hex = _hash_range(path, data_start, data_start + data_len, progress)
            pad = b"\0" if (new_size == data_start + data_len and data_len & 1) else b""
            f.seek(new_size)
            f.write(pad + _MD5_CHUNK_HEAD + md5_chunk_bytes(md5_hex))
            new_size += len(pad) + 24
            notes.append("added the MD5 chunk")

        riff = new_size - 8
        frames = data_len // block_align
        rf64 = layout.form == "RF64" or max(riff, data_len) > rf64_threshold_bytes
        first = layout.chunks[0]
        if rf64:
            if first.id not in ("JUNK", "ds64") or first.size < _DS64_BODY:
                raise HeadblockError(f"{path}: over 4 GiB without room for a ds64 chunk")
            f.seek(12)
            f.write(b"ds64" + struct.pack("<IQQQI", first.size, riff, data_len, frames, 0))
            f.seek(data_start - 4)
            f.write(struct.pack("<I", _U32_MAX))
            f.seek(0)
            f.write(b"RF64" + struct.pack("<I", _U32_MAX))
            if layout.form != "RF64":
                notes.append("promoted to RF64")
        else:
            if first.id == "ds64":  # cut while being promoted: back to the reserved JUNK
                f.seek(12)
                f.write(b"JUNK" + struct.pack("<I", first.size) + bytes(min(first.size, 64)))
            f.seek(data_start - 4)
            f.write(struct.pack("<I", data_len))
            f.seek(0)
            f.write(b"RIFF" + struct.pack("<I", riff))
        f.flush()
        os.fsync(f.fileno())
        f.seek(0)
        changed = new_size != file_size or f.read(data_start) != original_head
    return RepairResult(
        path=path,
        frames_kept=frames,
        data_bytes=data_len,
        bytes_dropped=dropped,
        rf64=rf64,
        changed=changed,
        data_md5=md5_hex,
        notes=notes,
    )
