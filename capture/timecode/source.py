"""The timecode a video source carries itself: a DeckLink card's RP188 or VITC through the
station's FFmpeg (``ffmpeg:-f decklink -timecode_format rp188any ...``), a file's timecode
track, a test signal given ``-timecode``.

What arrives through FFmpeg's pipe (measured with FFmpeg 5.1 writing NUT, read by PyAV 18):

* the input stream's ``timecode`` metadata (DeckLink sets it from the first frame's code;
  MOV's tmcd track, MXF) is copied to the NUT video stream's metadata;
* ``-timecode HH:MM:SS:FF`` among the output options puts it in the NUT container's metadata;
* per-frame codes reach the frames only when the decoder in the pipe's reader makes them:
  ``frame.metadata["timecode"]`` (MPEG-2 GOP headers, packet string metadata such as
  DeckLink's), S12M side data (``S12M_TIMECODE``: SMPTE 12M words), or GOP side data. Through
  ``rawvideo`` re-encoding FFmpeg drops them, so most takes carry the stream's first code only.

``SourceTimecode`` keeps the first code and, per frame where the frames carry their own,
stretches of continuous code (a jump starts a new stretch: a break on the tape). The take
writes it as the Matroska ``TIMECODE`` tag and ``.timecode.vtt`` (``capture.timecode.master``)
and shows it live (``at``).
"""

from __future__ import annotations

import math
import struct
import threading
from dataclasses import dataclass
from fractions import Fraction

from capture.timecode.smpte import TimecodeRate, from_frames, rate_for, split, to_frames
from metadata.errors import HeadblockError


@dataclass
class Stretch:
    """Continuous code: ``start_s`` (media time from the first video frame) has ``frame``."""

    start_s: float
    frame: int
    end_s: float  # media time of the last frame seen in it, plus one frame


def rate_of(frame_rate: Fraction, drop_frame: bool) -> TimecodeRate | None:
    """The timecode rate for a video frame rate (29.97 is drop-frame only when the code says)."""
    count = round(float(frame_rate))
    if drop_frame and count == 30:
        return rate_for(30, True)
    try:
        return rate_for(count, False)
    except HeadblockError:
        return None


def s12m_text(word: int) -> tuple[str, bool]:
    """``HH:MM:SS:FF`` of one SMPTE 12M binary word as FFmpeg packs it in S12M side data
    (``av_timecode_get_smpte``: frames in bits 24-29, drop-frame bit 30)."""

    def bcd(value: int) -> int:
        return (value >> 4) * 10 + (value & 0x0F)

    hours, minutes = bcd(word & 0x3F), bcd((word >> 8) & 0x7F)
    seconds, frames = bcd((word >> 16) & 0x7F), bcd((word >> 24) & 0x3F)
    drop = bool(word & (1 << 30))
    sep = ";" if drop else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frames:02d}", drop


def frame_code(frame) -> str | None:
    """The timecode a decoded frame carries itself, or None."""
    metadata = getattr(frame, "metadata", None) or {}
    code = metadata.get("timecode")
    if code:
        return str(code)
    for side in getattr(frame, "side_data", None) or ():
        name = getattr(getattr(side, "type", None), "name", "")
        if name == "S12M_TIMECODE":
            raw = bytes(side)
            if len(raw) >= 8:
                count, word = struct.unpack_from("<II", raw)
                if count >= 1:
                    return s12m_text(word)[0]
    return None


class SourceTimecode:
    """The source's timecode over a take (see the module docstring). ``see`` is called by the
    reader thread, ``at``/``first_frame`` by others: a lock keeps them apart."""

    def __init__(self, frame_rate: Fraction, first: str | None = None, origin: str = ""):
        self.frame_rate = Fraction(frame_rate)
        self.origin = origin  # "stream", "container", "frames"
        self.rate: TimecodeRate | None = None
        self.stretches: list[Stretch] = []
        self.per_frame = False
        self._first_code = None
        self._t0: float | None = None
        self._lock = threading.Lock()
        if first:
            self._first_code = self._frame_number(first)

    @classmethod
    def of_container(cls, container, stream) -> SourceTimecode | None:
        """The timecode a PyAV input declares (stream, then container metadata), or an
        empty follower when only its frames might carry one; None without a frame rate."""
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            return None
        for origin, metadata in (("stream", stream.metadata), ("container", container.metadata)):
            code = (metadata or {}).get("timecode")
            if code:
                try:
                    return cls(Fraction(rate), str(code), origin)
                except HeadblockError:
                    continue  # a code we cannot read is no code
        return cls(Fraction(rate))

    def _frame_number(self, code: str) -> int | None:
        try:
            split(code)
        except HeadblockError:
            return None
        rate = rate_of(self.frame_rate, ";" in code or "," in code)
        if rate is None:
            return None
        try:
            number = to_frames(code.replace(",", ";").replace(".", ":"), rate)
        except HeadblockError:
            return None
        self.rate = self.rate or rate
        return number

    # -- the reader thread ------------------------------------------------------------------
    def see(self, frame, t_s: float) -> None:
        """One video frame at device time ``t_s`` (seconds)."""
        if self._t0 is None:
            self._t0 = t_s
        rel_s = t_s - self._t0
        code = frame_code(frame)
        number = self._frame_number(code) if code else None
        frame_s = 1.0 / float(self.frame_rate)
        with self._lock:
            if number is None:
                if not self.per_frame and self._first_code is not None:
                    if not self.stretches:
                        self.stretches.append(Stretch(0.0, self._first_code, frame_s))
                    self.stretches[-1].end_s = rel_s + frame_s
                return
            if not self.per_frame:  # the frames speak for themselves from now on
                self.per_frame, self.origin = True, self.origin or "frames"
                self.stretches = []
            last = self.stretches[-1] if self.stretches else None
            if last is not None:
                expected = last.frame + round((rel_s - last.start_s) * float(self.frame_rate))
                if abs(number - expected) <= 0 and rel_s - last.end_s < 1.5 * frame_s:
                    last.end_s = rel_s + frame_s
                    return
            self.stretches.append(Stretch(rel_s, number, rel_s + frame_s))

    # -- anyone ---------------------------------------------------------------------------------
    @property
    def found(self) -> bool:
        return self.rate is not None and (bool(self.stretches) or self._first_code is not None)

    def first_frame(self) -> str | None:
        """The timecode of the take's first frame (media time 0)."""
        with self._lock:
            if self.stretches:
                first = self.stretches[0]
                number = first.frame - round(first.start_s * float(self.frame_rate))
            else:
                number = self._first_code
        return None if number is None or self.rate is None else from_frames(number, self.rate)

    def at(self, rel_s: float) -> str | None:
        """The code at media time ``rel_s`` (None where the frames carried none)."""
        with self._lock:
            stretch = next((s for s in reversed(self.stretches) if s.start_s <= rel_s), None)
            if stretch is None or self.rate is None or rel_s > stretch.end_s + 1.0:
                return None
            offset = math.floor((rel_s - stretch.start_s) * float(self.frame_rate) + 1e-3)
            return from_frames(stretch.frame + offset, self.rate)

    def newest(self) -> str | None:
        """The code of the newest frame seen (for a live display)."""
        with self._lock:
            if not self.stretches or self.rate is None:
                return None
            last = self.stretches[-1]
            frames = round((last.end_s - last.start_s) * float(self.frame_rate)) - 1
            return from_frames(last.frame + max(0, frames), self.rate)

    def breaks(self) -> list[dict]:
        """Where the code jumps: media time, the code before and after."""
        with self._lock:
            stretches = list(self.stretches)
        out = []
        for before, after in zip(stretches, stretches[1:], strict=False):
            frames = round((before.end_s - before.start_s) * float(self.frame_rate)) - 1
            out.append(
                {
                    "at_s": round(after.start_s, 3),
                    "before": from_frames(before.frame + max(0, frames), self.rate),
                    "after": from_frames(after.frame, self.rate),
                }
            )
        return out
