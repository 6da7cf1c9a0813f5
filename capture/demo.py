"""The demo deck: program-like tape playback, synthesised, with faults at known times.

``demo_program`` is a pure function of the sample position, so any block size gives the same
signal and the video demo source can reuse it for its audio. The program repeats every
``DEMO_CYCLE_S`` seconds: music-like notes with envelopes, speech-like formant bursts, tape
hiss, slight wow and flutter, and in each cycle the faults listed in ``DEMO_FAULTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEMO_CYCLE_S = 24.0
HISS_DBFS = -62.0
_NOISE_CHUNK = 4096  # noise is drawn per aligned chunk so it does not depend on block size


@dataclass(frozen=True)
class DemoFault:
    kind: str  # "dropout" | "click" | "clipping"
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


def _wow_phase(t: np.ndarray) -> np.ndarray:
    """Time warp of a slightly uneven transport: 0.08 % wow at 0.55 Hz, 0.03 % flutter at 7 Hz.

    Returns the warped time (the integral of 1 + depth * sin)."""
    wow = 0.0008 / (2 * np.pi * 0.55) * (1 - np.cos(2 * np.pi * 0.55 * t))
    flutter = 0.0003 / (2 * np.pi * 7.0) * (1 - np.cos(2 * np.pi * 7.0 * t))
    return t + wow + flutter


def _music(tc: np.ndarray, tw: np.ndarray) -> np.ndarray:
    out = np.zeros_like(tc)
    starts = [c[0] for c in _CHORDS] + [DEMO_CYCLE_S]
    for i, (start, notes) in enumerate(_CHORDS):
        end = starts[i + 1]
        m = (tc >= start) & (tc < end)
        if not m.any():
            continue
        local = tc[m] - start
        # attack 40 ms, exponential decay, release over the last 150 ms
        env = np.minimum(local / 0.04, 1.0) * np.exp(-local * 0.6)
        env *= np.clip((end - tc[m]) / 0.15, 0.0, 1.0)
        tw_m = tw[m]
        acc = np.zeros_like(local)
        for note in notes:
            f = 440.0 * 2 ** ((note - 69) / 12)
            for h, amp in ((1, 1.0), (2, 0.35), (3, 0.18), (5, 0.06)):
                acc += amp * np.sin(2 * np.pi * f * h * tw_m)
        out[m] = 0.11 * env * acc / len(notes)
    return out


def _speech(tc: np.ndarray) -> np.ndarray:
    out = np.zeros_like(tc)
    for start, end, f0, vowels in _SPEECH:
        m = (tc >= start) & (tc < end)
        if not m.any():
            continue
        local = tc[m] - start
        dur = end - start
        seg = dur / len(vowels)
        # syllable envelope: each vowel rises and falls
        phase = (local % seg) / seg
        env = np.sin(np.pi * phase) ** 2
        # slow pitch contour f0 * (1 + 0.08 sin(2 pi 0.7 t)), integrated in closed form
        ph = (
            2
            * np.pi
            * f0
            * (local + 0.08 * (1 - np.cos(2 * np.pi * 0.7 * local)) / (2 * np.pi * 0.7))
        )
        idx = np.minimum((local // seg).astype(int), len(vowels) - 1)
        acc = np.zeros_like(local)
        for k in range(1, int(3600 / f0)):
            fk = k * f0
            gains = np.zeros(len(vowels))
            for vi, v in enumerate(vowels):
                g = 0.0
                for fm, bw in zip(_FORMANTS[v], (90.0, 110.0, 170.0), strict=True):
                    g += 1.0 / (1.0 + ((fk - fm) / bw) ** 2)
                gains[vi] = g / k**0.3
            acc += gains[idx] * np.sin(k * ph)
        out[m] = 0.05 * env * acc
    return out


def _hiss(seed: int, channel: int, start_frame: int, n_frames: int) -> np.ndarray:
    first = start_frame // _NOISE_CHUNK
    last = (start_frame + n_frames - 1) // _NOISE_CHUNK
    parts = []
    for chunk in range(first, last + 1):
        rng = np.random.default_rng((seed, channel, chunk))
        parts.append(rng.standard_normal(_NOISE_CHUNK))
    noise = np.concatenate(parts)
    off = start_frame - first * _NOISE_CHUNK
    white = noise[off : off + n_frames]
    return white * 10 ** (HISS_DBFS / 20)


def demo_program(
    rate_hz: int, channels: int, start_frame: int, n_frames: int, seed: int = 0
) -> np.ndarray:
    """Frames ``start_frame .. start_frame + n_frames`` of the demo program, float32 in
    [-1, 1] shaped (n_frames, channels). Deterministic for a given seed.
    """
    if n_frames <= 0:
        return np.zeros((0, channels), np.float32)
    t = (start_frame + np.arange(n_frames, dtype=np.float64)) / rate_hz
    tc = np.mod(t, DEMO_CYCLE_S)
    tw = _wow_phase(t)
    music = _music(tc, tw)
    speech = _speech(tc)
    out = np.empty((n_frames, channels), np.float64)
    for ch in range(channels):
        # a little stereo spread: music panned slightly, speech centred
        pan = 1.0 + (0.12 if ch % 2 == 0 else -0.12)
        out[:, ch] = pan * music + speech + _hiss(seed, ch, start_frame, n_frames)
    _apply_faults(out, tc, rate_hz)
    return out.astype(np.float32)


def _apply_faults(out: np.ndarray, tc: np.ndarray, rate_hz: int) -> None:
    for fault in DEMO_FAULTS:
        if fault.kind == "dropout":
            # 5 ms ramps into and out of the dropout, as the tape leaves and meets the head
            ramp = 0.005
            depth = 1 - 10 ** (-40 / 20)
            x = np.minimum((tc - fault.start_s) / ramp, (fault.end_s - tc) / ramp)
            w = np.clip(x, 0.0, 1.0)
            if w.any():
                out *= (1 - depth * w)[:, None]
        elif fault.kind == "click":
            k = int(round(fault.start_s * rate_hz))
            pos = np.rint(tc * rate_hz).astype(np.int64)
            hit = pos == k
            if hit.any():
                out[hit, 0] = 0.9
        elif fault.kind == "clipping":
            m = (tc >= fault.start_s) & (tc < fault.end_s)
            if m.any():
                out[m] = np.clip(out[m] * 30.0, -1.0, 1.0)  # +30 dB overload
