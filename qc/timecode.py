"""The tape's timecode at a media time of a take, as its master records it: what Review's
timeline and the QC report show beside seconds.

* Matroska: the video track's ``TIMECODE`` tag (the first frame's timecode, as FFmpeg writes
  it; from LTC or the source's own timecode) counted on at the video's frame rate, and, when
  ``ITEM_tNN.timecode.vtt`` sits beside the master, its cues: the code as read at each cue's
  start, so a break in the tape's code is followed; where the tape has no code there is none.
* Broadcast WAV: bext ``TimeReference`` (samples since midnight), but only when iXML says it is
  the tape's timecode (``TIMECODE_RATE`` and ``TIMECODE_FLAG``); otherwise it is the station's
  clock and no timecode is shown.

``read_take_timecode(master)`` returns a ``TakeTimecode`` or None; it never raises for what it
finds (a master without timecode, a malformed tag or cue is no timecode).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from timecode import Timecode

_TC = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;.,])(\d{2})$")
_EDGE = Fraction(1, 50)  # of a frame: a time on a frame's start (cue times are in ms) is that frame
_CUE = re.compile(r"^(\d+):(\d{2}):(\d{2})\.(\d{3})\s+-->\s+(\d+):(\d{2}):(\d{2})\.(\d{3})")


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    frame: int  # frame number (from 00:00:00:00) of the timecode at ``start_s``


@dataclass
class TakeTimecode:
    """Frame numbers count from 00:00:00:00 at the code's own rate."""

    rate: Fraction  # real frames per second (30000/1001 for 29.97)
    drop_frame: bool
    start_frame: int  # at media time 0
    source: str  # where it was read: "Matroska TIMECODE tag", "timecode.vtt", "BWF TimeReference"
    cues: list[Cue] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Frames numbered per second: 24, 25 or 30."""
        return round(self.rate)

    def frame_at(self, t_s: float) -> int | None:
        """The timecode's frame number at media time ``t_s`` (None: no code there)."""
        t_s = max(0.0, float(t_s))
        if self.cues:
            i = bisect_right([c.start_s for c in self.cues], t_s + 1e-6) - 1
            # the end of a cue's last frame still reads on from it (an event's end; cue times
            # are rounded to the millisecond)
            if i < 0 or t_s > self.cues[i].end_s + 0.5 / float(self.rate):
                return None
            cue = self.cues[i]
            return cue.frame + math.floor((t_s - cue.start_s) * self.rate + _EDGE)
        return self.start_frame + math.floor(t_s * self.rate + _EDGE)

    def start_of(self, frame: int, near_s: float) -> float:
        """The media time where ``frame`` begins, in the stretch of code around ``near_s``."""
        cue = None
        if self.cues:
            i = bisect_right([c.start_s for c in self.cues], max(0.0, near_s) + 1e-6) - 1
            cue = self.cues[max(0, i)]
        if cue is not None:
            return cue.start_s + float((frame - cue.frame) / self.rate)
        return float((frame - self.start_frame) / self.rate)

    def at(self, t_s: float) -> str | None:
        """``HH:MM:SS:FF`` (``;`` in drop-frame) at media time ``t_s``, or None."""
        frame = self.frame_at(t_s)
        return None if frame is None else self.text(frame)

    def text(self, frame: int) -> str:
        return frame_text(frame, self.count, self.drop_frame)


def _library_fps(count: int, drop_frame: bool) -> str:
    return "29.97" if drop_frame else str(count)


def frame_text(frame: int, count: int, drop_frame: bool) -> str:
    """``HH:MM:SS:FF`` of a frame number (wrapping at 24 hours)."""
    per_day = _frames_per_day(count, drop_frame)
    tc = Timecode(_library_fps(count, drop_frame), frames=frame % per_day + 1)
    return str(tc)


def _frames_per_day(count: int, drop_frame: bool) -> int:
    return frame_number(f"23:59:59{';' if drop_frame else ':'}{count - 1:02d}", count) + 1


def frame_number(text: str, count: int) -> int:
    """The frame number of ``HH:MM:SS:FF`` (``;`` before the frames: drop-frame)."""
    match = _TC.match(text.strip())
    if not match:
        raise ValueError(f"not a timecode: {text!r}")
    drop_frame = match.group(4) in ";,"
    hours, minutes, seconds, frames = (int(match.group(i)) for i in (1, 2, 3, 5))
    if hours > 23 or minutes > 59 or seconds > 59 or frames >= count:
        raise ValueError(f"not a timecode at {count} fps: {text!r}")
    if drop_frame and seconds == 0 and frames < 2 and minutes % 10:
        raise ValueError(f"{text} does not exist in drop-frame (frames 00 and 01 are dropped)")
    sep = ";" if drop_frame else ":"
    value = f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frames:02d}"
    return Timecode(_library_fps(count, drop_frame), value).frame_number


def _vtt_seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def read_vtt_cues(path: Path, count: int) -> list[Cue]:
    """The cues of a ``.timecode.vtt`` (see ``capture.timecode.master``); malformed cues are
    left out."""
    cues: list[Cue] = []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for i, line in enumerate(lines[:-1]):
        match = _CUE.match(line.strip())
        if not match:
            continue
        try:
            frame = frame_number(lines[i + 1].strip(), count)
        except ValueError:
            continue
        g = match.groups()
        start, end = _vtt_seconds(*g[:4]), _vtt_seconds(*g[4:])
        if end > start:
            cues.append(Cue(start, end, frame))
    cues.sort(key=lambda c: c.start_s)
    return cues


def _mkv_timecode(master: Path) -> TakeTimecode | None:
    import av

    try:
        with av.open(str(master)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            tags = {k.upper(): v for k, v in stream.metadata.items()}
            tag = tags.get("TIMECODE") or container.metadata.get("timecode")
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    except Exception:  # noqa: BLE001 - an unreadable master has no timecode to show
        return None
    if not tag or not rate:
        return None
    rate = Fraction(rate)
    count = round(rate)
    try:
        start = frame_number(str(tag), count)
    except ValueError:
        return None
    drop_frame = ";" in str(tag) or "," in str(tag)
    timecode = TakeTimecode(rate, drop_frame, start, "Matroska TIMECODE tag")
    vtt = master.with_name(f"{master.stem}.timecode.vtt")
    if vtt.exists():
        try:
            cues = read_vtt_cues(vtt, count)
        except OSError:
            cues = []
        if cues:
            timecode.cues, timecode.source = cues, "timecode.vtt"
    return timecode


def _ixml_field(ixml: str, name: str) -> str | None:
    match = re.search(rf"<{name}>\s*([^<]*?)\s*</{name}>", ixml)
    return match.group(1) if match else None


def _wav_timecode(master: Path) -> TakeTimecode | None:
    from metadata.formats import bwf

    try:
        ixml = bwf.read_ixml(master) or ""
        time_reference = int(bwf.read_bext(master)["time_reference"])
        rate_hz = int(bwf.read_fmt(master)["rate_hz"])
    except Exception:  # noqa: BLE001 - no bext or iXML: no tape timecode
        return None
    rate_text, flag = _ixml_field(ixml, "TIMECODE_RATE"), _ixml_field(ixml, "TIMECODE_FLAG")
    if not rate_text or not flag or rate_hz <= 0:
        return None  # TimeReference is the station's clock, not the tape's
    try:
        rate = Fraction(rate_text)
    except (ValueError, ZeroDivisionError):
        return None
    if rate <= 0:
        return None
    drop_frame = flag.strip().upper() == "DF"
    start = math.floor(Fraction(time_reference, rate_hz) * rate + Fraction(1, 1000))
    return TakeTimecode(rate, drop_frame, start, "BWF TimeReference")


def read_take_timecode(master: Path | None) -> TakeTimecode | None:
    """The tape's timecode of ``master`` (a take's BWF or Matroska master), or None."""
    if master is None or not Path(master).is_file():
        return None
    master = Path(master)
    if master.suffix.lower() in (".wav", ".bwf", ".rf64"):
        return _wav_timecode(master)
    if master.suffix.lower() in (".mkv", ".mka", ".webm"):
        return _mkv_timecode(master)
    return None


def time_label(t_s: float, timecode: TakeTimecode | None) -> str:
    """``12.345 s (TC 01:00:12;10)``; without timecode at that time, ``12.345 s``."""
    text = f"{float(t_s):.3f} s"
    tc = timecode.at(t_s) if timecode is not None else None
    return f"{text} (TC {tc})" if tc else text
