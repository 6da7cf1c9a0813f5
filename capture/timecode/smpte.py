"""SMPTE timecode arithmetic (HH:MM:SS:FF <-> frame numbers, drop-frame) over the ``timecode``
library, with the rates LTC carries: 24, 25, 29.97 drop-frame and 30 frames per second."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from timecode import Timecode

from metadata.errors import HeadblockError

_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2})$")


@dataclass(frozen=True)
class TimecodeRate:
    """A timecode rate: ``count`` frames are numbered per second; ``rate`` is the real frame
    rate (30000/1001 for 29.97); ``drop_frame`` skips frame numbers 0 and 1 of each minute but
    every tenth."""

    label: str  # "24", "25", "29.97", "30"
    count: int
    rate: Fraction
    drop_frame: bool

    @property
    def ixml_rate(self) -> str:
        """As iXML ``TIMECODE_RATE`` writes it: "25/1", "30000/1001"."""
        return f"{self.rate.numerator}/{self.rate.denominator}"

    @property
    def ixml_flag(self) -> str:
        return "DF" if self.drop_frame else "NDF"


RATES = {
    "24": TimecodeRate("24", 24, Fraction(24), False),
    "25": TimecodeRate("25", 25, Fraction(25), False),
    "29.97": TimecodeRate("29.97", 30, Fraction(30000, 1001), True),
    "30": TimecodeRate("30", 30, Fraction(30), False),
}


def rate_for(count: int, drop_frame: bool) -> TimecodeRate:
    """The rate of LTC that counts ``count`` frames a second with the given drop-frame flag."""
    if drop_frame:
        if count != 30:
            raise HeadblockError(f"drop-frame timecode counts 30 frames a second, not {count}")
        return RATES["29.97"]
    for rate in RATES.values():
        if rate.count == count and not rate.drop_frame:
            return rate
    raise HeadblockError(f"no timecode rate counts {count} frames a second (24, 25 or 30)")


def parse_rate(text: str) -> TimecodeRate:
    try:
        return RATES[text]
    except KeyError:
        raise HeadblockError(f"unknown timecode rate {text!r} (24, 25, 29.97 or 30)") from None


def _tc(rate: TimecodeRate, value: str | None = None, frames: int | None = None) -> Timecode:
    # the library counts drop-frame from its "29.97" rate and NDF 30 from "30"
    fps = "29.97" if rate.drop_frame else str(rate.count)
    if frames is not None:
        return Timecode(fps, frames=frames + 1)  # the library's frames are 1-based
    tc = Timecode(fps, value)
    return tc


def to_frames(text: str, rate: TimecodeRate) -> int:
    """The frame number (0 at 00:00:00:00) of ``HH:MM:SS:FF``; drop-frame counts real frames."""
    h, m, s, f = split(text)
    if f >= rate.count:
        raise HeadblockError(
            f"timecode {text}: frame {f} but {rate.label} fps counts 0-{rate.count - 1}"
        )
    if rate.drop_frame and s == 0 and f < 2 and m % 10 != 0:
        raise HeadblockError(
            f"timecode {text} does not exist in drop-frame (frames 0 and 1 are dropped)"
        )
    sep = ";" if rate.drop_frame else ":"
    return _tc(rate, f"{h:02d}:{m:02d}:{s:02d}{sep}{f:02d}").frame_number


def from_frames(frames: int, rate: TimecodeRate) -> str:
    """``HH:MM:SS:FF`` (``;`` before the frames in drop-frame) of a frame number, wrapping at 24 h."""
    per_day = frames_per_day(rate)
    return str(_tc(rate, frames=frames % per_day))


def frames_per_day(rate: TimecodeRate) -> int:
    return (
        to_frames("23:59:59:29" if rate.count == 30 else f"23:59:59:{rate.count - 1:02d}", rate) + 1
    )


def split(text: str) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, frames) of ``HH:MM:SS:FF`` (``;`` or ``.`` also accepted)."""
    match = _TC.match(text.strip())
    if not match:
        raise HeadblockError(f"not a timecode: {text!r} (HH:MM:SS:FF)")
    h, m, s, _sep, f = match.groups()
    h, m, s, f = int(h), int(m), int(s), int(f)
    if h > 23 or m > 59 or s > 59:
        raise HeadblockError(f"not a timecode: {text!r} (hours 0-23, minutes and seconds 0-59)")
    return h, m, s, f


def seconds_since_midnight(frames: int, rate: TimecodeRate) -> Fraction:
    """Real time of a frame number: frame / frame rate (29.97 runs 1001/1000 slower than 30)."""
    return Fraction(frames) / rate.rate
