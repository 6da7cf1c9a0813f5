"""Linear timecode (SMPTE 12M LTC) decoded from one audio channel, block by block.

LTC is biphase mark code: every bit cell starts with a transition and a 1 has a second one in
the middle of the cell. A frame is 80 bits ending with the sync word (bits 64-79,
``0011111111111101``). ``LtcDecoder.feed(samples)`` takes consecutive blocks of one channel
(a live take or a file read in blocks) and returns the frames decoded so far; ``finish()``
returns the rest. Each frame carries the sample position where its bit 0 begins, the
timecode, the rate (24, 25, 29.97 drop-frame, 30) and the drop-frame flag.

Robust to speed (the bit period is tracked, so shuttle and varispeed of +-10 % and more decode)
and to level (transitions are found with a hysteresis relative to the block's own peak, down
to -50 dBFS). A frame is only reported once its neighbour confirms it (the next frame's
timecode follows it, 80 bits later): noise, music or a single garbled frame yield nothing. The
rate is read from the code itself: the frame number where the seconds roll over (24, 25 or
30 frames), the drop-frame flag for 29.97; until a rollover is seen (at most a second) frames
are held back, and a run shorter than that is given the rate nearest its measured speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capture.timecode.smpte import TimecodeRate, rate_for, to_frames
from metadata.errors import HeadblockError

SYNC_WORD = 0xBFFC  # bits 64..79 in transmission order, bit 64 as the least significant
FRAME_BITS = 80
_SUBBLOCK = 1024  # samples per level estimate
_FLOOR = 10 ** (-50 / 20)  # below this peak a block is silence: no transitions
_HYSTERESIS = 0.3  # of the sub-block's peak
_MIN_BIT_RATE = 24 * 80 * 0.8  # bits per second: 24 fps at 80 % speed ...
_MAX_BIT_RATE = 30 * 80 * 1.25  # ... to 30 fps at 125 %
_CALIBRATE = 48  # intervals collected before the bit period is first estimated


@dataclass(frozen=True)
class LtcFrame:
    """One decoded LTC frame. ``position`` is the sample (of the decoder's input) where the
    frame's bit 0 begins; ``frame_number`` counts from 00:00:00:00 (drop-frame aware)."""

    position: int
    timecode: str
    rate: TimecodeRate
    frame_number: int
    user_bits: int = 0

    @property
    def fps(self) -> str:
        return self.rate.label

    @property
    def drop_frame(self) -> bool:
        return self.rate.drop_frame

    def to_dict(self) -> dict:
        return {
            "position": self.position,
            "timecode": self.timecode,
            "fps": self.fps,
            "drop_frame": self.drop_frame,
        }


@dataclass
class _Raw:
    position: float
    hours: int
    minutes: int
    seconds: int
    frames: int
    drop_frame: bool
    user_bits: int
    length: float  # samples from the previous frame's start, or 0


def _bcd(reg: int, shift: int, width: int) -> int:
    return (reg >> shift) & ((1 << width) - 1)


def decode_bits(reg: int) -> tuple[int, int, int, int, bool, int] | None:
    """(hours, minutes, seconds, frames, drop_frame, user_bits) of an 80-bit frame (bit 0 as the
    least significant bit of ``reg``), or None when a digit is out of range."""
    frame_units, frame_tens = _bcd(reg, 0, 4), _bcd(reg, 8, 2)
    sec_units, sec_tens = _bcd(reg, 16, 4), _bcd(reg, 24, 3)
    min_units, min_tens = _bcd(reg, 32, 4), _bcd(reg, 40, 3)
    hour_units, hour_tens = _bcd(reg, 48, 4), _bcd(reg, 56, 2)
    if max(frame_units, sec_units, min_units, hour_units) > 9 or sec_tens > 5 or min_tens > 5:
        return None
    frames = frame_tens * 10 + frame_units
    hours = hour_tens * 10 + hour_units
    if frames > 29 or hours > 23:
        return None
    drop_frame = bool((reg >> 10) & 1)
    user_bits = 0
    for group in range(8):  # bits 4-7, 12-15, ... 60-63
        user_bits |= _bcd(reg, 4 + 8 * group, 4) << (4 * group)
    return (
        hours,
        min_tens * 10 + min_units,
        sec_tens * 10 + sec_units,
        frames,
        drop_frame,
        user_bits,
    )


def _next_second(raw: _Raw) -> tuple[int, int, int]:
    h, m, s = raw.hours, raw.minutes, raw.seconds + 1
    if s == 60:
        s, m = 0, m + 1
        if m == 60:
            m, h = 0, (h + 1) % 24
    return h, m, s


def _follows(prev: _Raw, cur: _Raw) -> int | None:
    """0 when ``cur`` is the frame after ``prev`` within a second, the number of frames counted
    per second when it is the first frame of the next second, None when it does not follow."""
    if cur.drop_frame != prev.drop_frame:
        return None
    same = (cur.hours, cur.minutes, cur.seconds) == (prev.hours, prev.minutes, prev.seconds)
    if same and cur.frames == prev.frames + 1:
        return 0
    if (cur.hours, cur.minutes, cur.seconds) != _next_second(prev):
        return None
    first = 0
    if cur.drop_frame and cur.seconds == 0 and cur.minutes % 10 != 0:
        first = 2  # drop-frame skips numbers 0 and 1 of every minute but each tenth
    count = prev.frames + 1
    if cur.frames != first or count not in (24, 25, 30):
        return None
    if cur.drop_frame and count != 30:
        return None
    return count


class _Run:
    """Consecutive frames that follow each other; held until their rate is known."""

    def __init__(self, first: _Raw):
        self.frames = [first]
        self.count: int | None = None
        self.emitted = 0


class LtcDecoder:
    """Streaming LTC decoder for one channel at ``rate_hz``; see the module docstring."""

    def __init__(self, rate_hz: int):
        self.rate_hz = rate_hz
        self._min_period = rate_hz / _MAX_BIT_RATE
        self._max_period = rate_hz / _MIN_BIT_RATE
        self._offset = 0  # samples fed so far
        self._state = 0  # comparator: +1, -1, 0 unknown
        self._last_edge: float | None = None
        self._period: float | None = None  # bit period in samples
        self._calibration: list[tuple[float, float]] = []  # (start, length) of intervals
        self._half: int | None = None  # start of a 1 whose middle transition is awaited
        self._half_length = 0
        self._reg = 0
        self._valid_bits = 0  # consecutive bits decoded without an error
        self._starts: list[float] = []  # start of each recent bit, in (fractional) samples
        self._bits_since_sync: int | None = None
        self._last_raw: _Raw | None = None
        self._run: _Run | None = None
        self._out: list[LtcFrame] = []
        self._errors = 0

    # -- input ---------------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> list[LtcFrame]:
        """Decode one block (1-D; float at full scale 1.0, or integer PCM at its own full
        scale; the next block continues it)."""
        raw = np.asarray(samples).reshape(-1)
        x = raw.astype(np.float32)
        if raw.dtype.kind in "iu":  # PCM: full scale is the type's range
            x *= np.float32(1.0 / (1 << (8 * raw.dtype.itemsize - 1)))
        for start in range(0, len(x), _SUBBLOCK):
            self._edges(x[start : start + _SUBBLOCK], self._offset + start)
        self._offset += len(x)
        out, self._out = self._out, []
        return out

    def finish(self) -> list[LtcFrame]:
        """The frames still held back at the end of the input."""
        self._end_run()
        out, self._out = self._out, []
        return out

    def _edges(self, x: np.ndarray, base: int) -> None:
        n = len(x)
        if n == 0:
            return
        x = x - float(x.mean())
        peak = float(np.abs(x).max())
        if peak < _FLOOR:  # silence: nothing to compare
            return
        h = _HYSTERESIS * peak
        events = (x > h).astype(np.int8) - (x < -h).astype(np.int8)
        index = np.where(events != 0, np.arange(n), -1)
        last = np.maximum.accumulate(index)
        state = np.where(last >= 0, events[np.maximum(last, 0)], self._state)
        previous = np.empty_like(state)
        previous[0] = self._state
        previous[1:] = state[:-1]
        flips = np.flatnonzero((state != previous) & (previous != 0))
        self._state = int(state[-1])
        if len(flips) == 0:
            return
        flips = self._crossings(x, flips) + base
        if self._last_edge is not None:
            edges = np.concatenate(([self._last_edge], flips))
        else:
            edges = flips
        self._last_edge = float(flips[-1])
        if len(edges) > 1:
            self._intervals(edges[:-1], np.diff(edges))

    @staticmethod
    def _crossings(x: np.ndarray, flips: np.ndarray) -> np.ndarray:
        """Where each transition crosses the middle, to a fraction of a sample: the comparator
        flips once past the hysteresis, a rise time later (a frame's position is then exact)."""
        below = np.signbit(x)
        zero = np.flatnonzero(below[1:] != below[:-1])  # x changes sign between j and j + 1
        out = flips.astype(np.float64)
        if len(zero) == 0:
            return out
        k = np.searchsorted(zero, flips, side="right") - 1
        j = zero[np.maximum(k, 0)]
        near = (k >= 0) & (flips - j <= 8)
        a, b = x[j].astype(np.float64), x[j + 1].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = j + np.where(a != b, a / (a - b), 0.0)
        out[near] = at[near]
        return out

    def _intervals(self, starts: np.ndarray, lengths: np.ndarray) -> None:
        """Feed intervals between transitions; while no code is locked, stretches that cannot
        be LTC (intervals no bit rate gives: noise, music) are skipped without a Python loop:
        only a run of plausible intervals long enough for a first estimate (or one reaching
        the end of the block, to be continued) is looked at."""
        plausible = (lengths >= 0.3 * self._min_period) & (lengths <= 1.4 * self._max_period)
        n, i = len(lengths), 0
        starts_list, lengths_list = starts.tolist(), lengths.tolist()
        edges = np.diff(np.concatenate(([0], plausible.view(np.int8), [0])))
        run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        useful = (run_ends - run_starts >= _CALIBRATE) | (run_ends == n)
        useful_starts, useful_ends = run_starts[useful], run_ends[useful]
        while i < n:
            if self._period is not None:
                self._interval(starts_list[i], lengths_list[i])
                i += 1
                continue
            if plausible[i]:
                end = int(run_ends[np.searchsorted(run_ends, i, side="right")])
                if end - i < _CALIBRATE - len(self._calibration):  # too few yet: keep them
                    self._calibration.extend(
                        zip(starts_list[i:end], lengths_list[i:end], strict=True)
                    )
                    i = end
                    continue
                self._interval(starts_list[i], lengths_list[i])
                i += 1
                continue
            self._calibration.clear()
            k = int(np.searchsorted(useful_ends, i, side="right"))
            if k == len(useful_starts):
                return
            i = max(i, int(useful_starts[k]))

    # -- bits ----------------------------------------------------------------------------------
    def _interval(self, start: float, length: float) -> None:
        if self._period is None:
            self._calibration.append((start, length))
            if len(self._calibration) >= _CALIBRATE:
                self._calibrate()
            return
        ratio = length / self._period
        if 0.75 <= ratio <= 1.4:
            if self._half is not None:
                self._error()
                return
            self._bit(0, start)
            self._period += 0.1 * (length - self._period)
        elif 0.3 <= ratio < 0.75:
            if self._half is None:
                self._half, self._half_length = start, length
                return
            whole = self._half_length + length
            self._bit(1, self._half)
            self._half = None
            self._period += 0.1 * (whole - self._period)
        else:
            self._error()
            if ratio > 4 or self._errors > 16:  # the code stopped or changed: find it again
                self._period = None
                self._errors = 0

    def _calibrate(self) -> None:
        intervals = self._calibration
        lengths = np.array([length for _start, length in intervals], dtype=np.float64)
        period = float(np.percentile(lengths, 90))
        ok = self._min_period <= period <= self._max_period
        if ok:
            ratios = lengths / period
            fits = ((ratios >= 0.75) & (ratios <= 1.4)) | ((ratios >= 0.3) & (ratios < 0.75))
            ok = fits.mean() > 0.9
        if not ok:  # not LTC (yet): slide the window
            self._calibration = intervals[_CALIBRATE // 4 :]
            return
        self._period = period
        self._calibration = []
        self._errors = 0
        for start, length in intervals:
            if self._period is None:
                break
            self._interval(start, length)

    def _error(self) -> None:
        self._errors += 1
        self._half = None
        self._valid_bits = 0
        self._bits_since_sync = None

    def _bit(self, bit: int, start: float) -> None:
        self._errors = 0
        self._reg = (self._reg >> 1) | (bit << (FRAME_BITS - 1))
        self._starts.append(start)
        if len(self._starts) > 2 * FRAME_BITS:
            del self._starts[:FRAME_BITS]
        self._valid_bits += 1
        if self._bits_since_sync is not None:
            self._bits_since_sync += 1
        if self._valid_bits >= FRAME_BITS and (self._reg >> 64) == SYNC_WORD:
            contiguous = self._bits_since_sync == FRAME_BITS
            self._bits_since_sync = 0
            self._frame(self._starts[-FRAME_BITS], contiguous)

    # -- frames --------------------------------------------------------------------------------
    def _frame(self, position: float, contiguous: bool) -> None:
        fields = decode_bits(self._reg)
        previous = self._last_raw
        if fields is None:
            self._last_raw = None
            self._end_run()
            return
        h, m, s, f, df, ub = fields
        length = float(position - previous.position) if contiguous and previous else 0.0
        raw = _Raw(position, h, m, s, f, df, ub, length)  # position: fractional samples
        self._last_raw = raw
        run = self._run
        step = _follows(run.frames[-1], raw) if run is not None and contiguous else None
        if step is None or (step and run.count is not None and step != run.count):
            self._end_run()
            self._run = _Run(raw)
            return
        if run.count is not None and raw.frames >= run.count:
            self._end_run()
            self._run = _Run(raw)
            return
        run.frames.append(raw)
        if step:
            run.count = step
        if run.count is not None:
            self._emit(run, run.count)

    def _end_run(self) -> None:
        run, self._run = self._run, None
        if run is None or len(run.frames) < 2:  # an unconfirmed frame is never reported
            return
        count = run.count or self._guess_count(run)
        if count is not None:
            self._emit(run, count)

    def _guess_count(self, run: _Run) -> int | None:
        if run.frames[0].drop_frame:
            return 30
        highest = max(raw.frames for raw in run.frames)
        lengths = [raw.length for raw in run.frames[1:] if raw.length > 0]
        if not lengths:
            return None
        measured = self.rate_hz / float(np.median(lengths))
        candidates = [c for c in (24, 25, 30) if c > highest]
        return min(candidates, key=lambda c: abs(c - measured)) if candidates else None

    def _emit(self, run: _Run, count: int) -> None:
        rate = rate_for(count, run.frames[0].drop_frame)
        sep = ";" if rate.drop_frame else ":"
        for raw in run.frames[run.emitted :]:
            text = f"{raw.hours:02d}:{raw.minutes:02d}:{raw.seconds:02d}{sep}{raw.frames:02d}"
            try:
                number = to_frames(text, rate)
            except HeadblockError:  # a number the rate does not have: not a timecode
                continue
            position = int(np.floor(raw.position + 0.5))
            self._out.append(LtcFrame(position, text, rate, number, raw.user_bits))
        run.emitted = len(run.frames)
        # a run keeps only what the next frame needs; the rest is already out
        if len(run.frames) > 2:
            del run.frames[:-2]
            run.emitted = 2


def decode(samples: np.ndarray, rate_hz: int, block: int = 65536) -> list[LtcFrame]:
    """Every frame of one channel held in memory (fed in blocks, as a take would)."""
    decoder = LtcDecoder(rate_hz)
    frames: list[LtcFrame] = []
    for start in range(0, len(samples), block):
        frames += decoder.feed(samples[start : start + block])
    return frames + decoder.finish()
