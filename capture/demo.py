"""The demo deck: program-like tape playback, synthesised, with faults at known times.

``demo_program`` is a pure function of the sample position, so any block size gives the same
signal and the video demo source can reuse it for its audio. The program repeats exactly
every ``DEMO_CYCLE_S`` seconds: music-like notes with envelopes, speech-like formant bursts,
tape hiss, slight wow and flutter, and in each cycle the faults listed in ``DEMO_FAULTS``.
``ProgramLoop`` keeps the cycle once made, so a deck playing it costs almost no processor
after its first pass (making it costs about an eighth of a core at 96 kHz stereo).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

DEMO_CYCLE_S = 24.0
HISS_DBFS = -62.0
_NOISE_CHUNK = 4096  # noise is drawn per aligned chunk so it does not depend on block size
LOOP_CACHE_MAX_BYTES = 64 << 20  # a cycle larger than this (many channels) is not kept


@dataclass(frozen=True)
class DemoFault:
    kind: str  # audio: "dropout" | "click" | "clipping"; video: "dropout" | "black" | "freeze"
    start_s: float  # within each cycle
    end_s: float
    detail: str


# Times inside each cycle (add k * DEMO_CYCLE_S). The dropout is a tape dropout: everything
# off tape, hiss included, falls by 40 dB; the click is a one-sample spike on channel 1; the
# clipped passage is hard limited at full scale on every channel.
DEMO_FAULTS = (
    DemoFault("dropout", 4.0, 4.12, "level falls by 40 dB for 120 ms"),
    DemoFault("click", 9.5, 9.5 + 1e-4, "a one-sample spike of +0.9 on channel 1"),
    DemoFault("clipping", 15.0, 15.25, "hard clipping at full scale for 250 ms"),
)

# A slow chord progression: (start_s within the cycle, MIDI notes)
_CHORDS = (
    (0.0, (57, 60, 64)),
    (2.0, (53, 57, 60)),
    (4.5, (55, 59, 62)),
    (7.0, (52, 55, 59)),
    (9.0, (57, 61, 64)),
    (11.5, (50, 53, 57)),
    (14.0, (55, 59, 62, 65)),
    (16.5, (48, 52, 55)),
    (19.0, (53, 57, 60)),
    (21.5, (52, 56, 59)),
)
# Speech-like bursts: (start_s, end_s, f0_hz, vowel sequence)
_SPEECH = (
    (1.0, 2.6, 118.0, "aeo"),
    (5.2, 6.4, 125.0, "iau"),
    (10.3, 12.1, 112.0, "oaei"),
    (17.2, 18.6, 121.0, "uae"),
    (20.0, 21.0, 130.0, "ea"),
)
_FORMANTS = {  # (F1, F2, F3) Hz
    "a": (730, 1090, 2440),
    "e": (530, 1840, 2480),
    "i": (270, 2290, 3010),
    "o": (570, 840, 2410),
    "u": (300, 870, 2240),
}


def _wow_phase(t_s: np.ndarray) -> np.ndarray:
    """Time warp of a slightly uneven transport: 0.08 % wow at 0.5 Hz, 0.03 % flutter at 7 Hz
    (whole numbers of periods in a cycle, so the cycle joins without a step).

    Returns the warped time (the integral of 1 + depth * sin)."""
    wow = 0.0008 / (2 * np.pi * 0.5) * (1 - np.cos(2 * np.pi * 0.5 * t_s))
    flutter = 0.0003 / (2 * np.pi * 7.0) * (1 - np.cos(2 * np.pi * 7.0 * t_s))
    return t_s + wow + flutter


_NOTE_HARMONICS = {1: 1.0, 2: 0.35, 3: 0.18, 5: 0.06}


def _harmonics(x: np.ndarray, amps: dict[int, float]) -> np.ndarray:
    """sum amp * sin(h * x), the multiples by the recurrence sin((h+1)x) = 2 cos x sin(hx) -
    sin((h-1)x): two transcendental calls per note instead of one per harmonic."""
    summed = np.zeros_like(x)
    sin_prev, sin_h, twice_cos = np.zeros_like(x), np.sin(x), 2 * np.cos(x)
    for h in range(1, max(amps) + 1):
        if h in amps:
            summed += amps[h] * sin_h
        sin_prev, sin_h = sin_h, twice_cos * sin_h - sin_prev
    return summed


def _music(t_cycle: np.ndarray, t_warped: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t_cycle)
    starts = [chord[0] for chord in _CHORDS] + [DEMO_CYCLE_S]
    for i, (start, notes) in enumerate(_CHORDS):
        end = starts[i + 1]
        inside = (t_cycle >= start) & (t_cycle < end)
        if not inside.any():
            continue
        local = t_cycle[inside] - start
        # attack 40 ms, exponential decay, release over the last 150 ms
        envelope = np.minimum(local / 0.04, 1.0) * np.exp(-local * 0.6)
        envelope *= np.clip((end - t_cycle[inside]) / 0.15, 0.0, 1.0)
        t_warped_inside = t_warped[inside]
        summed = np.zeros_like(local)
        for note in notes:
            freq_hz = 440.0 * 2 ** ((note - 69) / 12)
            summed += _harmonics(2 * np.pi * freq_hz * t_warped_inside, _NOTE_HARMONICS)
        out[inside] = 0.11 * envelope * summed / len(notes)
    return out


def _speech(t_cycle: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t_cycle)
    for start, end, f0, vowels in _SPEECH:
        inside = (t_cycle >= start) & (t_cycle < end)
        if not inside.any():
            continue
        local = t_cycle[inside] - start
        duration_s = end - start
        syllable_s = duration_s / len(vowels)
        # syllable envelope: each vowel rises and falls
        phase = (local % syllable_s) / syllable_s
        envelope = np.sin(np.pi * phase) ** 2
        # slow pitch contour f0 * (1 + 0.08 sin(2 pi 0.7 t)), integrated in closed form
        phase_rad = (
            2
            * np.pi
            * f0
            * (local + 0.08 * (1 - np.cos(2 * np.pi * 0.7 * local)) / (2 * np.pi * 0.7))
        )
        vowel_at = np.minimum((local // syllable_s).astype(int), len(vowels) - 1)
        summed = np.zeros_like(local)
        sin_prev, sin_k, twice_cos = (
            np.zeros_like(phase_rad),
            np.sin(phase_rad),
            2 * np.cos(phase_rad),
        )
        for k in range(1, int(3600 / f0)):
            harmonic_hz = k * f0
            gains = np.zeros(len(vowels))
            for vowel_index, vowel in enumerate(vowels):
                gain = 0.0
                for formant_hz, bandwidth_hz in zip(
                    _FORMANTS[vowel], (90.0, 110.0, 170.0), strict=True
                ):
                    gain += 1.0 / (1.0 + ((harmonic_hz - formant_hz) / bandwidth_hz) ** 2)
                gains[vowel_index] = gain / k**0.3
            summed += gains[vowel_at] * sin_k
            sin_prev, sin_k = sin_k, twice_cos * sin_k - sin_prev  # sin((k+1) phase_rad)
        out[inside] = 0.05 * envelope * summed
    return out


def _hiss(seed: int, channel: int, start_frame: int, n_frames: int) -> np.ndarray:
    first = start_frame // _NOISE_CHUNK
    last = (start_frame + n_frames - 1) // _NOISE_CHUNK
    parts = []
    for chunk in range(first, last + 1):
        rng = np.random.default_rng((seed, channel, chunk))
        parts.append(rng.standard_normal(_NOISE_CHUNK))
    noise = np.concatenate(parts)
    offset = start_frame - first * _NOISE_CHUNK
    white = noise[offset : offset + n_frames]
    return white * 10 ** (HISS_DBFS / 20)


def demo_program(
    rate_hz: int, channels: int, start_frame: int, n_frames: int, seed: int = 0
) -> np.ndarray:
    """Frames ``start_frame .. start_frame + n_frames`` of the demo program, float32 in
    [-1, 1] shaped (n_frames, channels). Deterministic for a given seed; repeats exactly
    every cycle.
    """
    if n_frames <= 0:
        return np.zeros((0, channels), np.float32)
    cycle = cycle_frames(rate_hz)
    pos = start_frame % cycle
    if pos + n_frames > cycle:  # across the end of the cycle: both sides
        parts, done = [], 0
        while done < n_frames:
            offset = (start_frame + done) % cycle
            count = min(n_frames - done, cycle - offset)
            parts.append(_cycle_part(rate_hz, channels, offset, count, seed))
            done += count
        return np.concatenate(parts)
    return _cycle_part(rate_hz, channels, pos, n_frames, seed)


def cycle_frames(rate_hz: int) -> int:
    return int(round(DEMO_CYCLE_S * rate_hz))


def _cycle_part(rate_hz: int, channels: int, pos: int, n_frames: int, seed: int) -> np.ndarray:
    t_s = (pos + np.arange(n_frames, dtype=np.float64)) / rate_hz
    t_cycle = t_s
    t_warped = _wow_phase(t_s)
    music = _music(t_cycle, t_warped)
    speech = _speech(t_cycle)
    out = np.empty((n_frames, channels), np.float64)
    for channel in range(channels):
        # a little stereo spread: music panned slightly, speech centred
        pan = 1.0 + (0.12 if channel % 2 == 0 else -0.12)
        out[:, channel] = pan * music + speech + _hiss(seed, channel, pos, n_frames)
    _apply_faults(out, t_cycle, rate_hz)
    return out.astype(np.float32)


@functools.lru_cache(maxsize=4)
def program_loop(rate_hz: int, channels: int, seed: int = 0) -> ProgramLoop:
    """One shared loop per format: the monitor and the take of a deck reuse it."""
    return ProgramLoop(rate_hz, channels, seed)


class ProgramLoop:
    """The demo program of one rate, channel count and seed, made once a second of it is
    first asked for and kept (unless the cycle would pass ``LOOP_CACHE_MAX_BYTES``)."""

    def __init__(self, rate_hz: int, channels: int, seed: int = 0):
        self.rate_hz, self.channels, self.seed = int(rate_hz), int(channels), seed
        self.cycle = cycle_frames(self.rate_hz)
        self._keep = self.cycle * self.channels * 4 <= LOOP_CACHE_MAX_BYTES
        self._data = np.empty((self.cycle, self.channels), np.float32) if self._keep else None
        self._made = np.zeros(int(np.ceil(self.cycle / self.rate_hz)), bool)
        self._lock = threading.Lock()

    def block(self, start_frame: int, n_frames: int) -> np.ndarray:
        if not self._keep:
            return demo_program(self.rate_hz, self.channels, start_frame, n_frames, self.seed)
        out = np.empty((max(n_frames, 0), self.channels), np.float32)
        done = 0
        while done < n_frames:
            offset = (start_frame + done) % self.cycle
            count = min(n_frames - done, self.cycle - offset)
            self._make(offset, offset + count)
            out[done : done + count] = self._data[offset : offset + count]
            done += count
        return out

    def _make(self, start: int, end: int) -> None:
        rate = self.rate_hz
        for sec in range(start // rate, (end - 1) // rate + 1):
            if self._made[sec]:
                continue
            with self._lock:
                if not self._made[sec]:
                    first, stop = sec * rate, min((sec + 1) * rate, self.cycle)
                    self._data[first:stop] = _cycle_part(
                        rate, self.channels, first, stop - first, self.seed
                    )
                    self._made[sec] = True


def _apply_faults(out: np.ndarray, t_cycle: np.ndarray, rate_hz: int) -> None:
    for fault in DEMO_FAULTS:
        if fault.kind == "dropout":
            # 5 ms ramps into and out of the dropout, as the tape leaves and meets the head
            ramp = 0.005
            depth = 1 - 10 ** (-40 / 20)
            ramp_pos = np.minimum((t_cycle - fault.start_s) / ramp, (fault.end_s - t_cycle) / ramp)
            weight = np.clip(ramp_pos, 0.0, 1.0)
            if weight.any():
                out *= (1 - depth * weight)[:, None]
        elif fault.kind == "click":
            click_frame = int(round(fault.start_s * rate_hz))
            pos = np.rint(t_cycle * rate_hz).astype(np.int64)
            hit = pos == click_frame
            if hit.any():
                out[hit, 0] = 0.9
        elif fault.kind == "clipping":
            inside = (t_cycle >= fault.start_s) & (t_cycle < fault.end_s)
            if inside.any():
                out[inside] = np.clip(out[inside] * 30.0, -1.0, 1.0)  # +30 dB overload
