"""Pure measures over audio blocks: the same code drives the live meters and the offline QC.

Input blocks are numpy arrays shaped ``(frames, channels)``, float32 in [-1, 1) (full scale
is 1.0). Linear amplitudes are returned as they are; the ``*_dbfs`` functions convert with
``dbfs`` and floor digital silence at ``DBFS_FLOOR`` so results stay finite (JSON has no -inf).
Block-wise functions reduce each channel over consecutive blocks of ``block_frames`` and
return arrays shaped ``(n_blocks, channels)``; they make each chunk channel-major contiguous
first, which is several times faster than reducing over the interleaved layout.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DBFS_FLOOR = -150.0  # below the 24-bit LSB (-144.5 dBFS): "digital silence"
CLIP_LEVEL_DBFS = -0.01  # vrecord's clipping threshold
LUFS_FLOOR = -120.0


def dbfs(amplitude) -> np.ndarray:
    """20·log10 of a linear amplitude (1.0 = 0 dBFS), floored at DBFS_FLOOR."""
    a = np.asarray(amplitude, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.maximum(20.0 * np.log10(np.abs(a)), DBFS_FLOOR)


def power_db(mean_square) -> np.ndarray:
    """10·log10 of a mean square (RMS² of a full-scale-1.0 signal), floored at DBFS_FLOOR."""
    p = np.asarray(mean_square, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(p), DBFS_FLOOR)


def amplitude(db) -> float | np.ndarray:
    """Inverse of ``dbfs``: linear amplitude of a level in dBFS."""
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 20.0)


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise ValueError(f"expected (frames, channels), got shape {x.shape}")
    return x


def channel_major(x: np.ndarray) -> np.ndarray:
    """(channels, frames) contiguous float32 copy of a (frames, channels) block."""
    return np.ascontiguousarray(_as_2d(x).T, dtype=np.float32)


def _per_channel(x: np.ndarray, reduce) -> np.ndarray:
    """``reduce`` of (frames, channels) samples over frames; zeros for no samples."""
    x = _as_2d(x)
    if x.shape[0] == 0:
        return np.zeros(x.shape[1])
    return reduce(x)


def peak(x: np.ndarray) -> np.ndarray:
    """Sample peak per channel (linear)."""
    return _per_channel(x, lambda a: np.maximum(a.max(axis=0), -a.min(axis=0)).astype(np.float64))


def peak_dbfs(x: np.ndarray) -> np.ndarray:
    """Sample peak per channel in dBFS."""
    return dbfs(peak(x))


def rms(x: np.ndarray) -> np.ndarray:
    """RMS per channel (linear)."""
    xc = channel_major(x)
    if xc.shape[1] == 0:
        return np.zeros(xc.shape[0])
    return np.sqrt(np.einsum("cf,cf->c", xc, xc, dtype=np.float64) / xc.shape[1])


def rms_dbfs(x: np.ndarray) -> np.ndarray:
    """RMS per channel in dBFS (a full-scale sine reads -3.01 dBFS)."""
    return dbfs(rms(x))


def dc_offset(x: np.ndarray) -> np.ndarray:
    """Mean per channel (linear, fraction of full scale)."""
    return _per_channel(x, lambda a: a.mean(axis=0, dtype=np.float64))


class BlockStats(NamedTuple):
    """Per block and channel, each shaped (n_blocks, channels); the last block may be partial."""

    peak: np.ndarray  # linear sample peak
    rms: np.ndarray  # linear RMS
    clip_count: np.ndarray  # samples with |x| >= clip level
    dc: np.ndarray  # mean (linear)


def _blocks(xc: np.ndarray, block_frames: int):
    """Whole blocks as a (channels, n, block_frames) view and the partial tail (channels, r)."""
    n_whole = xc.shape[1] // block_frames
    whole = xc[:, : n_whole * block_frames].reshape(xc.shape[0], n_whole, block_frames)
    return whole, xc[:, n_whole * block_frames :]


def block_sumsq(xc: np.ndarray, block_frames: int) -> np.ndarray:
    """Sum of squares per block of a channel-major array: (n_blocks, channels), float64."""
    whole, tail = _blocks(xc, block_frames)
    # float32 accumulation is 3x faster and exact enough for blocks of up to ~10^4 samples
    out = np.einsum("cbf,cbf->bc", whole, whole).astype(np.float64)
    if tail.shape[1]:
        out = np.vstack([out, np.einsum("cf,cf->c", tail, tail).astype(np.float64)[None, :]])
    return out


def block_stats_cm(
    xc: np.ndarray,
    block_frames: int,
    clip_level: float = amplitude(CLIP_LEVEL_DBFS),
    sumsq: np.ndarray | None = None,
) -> BlockStats:
    """``block_stats`` of a channel-major (channels, frames) float32 array.

    ``sumsq`` (n_blocks, channels), when the caller has the sums of squares already, saves a pass.
    """
    channels, n = xc.shape
    whole, tail = _blocks(xc, block_frames)
    parts = [(whole, block_frames)]
    if tail.shape[1]:
        parts.append((tail[:, None, :], tail.shape[1]))
    peaks, rmss, clips, dcs = [], [], [], []
    for blk, size in parts:
        if blk.shape[1] == 0:
            continue
        pk = np.maximum(blk.max(axis=2), -blk.min(axis=2)) + 0.0  # no -0.0
        if sumsq is not None:
            ss = (sumsq[: blk.shape[1]] if size == block_frames else sumsq[-1:]).T
        else:
            ss = np.einsum("cbf,cbf->cb", blk, blk, dtype=np.float64)
        dc = blk.sum(axis=2, dtype=np.float64) / size
        cc = np.zeros(pk.shape, dtype=np.int32)
        hot = pk >= clip_level  # only count where a block reaches the clip level
        if hot.any():
            ci, bi = np.nonzero(hot)
            sel = blk[ci, bi]
            cc[ci, bi] = np.count_nonzero(np.abs(sel) >= clip_level, axis=1)
        peaks.append(pk.T)
        rmss.append(np.sqrt(ss / size).T)
        clips.append(cc.T)
        dcs.append(dc.T)
    if not peaks:
        z = np.zeros((0, channels))
        return BlockStats(z, z, z.astype(np.int32), z)
    return BlockStats(
        np.vstack(peaks).astype(np.float64),
        np.vstack(rmss),
        np.vstack(clips),
        np.vstack(dcs),
    )


def block_stats(
    x: np.ndarray, block_frames: int, clip_level: float = amplitude(CLIP_LEVEL_DBFS)
) -> BlockStats:
    """Peak, RMS, clipped-sample count and DC per block of ``block_frames`` per channel."""
    return block_stats_cm(channel_major(x), block_frames, clip_level)


def correlation(x: np.ndarray) -> float:
    """Phase correlation of the first two channels in [-1, 1] (as a correlation meter shows).

    +1 mono-compatible, 0 unrelated, -1 one channel inverted. Silence or a single
    channel reads 0 (aphasemeter's convention for silence is also 0).
    """
    x = _as_2d(x)
    if x.shape[1] < 2 or x.shape[0] == 0:
        return 0.0
    left = x[:, 0].astype(np.float64)
    right = x[:, 1].astype(np.float64)
    return _corr(float(left @ right), float(left @ left), float(right @ right))


def _corr(lr: float, ll: float, rr: float) -> float:
    den = math.sqrt(ll * rr)
    return lr / den if den > 1e-20 else 0.0


def block_cross_cm(xc: np.ndarray, block_frames: int) -> np.ndarray:
    """Sum of L·R per block of a channel-major array (first two channels): (n_blocks,)."""
    whole, tail = _blocks(xc[:2], block_frames)
    out = np.einsum("bf,bf->b", whole[0], whole[1]).astype(np.float64)
    if tail.shape[1]:
        out = np.append(out, float(np.dot(tail[0].astype(np.float64), tail[1])))
    return out


def correlation_from_sums(lr, ll, rr) -> np.ndarray:
    """Correlation from summed products (aggregate blocks first for longer windows)."""
    lr, ll, rr = (np.asarray(v, dtype=np.float64) for v in (lr, ll, rr))
    den = np.sqrt(ll * rr)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 1e-20, lr / np.where(den > 0, den, 1.0), 0.0)


# --- True peak (ITU-R BS.1770 annex 2): oversample to at least 192 kHz, take the peak ---


def true_peak_oversampling(rate_hz: int) -> int:
    """Oversampling factor that brings the rate to at least 192 kHz (4× at 48 kHz, 2× at 96 kHz)."""
    return max(1, math.ceil(192000 / rate_hz))


def true_peak(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """True peak per channel (linear) by polyphase oversampling (scipy.signal.resample_poly)."""
    xc = channel_major(x)
    if xc.shape[1] == 0:
        return np.zeros(xc.shape[0])
    import scipy.signal  # the reference path only: scipy.signal costs ~1 s of CPU to import

    factor = true_peak_oversampling(rate_hz)
    sample_peak = np.abs(xc).max(axis=1).astype(np.float64)
    if factor == 1:
        return sample_peak
    up = scipy.signal.resample_poly(xc, factor, 1, axis=1)
    return np.maximum(np.abs(up).max(axis=1), sample_peak)


_POLYPHASE: dict[int, np.ndarray] = {}


def _polyphase(factor: int, taps_per_phase: int = 16) -> np.ndarray:
    """(factor - 1, taps) interpolating phases of a windowed-sinc low-pass (phase 0 is the input)."""
    if factor not in _POLYPHASE:
        n = taps_per_phase * factor + 1
        # windowed-sinc low-pass at the original Nyquist (as scipy.signal.firwin designs it)
        k = np.arange(n) - (n - 1) / 2
        h = np.sinc(k / factor) * np.kaiser(n, 6.0)
        h *= factor / h.sum()
        centre = n // 2
        phases = []
        for k in range(1, factor):
            # output at centre + k (fraction k/factor between two input samples)
            ph = h[(centre + k) % factor :: factor]
            phases.append(ph[::-1])
        width = max(len(p) for p in phases)
        _POLYPHASE[factor] = np.array(
            [np.pad(p, (0, width - len(p))) for p in phases], dtype=np.float32
        )
    return _POLYPHASE[factor]


def interpolated_peak(seg: np.ndarray, factor: int) -> float:
    """Peak of the in-between samples of a 1-D segment oversampled by ``factor`` (edges excluded)."""
    if factor <= 1 or seg.size < 40:
        return float(np.abs(seg).max()) if seg.size else 0.0
    best = 0.0
    for ph in _polyphase(factor):
        y = np.convolve(seg, ph, mode="valid")
        if y.size:
            best = max(best, float(np.abs(y).max()))
    return best


def true_peak_dbtp(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """True peak per channel in dBTP."""
    return dbfs(true_peak(x, rate_hz))


# --- Loudness (ITU-R BS.1770-4 / EBU R 128), streamed over 100 ms sub-blocks ---

_CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs (as pyloudnorm)


def _rbj_biquad(kind: str, gain_db: float, q: float, fc_hz: float, rate_hz: float) -> np.ndarray:
    a_ = 10 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * fc_hz / rate_hz
    alpha = math.sin(w0) / (2.0 * q)
    cw = math.cos(w0)
    if kind == "high_shelf":
        sa = 2 * math.sqrt(a_) * alpha
        b = [
            a_ * ((a_ + 1) + (a_ - 1) * cw + sa),
            -2 * a_ * ((a_ - 1) + (a_ + 1) * cw),
            a_ * ((a_ + 1) + (a_ - 1) * cw - sa),
        ]
        a = [
            (a_ + 1) - (a_ - 1) * cw + sa,
            2 * ((a_ - 1) - (a_ + 1) * cw),
            (a_ + 1) - (a_ - 1) * cw - sa,
        ]
    else:  # high_pass
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    return np.array(b + a) / a[0]


def k_weighting_sos(rate_hz: float) -> np.ndarray:
    """K-weighting as two second-order sections, designed as pyloudnorm designs them."""
    return np.vstack(
        [
            _rbj_biquad("high_shelf", 4.0, 1 / math.sqrt(2), 1500.0, rate_hz),
            _rbj_biquad("high_pass", 0.0, 0.5, 38.0, rate_hz),
        ]
    )


def _load_sosfilt():
    """scipy's compiled second-order-section filter, loaded without importing scipy.signal
    (whose import pulls in scipy.stats: ~1 s of CPU on every ``headblock qc``)."""
    try:
        import importlib.util
        from pathlib import Path

        import scipy

        so = next((Path(scipy.__file__).parent / "signal").glob("_sosfilt.*"))
        spec = importlib.util.spec_from_file_location("scipy.signal._sosfilt", so)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        kernel = mod._sosfilt

        def run(sos, x, zi):  # x (signals, n) and zi (signals, sections, 2), C order, in place
            kernel(sos, x, zi)

        probe = np.ones((1, 8), np.float32)
        run(np.array([[1, 0, 0, 1, 0, 0]], np.float32), probe, np.zeros((1, 1, 2), np.float32))
        if not np.allclose(probe, 1.0):
            raise RuntimeError("unexpected kernel")
        return run
    except Exception:
        return scipy_sosfilt_inplace


def scipy_sosfilt_inplace(sos, x, zi) -> None:
    """The same through scipy.signal's public ``sosfilt`` (the fallback)."""
    import scipy.signal

    y, zf = scipy.signal.sosfilt(sos, x, axis=1, zi=np.moveaxis(zi, 0, 1))
    x[...] = y
    zi[...] = np.moveaxis(zf, 1, 0)


_sosfilt_inplace = _load_sosfilt()


class KWeightedPower:
    """Streams K-weighted mean squares per 100 ms sub-block per channel.

    Feed channel-major float32 chunks in order with ``feed``; ``subblocks()`` returns the
    (n, channels) mean squares of every complete 100 ms sub-block so far. Memory grows by
    one row per 100 ms (a two-hour take: 72 000 rows).
    """

    def __init__(self, rate_hz: int, channels: int):
        self.rate_hz = rate_hz
        self.channels = channels
        self.sub_frames = int(round(rate_hz / 10))
        self._sos = k_weighting_sos(rate_hz).astype(np.float32)
        self._zi = np.zeros((channels, self._sos.shape[0], 2), dtype=np.float32)
        self._rest = np.zeros((channels, 0), dtype=np.float32)
        self._rows: list[np.ndarray] = []

    def feed(self, xc: np.ndarray) -> None:
        y = np.array(xc, dtype=np.float32, order="C")  # filtered in place: the caller keeps xc
        _sosfilt_inplace(self._sos, y, self._zi)
        if self._rest.shape[1]:
            y = np.concatenate([self._rest, y], axis=1)
        n = y.shape[1] // self.sub_frames * self.sub_frames
        if n:
            self._rows.append(block_sumsq(y[:, :n], self.sub_frames) / self.sub_frames)
        self._rest = y[:, n:].copy()

    def subblocks(self) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, self.channels))
        if len(self._rows) > 1:
            self._rows = [np.vstack(self._rows)]
        return self._rows[0]


def _weighted(z: np.ndarray) -> np.ndarray:
    gains = np.array(
        [_CHANNEL_GAINS[i] if i < len(_CHANNEL_GAINS) else 1.0 for i in range(z.shape[1])]
    )
    return z @ gains


def _lufs(power) -> np.ndarray:
    p = np.asarray(power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.maximum(-0.691 + 10.0 * np.log10(p), LUFS_FLOOR)


def windowed_power(sub: np.ndarray, n_sub: int) -> np.ndarray:
    """Channel-weighted power of windows of ``n_sub`` sub-blocks, one per sub-block step."""
    weighted = _weighted(sub)
    if len(weighted) < n_sub:
        return np.zeros(0)
    running = np.concatenate([[0.0], np.cumsum(weighted)])
    return (running[n_sub:] - running[:-n_sub]) / n_sub


def integrated_loudness_lufs(sub: np.ndarray) -> float:
    """Gated integrated loudness (BS.1770-4) from 100 ms K-weighted mean squares."""
    power = windowed_power(sub, 4)  # 400 ms blocks, 75 % overlap
    if power.size == 0:
        return LUFS_FLOOR
    block_lufs = _lufs(power)
    gated = power[block_lufs >= -70.0]
    if gated.size == 0:
        return LUFS_FLOOR
    relative_gate = _lufs(gated.mean()) - 10.0
    final = power[(block_lufs > relative_gate) & (block_lufs > -70.0)]
    return float(_lufs(final.mean())) if final.size else LUFS_FLOOR


def loudness_range_lu(sub: np.ndarray) -> float:
    """Loudness range (EBU Tech 3342) from 100 ms K-weighted mean squares: 3 s windows at 10 Hz."""
    # as pyloudnorm: 1.5 s of silence after the signal
    pad = np.zeros((15, sub.shape[1])) if sub.ndim == 2 else np.zeros((15, 1))
    power = windowed_power(np.vstack([sub, pad]), 30)
    if power.size == 0:
        return 0.0
    short_term = _lufs(power)
    short_term = short_term[short_term >= -70.0]
    if short_term.size == 0:
        return 0.0
    integrated = 10 * np.log10(np.mean(10 ** (short_term / 10)))
    short_term = short_term[short_term >= integrated - 20.0]
    if short_term.size == 0:
        return 0.0
    return float(np.percentile(short_term, 95) - np.percentile(short_term, 10))


def short_term_lufs(sub: np.ndarray) -> np.ndarray:
    """Short-term loudness (3 s) per 100 ms step; for the meters and plots."""
    return _lufs(windowed_power(sub, 30))


def momentary_lufs(sub: np.ndarray) -> np.ndarray:
    """Momentary loudness (400 ms) per 100 ms step."""
    return _lufs(windowed_power(sub, 4))
