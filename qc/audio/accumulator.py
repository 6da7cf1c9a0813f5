"""The streaming part of audio QC: one pass over channel-major chunks keeps what the detectors
need, so memory stays flat in file length.

Kept between chunks: per 10 ms block the peak, RMS, DC and cross-channel sums (the envelope,
DC, phase, imbalance, silence); per ~1 ms the level (the dropout edges: float16, ~7 MB per
channel-hour); the K-weighted power per 100 ms (loudness); the mains spectrum per hum window;
and the clips, clicks and held samples found in each chunk. ``findings`` hands it all over as
an ``AudioFindings``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qc import measures
from qc.audio.hum import mains_prominence
from qc.audio.reading import BLOCK_S, CHUNK_BLOCKS, block_frames_for
from qc.profiles import Profile
from qc.result import EventMerger, QCEvent
from qc.series import running_median, true_runs


def _sub_divisor(block_frames: int) -> int:
    return max(d for d in range(1, 11) if block_frames % d == 0)


@dataclass
class AudioFindings:
    """What one pass over the audio kept; the detectors of ``qc.table`` read it."""

    rate_hz: int
    channels: int
    offset_s: float  # time of the first sample in the file (embedded audio may start late)
    block_frames: int  # samples per 10 ms block
    sub_frames: int  # samples per ~1 ms sub-block
    frames: int
    thresholds: dict[str, dict]  # check id -> the profile's thresholds
    peak: np.ndarray  # (blocks, channels) linear
    rms: np.ndarray  # (blocks, channels) linear
    dc: np.ndarray  # (blocks, channels) mean
    cross: np.ndarray  # (blocks,) sum of channel 1 x channel 2
    sub_db: np.ndarray  # (sub-blocks, channels) ~1 ms RMS in dB, float16
    clip_level: float
    clip_samples: np.ndarray  # per channel
    clips: EventMerger
    clicks: EventMerger
    click_count: int
    holds: list[tuple[int, int, int, float]]  # (start, end, channel, value) in frames
    hum_windows: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]
    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: np.ndarray  # per channel
    log_path: Path | None = None
    stats: dict = field(default_factory=dict)  # detectors may add statistics of their own
    found: dict[str, list[QCEvent]] = field(default_factory=dict)  # events of earlier detectors

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate_hz

    @property
    def rms_db(self) -> np.ndarray:
        return measures.dbfs(self.rms)

    def time_of(self, frame: float) -> float:
        """Seconds in the file of a sample index."""
        return self.offset_s + frame / self.rate_hz

    def block_time(self, block: float) -> float:
        """Seconds in the file of a 10 ms block index."""
        return self.offset_s + block * self.block_frames / self.rate_hz


class AudioAccumulator:
    """Takes consecutive channel-major chunks (``feed``); ``findings`` ends the pass."""

    def __init__(self, rate_hz: int, channels: int, profile: Profile, offset_s: float = 0.0):
        self.rate_hz = rate_hz
        self.channels = channels
        self.profile = profile
        self.offset_s = offset_s
        self.block_frames = block_frames_for(rate_hz)
        self.sub_frames = self.block_frames // _sub_divisor(self.block_frames)  # ~1 ms
        self.frames = 0
        self.thresholds = {cid: profile.thresholds(cid) for cid in profile.checks}
        clip_t = self.thresholds["clipping"]
        self.clip_level = float(measures.amplitude(clip_t["level_dbfs"]))
        # per 10 ms block
        self._peak: list[np.ndarray] = []
        self._rms: list[np.ndarray] = []
        self._dc: list[np.ndarray] = []
        self._cross: list[np.ndarray] = []
        self._sub_db: list[np.ndarray] = []  # ~1 ms RMS in dB, float16
        self._clip_samples = np.zeros(channels, dtype=np.int64)
        self._last = None  # last sample and last first difference, for continuity
        self._last_d1 = None
        self._holds: list[tuple[int, int, int, float]] = []  # (start, end, channel, value)
        self.clips = EventMerger("clipping", clip_t["merge_gap_s"])
        self.clicks = EventMerger("click", self.thresholds["click"]["merge_gap_s"])
        self._click_count = 0
        self.loudness = measures.KWeightedPower(rate_hz, channels)
        self._true_peak_lin = np.zeros(channels)
        self._tp_factor = measures.true_peak_oversampling(rate_hz)
        # how far an inter-sample peak can rise above its samples (a 20 kHz sine), at most 6 dB
        self._tp_margin = min(2.0, 1.0 / math.cos(math.pi * min(20000.0, 0.45 * rate_hz) / rate_hz))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qc-loudness")
        self._pending = None
        # hum: boxcar-decimated copy towards ~12 kHz, analysed in windows
        self._hum_q = max(1, rate_hz // 12000)
        while self.block_frames * CHUNK_BLOCKS % self._hum_q:
            self._hum_q -= 1
        self._hum_rate = rate_hz / self._hum_q
        self._hum_buf = np.zeros((channels, 0), dtype=np.float32)
        self._hum_taper = None
        self._hum_windows: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []

    def feed(self, xc: np.ndarray) -> None:
        xc = np.ascontiguousarray(xc, dtype=np.float32)
        n = xc.shape[1]
        if n == 0:
            return
        start = self.frames
        if self._pending is not None:  # loudness/true peak of the previous chunk
            self._pending.result()
        sub = measures.block_sumsq(xc, self.sub_frames)
        counts = np.full(sub.shape[0], self.sub_frames, dtype=np.float64)
        if n % self.sub_frames:
            counts[-1] = n % self.sub_frames
        self._sub_db.append(measures.power_db(sub / counts[:, None]).astype(np.float16))
        per_block = self.block_frames // self.sub_frames
        nb_whole = n // self.block_frames
        ss10 = sub[: nb_whole * per_block].reshape(nb_whole, per_block, sub.shape[1]).sum(axis=1)
        if n % self.block_frames:
            ss10 = np.vstack([ss10, sub[nb_whole * per_block :].sum(axis=0, keepdims=True)])
        blocks = measures.block_stats_cm(xc, self.block_frames, self.clip_level, sumsq=ss10)
        self._peak.append(blocks.peak.astype(np.float32))
        self._rms.append(blocks.rms.astype(np.float32))
        self._dc.append(blocks.dc.astype(np.float32))
        # K-weighted loudness and true peak run on the other core meanwhile
        self._pending = self._pool.submit(self._loudness_and_true_peak, xc, blocks.peak)
        if self.channels >= 2:
            self._cross.append(measures.block_cross_cm(xc, self.block_frames).astype(np.float64))

        if self._last is None:
            self._last = xc[:, :1].copy()
            self._last_d1 = np.zeros((self.channels, 1), dtype=np.float32)
        d1 = np.empty_like(xc)
        np.subtract(xc[:, 1:], xc[:, :-1], out=d1[:, 1:])
        np.subtract(xc[:, :1], self._last, out=d1[:, :1])
        d2 = np.empty_like(xc)
        np.subtract(d1[:, 1:], d1[:, :-1], out=d2[:, 1:])
        np.subtract(d1[:, :1], self._last_d1, out=d2[:, :1])
        self._last = xc[:, -1:].copy()
        self._last_d1 = d1[:, -1:].copy()

        self._find_clips(xc, blocks, start)
        self._find_holds(xc, d1, start)
        self._find_clicks(d2, start)
        self._hum_feed(xc)
        self.frames += n

    def _loudness_and_true_peak(self, xc, block_peak) -> None:
        self.loudness.feed(xc)
        self._true_peak(xc, block_peak)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        self._pool.shutdown(wait=True)

    def _time_of(self, frame: float) -> float:
        return self.offset_s + frame / self.rate_hz

    def _find_clips(self, xc, blocks, start) -> None:
        thresholds = self.thresholds["clipping"]
        min_run = max(1, int(thresholds["min_run_samples"]))
        fail_run = int(thresholds["fail_run_samples"])
        self._clip_samples += blocks.clip_count.sum(axis=0)
        for c in range(self.channels):
            hot = blocks.clip_count[:, c] > 0
            if not hot.any():
                continue
            b0, b1 = true_runs(hot)
            for a, b in zip(b0, b1, strict=True):
                lo, hi = a * self.block_frames, min(b * self.block_frames, xc.shape[1])
                seg = np.abs(xc[c, lo:hi]) >= self.clip_level
                r0, r1 = true_runs(seg)
                lengths = r1 - r0
                for s, ln in zip(r0[lengths >= min_run], lengths[lengths >= min_run], strict=True):
                    sev = "fail" if ln >= fail_run else "warn"
                    f0 = start + lo + s
                    self.clips.add(
                        self._time_of(f0),
                        self._time_of(f0 + ln),
                        c + 1,
                        sev,
                        float(ln),
                        f"{ln} consecutive samples at or above {thresholds['level_dbfs']} dBFS",
                    )

    def _find_holds(self, xc, d1, start) -> None:
        hold_min = max(
            2, int(round(self.thresholds["dropout"]["hold_min_ms"] / 1000 * self.rate_hz))
        )
        h = max(1, hold_min // 2)
        n = d1.shape[1]
        nb = n // h
        if nb == 0:
            return
        energy = np.einsum(
            "cbf,cbf->cb",
            d1[:, : nb * h].reshape(self.channels, nb, h),
            d1[:, : nb * h].reshape(self.channels, nb, h),
        )
        for c in range(self.channels):
            zero = energy[c] == 0
            if not zero.any():
                continue
            b0, b1 = true_runs(zero)
            for a, b in zip(b0, b1, strict=True):
                lo, hi = a * h, b * h
                # extend to the exact ends of the run of zero differences
                back = d1[c, max(0, lo - h) : lo][::-1]
                nz = np.flatnonzero(back != 0)
                lo -= nz[0] if nz.size else back.size
                fwd = d1[c, hi : min(n, hi + h)]
                nz = np.flatnonzero(fwd != 0)
                hi += nz[0] if nz.size else fwd.size
                # d1[i] == 0 means x[i] == x[i-1]: the held samples are lo-1 .. hi-1
                s = max(0, lo - 1)
                if hi - s >= hold_min:
                    self._holds.append((start + s, start + hi, c, float(xc[c, min(s + 1, n - 1)])))

    def _find_clicks(self, d2, start) -> None:
        thresholds = self.thresholds["click"]
        block = self.block_frames
        n_blocks = d2.shape[1] // block
        if n_blocks < 3:
            return
        blocks = d2[:, : n_blocks * block].reshape(self.channels, n_blocks, block)
        peak = np.maximum(blocks.max(axis=2), -blocks.min(axis=2)).astype(np.float64)
        rms = np.sqrt(np.einsum("cbf,cbf->cb", blocks, blocks).astype(np.float64) / block)
        with np.errstate(divide="ignore"):
            peak_db = 20 * np.log10(np.maximum(peak, 1e-12))
            rms_db = 20 * np.log10(np.maximum(rms, 1e-12))
        size = max(3, int(round(thresholds["context_s"] / BLOCK_S)) | 1)
        local = running_median(rms_db, size)
        ratio = peak_db - local
        crest = peak_db - rms_db
        # an impulse stands out of its own block (crest) and of its neighbourhood (ratio)
        hit = (
            (ratio >= thresholds["ratio_db"])
            & (crest >= 15.0)
            & (peak_db >= thresholds["min_level_dbfs"])
        )
        if not hit.any():
            return
        for c, b in zip(*np.nonzero(hit), strict=True):
            i = int(np.argmax(np.abs(blocks[c, b])))
            f0 = start + b * block + i
            sev = "fail" if ratio[c, b] >= thresholds["fail_ratio_db"] else "warn"
            self._click_count += 1
            self.clicks.add(
                self._time_of(f0 - 1),
                self._time_of(f0 + 1),
                int(c) + 1,
                sev,
                float(ratio[c, b]),
                f"impulse {ratio[c, b]:.0f} dB above the local level",
            )

    def _true_peak(self, xc, block_peak) -> None:
        self._true_peak_lin = np.maximum(self._true_peak_lin, block_peak.max(axis=0))
        if self._tp_factor == 1:
            return
        pad = 24
        for c in range(self.channels):
            # only blocks whose sample peak is within reach of the true peak so far
            thr = self._true_peak_lin[c] / self._tp_margin
            hot = block_peak[:, c] >= thr
            if not hot.any() or thr <= 0:
                continue
            b0, b1 = true_runs(hot)
            for a, b in zip(b0, b1, strict=True):
                lo = max(0, a * self.block_frames - pad)
                hi = min(xc.shape[1], b * self.block_frames + pad)
                self._true_peak_lin[c] = max(
                    self._true_peak_lin[c],
                    measures.interpolated_peak(xc[c, lo:hi], self._tp_factor),
                )

    def _hum_feed(self, xc) -> None:
        q = self._hum_q
        n = xc.shape[1] // q * q
        # boxcar decimation (einsum: far faster than a mean over a short axis)
        dec = (
            np.einsum("cnq->cn", xc[:, :n].reshape(self.channels, -1, q)) * (1.0 / q)
            if q > 1
            else xc
        )
        self._hum_buf = np.concatenate([self._hum_buf, dec], axis=1) if self._hum_buf.size else dec
        thresholds = self.thresholds["hum"]
        win = int(round(thresholds["window_s"] * self._hum_rate))
        while self._hum_buf.shape[1] >= win:
            window = self._hum_buf[:, :win]
            t0 = self.offset_s + (len(self._hum_windows) * win * q) / self.rate_hz
            if self._hum_taper is None or len(self._hum_taper) != win:
                self._hum_taper = np.hanning(win).astype(np.float32)
            self._hum_windows.append(
                (t0, *mains_prominence(window, self._hum_rate, self._hum_taper, thresholds))
            )
            self._hum_buf = self._hum_buf[:, win:]

    def snapshot(self, last_chunks: int) -> AudioFindings | None:
        """The newest ``last_chunks`` chunks fed, as findings the detectors can read while the
        pass goes on (no loudness, true peak or hum: those need the whole take). None before
        the first chunk. The pass itself is not touched."""
        k = min(len(self._peak), last_chunks)
        if k == 0:
            return None
        blocks = sum(len(a) for a in self._peak[-k:])
        first_frame = max(0, self.frames - blocks * self.block_frames)  # whole blocks while live
        t0 = self._time_of(first_frame)
        ch = self.channels

        def recent(merger: EventMerger) -> EventMerger:
            copy = EventMerger(merger.check, merger.gap_s, merger.lower_is_worse)
            copy.events = [replace(e) for e in merger.events if e.end_s >= t0]
            copy._open = {c: replace(e) for c, e in merger._open.items() if e.end_s >= t0}
            return copy

        return AudioFindings(
            rate_hz=self.rate_hz,
            channels=ch,
            offset_s=t0,
            block_frames=self.block_frames,
            sub_frames=self.sub_frames,
            frames=self.frames - first_frame,
            thresholds=self.thresholds,
            peak=np.vstack(self._peak[-k:]),
            rms=np.vstack(self._rms[-k:]),
            dc=np.vstack(self._dc[-k:]),
            cross=np.concatenate(self._cross[-k:]) if self._cross else np.zeros(0),
            sub_db=np.vstack(self._sub_db[-k:]),
            clip_level=self.clip_level,
            clip_samples=self._clip_samples.copy(),
            clips=recent(self.clips),
            clicks=recent(self.clicks),
            click_count=self._click_count,
            holds=[
                (a - first_frame, b - first_frame, c, v)
                for a, b, c, v in self._holds
                if b > first_frame
            ],
            hum_windows=[],
            integrated_lufs=None,
            loudness_range_lu=None,
            true_peak_dbtp=np.full(ch, -np.inf),
        )

    def findings(self, log_path: Path | None = None) -> AudioFindings:
        """End the pass: everything kept, joined into arrays, with loudness and true peak."""
        self.close()
        ch = self.channels
        sub = self.loudness.subblocks()
        integrated = measures.integrated_loudness_lufs(sub) if len(sub) >= 4 else None
        return AudioFindings(
            rate_hz=self.rate_hz,
            channels=ch,
            offset_s=self.offset_s,
            block_frames=self.block_frames,
            sub_frames=self.sub_frames,
            frames=self.frames,
            thresholds=self.thresholds,
            peak=np.vstack(self._peak) if self._peak else np.zeros((0, ch), np.float32),
            rms=np.vstack(self._rms) if self._rms else np.zeros((0, ch), np.float32),
            dc=np.vstack(self._dc) if self._dc else np.zeros((0, ch), np.float32),
            cross=np.concatenate(self._cross) if self._cross else np.zeros(0),
            sub_db=np.vstack(self._sub_db) if self._sub_db else np.zeros((0, ch), np.float16),
            clip_level=self.clip_level,
            clip_samples=self._clip_samples,
            clips=self.clips,
            clicks=self.clicks,
            click_count=self._click_count,
            holds=self._holds,
            hum_windows=self._hum_windows,
            integrated_lufs=integrated,
            loudness_range_lu=measures.loudness_range_lu(sub) if len(sub) >= 4 else None,
            true_peak_dbtp=measures.dbfs(self._true_peak_lin),
            log_path=log_path,
        )
