"""Audio checks, streamed over chunks of a few seconds so memory stays flat in file length.

``iter_audio_blocks`` reads WAV/BWF/RF64 through soundfile and the audio of Matroska (or
anything FFmpeg decodes) through PyAV, as channel-major float32 chunks. ``AudioAnalyzer``
takes the chunks in order, computes every measure in one pass and, at the end, turns them
into localized events for each check of ``qc.table``. What is kept between chunks is per
10 ms (levels for the envelope, DC, phase, imbalance, silence), per ~1 ms (level, for the
dropout edges: float16, ~7 MB per channel-hour), per 100 ms (loudness) and per hum window.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError
from qc import measures as m
from qc.profiles import Profile
from qc.result import CheckResult, EventMerger, QCEvent, worst
from qc.table import CHECKS

AUDIO_CHECK_IDS = tuple(c.id for c in CHECKS.values() if c.applies_to("audio"))

BLOCK_S = 0.01  # envelope and level block
CHUNK_BLOCKS = 400  # 4 s chunks
SOUNDFILE_EXTS = {".wav", ".bwf", ".rf64", ".w64", ".flac", ".aif", ".aiff"}


# --------------------------------------------------------------------------- reading


@dataclass
class AudioInfo:
    path: Path
    rate_hz: int
    channels: int
    frames: int | None  # None when the container does not say
    container: str  # "WAV", "RF64", "Matroska", ...
    subtype: str = ""
    stream_index: int | None = None
    start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return (self.frames or 0) / self.rate_hz


def block_frames_for(rate_hz: int) -> int:
    return max(1, int(round(rate_hz * BLOCK_S)))


class AudioSource:
    """An open audio file or audio stream; ``chunks()`` yields (channels, n) float32 arrays.

    Every chunk but the last has the same length, a whole number of 10 ms blocks.
    """

    def __init__(self, path: Path, stream_index: int | None = None):
        self.path = Path(path)
        self._sf = None
        self._av = None
        if self.path.suffix.lower() in SOUNDFILE_EXTS and stream_index is None:
            self._open_soundfile()
        else:
            self._open_av(stream_index)

    def _open_soundfile(self) -> None:
        import soundfile as sf

        try:
            f = sf.SoundFile(str(self.path))
        except Exception as exc:  # libsndfile says why in its message
            raise HeadblockError(
                f"{self.path.name}: not a readable audio file ({_short(exc)})"
            ) from exc
        if f.frames <= 0:
            f.close()
            raise HeadblockError(f"{self.path.name}: the audio file holds no samples")
        self._sf = f
        self.info = AudioInfo(self.path, f.samplerate, f.channels, f.frames, f.format, f.subtype)

    def _open_av(self, stream_index: int | None) -> None:
        import av

        try:
            c = av.open(str(self.path))
        except Exception as exc:
            raise HeadblockError(
                f"{self.path.name}: cannot be opened as media ({_short(exc)})"
            ) from exc
        streams = [s for s in c.streams if s.type == "audio"]
        if stream_index is not None:
            streams = [s for s in streams if s.index == stream_index]
        if not streams:
            c.close()
            raise HeadblockError(f"{self.path.name}: no audio stream")
        st = streams[0]
        rate = st.codec_context.sample_rate or st.rate
        channels = st.codec_context.channels
        frames = None
        if st.duration is not None and st.time_base is not None:
            frames = int(round(float(st.duration * st.time_base) * rate))
        elif c.duration:
            frames = int(round(c.duration / 1_000_000 * rate))
        start_s = (
            float(st.start_time * st.time_base)
            if st.start_time is not None and st.time_base
            else 0.0
        )
        self._av = (c, st)
        self.info = AudioInfo(
            self.path,
            int(rate),
            int(channels),
            frames,
            c.format.name,
            st.codec_context.name,
            st.index,
            start_s,
        )

    def chunk_frames(self) -> int:
        return block_frames_for(self.info.rate_hz) * CHUNK_BLOCKS

    def chunks(self) -> Iterator[np.ndarray]:
        n = self.chunk_frames()
        if self._sf is not None:
            yield from self._sf_chunks(n)
        else:
            yield from self._av_chunks(n)

    def _sf_chunks(self, n: int) -> Iterator[np.ndarray]:
        f = self._sf
        buf = np.empty((n, self.info.channels), dtype=np.float32)
        while True:
            try:
                got = f.read(n, dtype="float32", out=buf)
            except Exception as exc:
                raise HeadblockError(f"{self.path.name}: read error ({_short(exc)})") from exc
            if len(got) == 0:
                return
            yield np.array(
                got.T, dtype=np.float32, order="C"
            )  # a copy: buf is reused (mono .T is a view)
            if len(got) < n:
                return

    def _av_chunks(self, n: int) -> Iterator[np.ndarray]:
        import av

        c, st = self._av
        ch = self.info.channels
        resampler = av.AudioResampler(
            format="fltp", layout=st.codec_context.layout, rate=self.info.rate_hz
        )
        pending: list[np.ndarray] = []
        have = 0
        try:
            for packet in c.demux(st):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        a = out.to_ndarray().astype(np.float32, copy=False).reshape(ch, -1)
                        pending.append(a)
                        have += a.shape[1]
                        while have >= n:
                            allx = (
                                np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
                            )
                            yield np.ascontiguousarray(allx[:, :n])
                            rest = allx[:, n:]
                            pending = [rest] if rest.shape[1] else []
                            have = rest.shape[1]
            for out in resampler.resample(None):
                a = out.to_ndarray().astype(np.float32, copy=False).reshape(ch, -1)
                pending.append(a)
                have += a.shape[1]
        except av.error.FFmpegError as exc:
            raise HeadblockError(
                f"{self.path.name}: audio decoding failed ({_short(exc)})"
            ) from exc
        if have:
            allx = np.concatenate(pending, axis=1)
            for i in range(0, allx.shape[1], n):
                yield np.ascontiguousarray(allx[:, i : i + n])

    def close(self) -> None:
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av[0].close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _short(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return s[:200]


def iter_audio_blocks(
    path: Path, stream_index: int | None = None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start_frame, rate_hz, chunk) for every chunk of a WAV/BWF/RF64 or a media file's audio.

    ``chunk`` is channel-major float32 (channels, n); transpose for (frames, channels).
    """
    with AudioSource(path, stream_index) as src:
        start = 0
        for xc in src.chunks():
            yield start, src.info.rate_hz, xc
            start += xc.shape[1]


# --------------------------------------------------------------------------- analysis


@dataclass
class AudioQC:
    """What the audio checks found: per-check results, events, statistics and the envelope."""

    checks: list[CheckResult]
    events: list[QCEvent]
    stats: dict
    envelope: dict = field(default_factory=dict)  # arrays for ITEM_tNN.envelope.npz
    duration_s: float = 0.0


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D boolean array."""
    if mask.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    d = np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _median_rows(a: np.ndarray, size: int) -> np.ndarray:
    """Running median of width ``size`` along the last axis, edges repeated (as 'nearest')."""
    half = size // 2
    padded = np.pad(a, [(0, 0)] * (a.ndim - 1) + [(half, size - 1 - half)], mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size, axis=-1), axis=-1)


def _mean3(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1, mode="edge")
    return (p[:-2] + p[1:-1] + p[2:]) / 3.0


def _closing(mask: np.ndarray, width: int) -> np.ndarray:
    """Binary closing (dilation then erosion) with a flat structure of ``width``."""
    k = np.ones(width, dtype=np.int16)
    dil = np.convolve(mask.astype(np.int16), k, mode="same") > 0
    return np.convolve(dil.astype(np.int16), k, mode="same") == width


def _sub_divisor(block_frames: int) -> int:
    return max(d for d in range(1, 11) if block_frames % d == 0)


class AudioAnalyzer:
    """One pass over consecutive channel-major chunks; ``finish`` returns an AudioQC."""

    def __init__(self, rate_hz: int, channels: int, profile: Profile, offset_s: float = 0.0):
        self.rate_hz = rate_hz
        self.channels = channels
        self.profile = profile
        self.offset_s = offset_s
        self.bf = block_frames_for(rate_hz)
        self.sub_frames = self.bf // _sub_divisor(self.bf)  # ~1 ms
        self.frames = 0
        t = {cid: profile.thresholds(cid) for cid in AUDIO_CHECK_IDS}
        self.t = t
        self.clip_level = float(m.amplitude(t["clipping"]["level_dbfs"]))
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
        self.clips = EventMerger("clipping", t["clipping"]["merge_gap_s"])
        self.clicks = EventMerger("click", t["click"]["merge_gap_s"])
        self._click_count = 0
        self.loud = m.KWeightedPower(rate_hz, channels)
        self._tp = np.zeros(channels)
        self._tp_factor = m.true_peak_oversampling(rate_hz)
        # how far an inter-sample peak can rise above its samples (a 20 kHz sine), at most 6 dB
        self._tp_margin = min(2.0, 1.0 / math.cos(math.pi * min(20000.0, 0.45 * rate_hz) / rate_hz))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qc-loudness")
        self._pending = None
        # hum: boxcar-decimated copy towards ~12 kHz, analysed in windows
        self._hum_q = max(1, rate_hz // 12000)
        while self.bf * CHUNK_BLOCKS % self._hum_q:
            self._hum_q -= 1
        self._hum_rate = rate_hz / self._hum_q
        self._hum_buf = np.zeros((channels, 0), dtype=np.float32)
        self._hum_win = None
        self._hum_windows: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []

    # ---- streaming part

    def feed(self, xc: np.ndarray) -> None:
        xc = np.ascontiguousarray(xc, dtype=np.float32)
        n = xc.shape[1]
        if n == 0:
            return
        start = self.frames
        if self._pending is not None:  # loudness/true peak of the previous chunk
            self._pending.result()
        sub = m.block_sumsq(xc, self.sub_frames)
        counts = np.full(sub.shape[0], self.sub_frames, dtype=np.float64)
        if n % self.sub_frames:
            counts[-1] = n % self.sub_frames
        self._sub_db.append(m.power_db(sub / counts[:, None]).astype(np.float16))
        k = self.bf // self.sub_frames
        nb_whole = n // self.bf
        ss10 = sub[: nb_whole * k].reshape(nb_whole, k, sub.shape[1]).sum(axis=1)
        if n % self.bf:
            ss10 = np.vstack([ss10, sub[nb_whole * k :].sum(axis=0, keepdims=True)])
        bs = m.block_stats_cm(xc, self.bf, self.clip_level, sumsq=ss10)
        self._peak.append(bs.peak.astype(np.float32))
        self._rms.append(bs.rms.astype(np.float32))
        self._dc.append(bs.dc.astype(np.float32))
        # K-weighted loudness and true peak run on the other core meanwhile
        self._pending = self._pool.submit(self._loud_and_tp, xc, bs.peak)
        if self.channels >= 2:
            self._cross.append(m.block_cross_cm(xc, self.bf).astype(np.float64))

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

        self._clipping(xc, bs, start)
        self._find_holds(xc, d1, start)
        self._find_clicks(d2, start)
        self._hum_feed(xc, start)
        self.frames += n

    def _loud_and_tp(self, xc, block_peak) -> None:
        self.loud.feed(xc)
        self._true_peak(xc, block_peak)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        self._pool.shutdown(wait=True)

    def _t(self, frame: float) -> float:
        return self.offset_s + frame / self.rate_hz

    def _clipping(self, xc, bs, start) -> None:
        t = self.t["clipping"]
        min_run = max(1, int(t["min_run_samples"]))
        fail_run = int(t["fail_run_samples"])
        self._clip_samples += bs.clip_count.sum(axis=0)
        for c in range(self.channels):
            hot = bs.clip_count[:, c] > 0
            if not hot.any():
                continue
            b0, b1 = _runs(hot)
            for a, b in zip(b0, b1, strict=True):
                lo, hi = a * self.bf, min(b * self.bf, xc.shape[1])
                seg = np.abs(xc[c, lo:hi]) >= self.clip_level
                r0, r1 = _runs(seg)
                lengths = r1 - r0
                for s, ln in zip(r0[lengths >= min_run], lengths[lengths >= min_run], strict=True):
                    sev = "fail" if ln >= fail_run else "warn"
                    f0 = start + lo + s
                    self.clips.add(
                        self._t(f0),
                        self._t(f0 + ln),
                        c + 1,
                        sev,
                        float(ln),
                        f"{ln} consecutive samples at or above {t['level_dbfs']} dBFS",
                    )

    def _find_holds(self, xc, d1, start) -> None:
        hold_min = max(2, int(round(self.t["dropout"]["hold_min_ms"] / 1000 * self.rate_hz)))
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
            b0, b1 = _runs(zero)
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
        t = self.t["click"]
        bf = self.bf
        nb = d2.shape[1] // bf
        if nb < 3:
            return
        blk = d2[:, : nb * bf].reshape(self.channels, nb, bf)
        pk = np.maximum(blk.max(axis=2), -blk.min(axis=2)).astype(np.float64)
        rms2 = np.sqrt(np.einsum("cbf,cbf->cb", blk, blk).astype(np.float64) / bf)
        with np.errstate(divide="ignore"):
            pk_db = 20 * np.log10(np.maximum(pk, 1e-12))
            rms_db = 20 * np.log10(np.maximum(rms2, 1e-12))
        size = max(3, int(round(t["context_s"] / BLOCK_S)) | 1)
        local = _median_rows(rms_db, size)
        ratio = pk_db - local
        crest = pk_db - rms_db
        # an impulse stands out of its own block (crest) and of its neighbourhood (ratio)
        hit = (ratio >= t["ratio_db"]) & (crest >= 15.0) & (pk_db >= t["min_level_dbfs"])
        if not hit.any():
            return
        for c, b in zip(*np.nonzero(hit), strict=True):
            i = int(np.argmax(np.abs(blk[c, b])))
            f0 = start + b * bf + i
            sev = "fail" if ratio[c, b] >= t["fail_ratio_db"] else "warn"
            self._click_count += 1
            self.clicks.add(
                self._t(f0 - 1),
                self._t(f0 + 1),
                int(c) + 1,
                sev,
                float(ratio[c, b]),
                f"impulse {ratio[c, b]:.0f} dB above the local level",
            )

    def _true_peak(self, xc, block_peak) -> None:
        self._tp = np.maximum(self._tp, block_peak.max(axis=0))
        if self._tp_factor == 1:
            return
        pad = 24
        for c in range(self.channels):
            # only blocks whose sample peak is within reach of the true peak so far
            thr = self._tp[c] / self._tp_margin
            hot = block_peak[:, c] >= thr
            if not hot.any() or thr <= 0:
                continue
            b0, b1 = _runs(hot)
            for a, b in zip(b0, b1, strict=True):
                lo = max(0, a * self.bf - pad)
                hi = min(xc.shape[1], b * self.bf + pad)
                self._tp[c] = max(self._tp[c], m.interpolated_peak(xc[c, lo:hi], self._tp_factor))

    def _hum_feed(self, xc, start) -> None:
        q = self._hum_q
        n = xc.shape[1] // q * q
        # boxcar decimation (einsum: far faster than a mean over a short axis)
        dec = (
            np.einsum("cnq->cn", xc[:, :n].reshape(self.channels, -1, q)) * (1.0 / q)
            if q > 1
            else xc
        )
        self._hum_buf = np.concatenate([self._hum_buf, dec], axis=1) if self._hum_buf.size else dec
        win = int(round(self.t["hum"]["window_s"] * self._hum_rate))
        while self._hum_buf.shape[1] >= win:
            w = self._hum_buf[:, :win]
            t0 = self.offset_s + (self._hum_done_frames() * q) / self.rate_hz
            self._hum_windows.append((t0, *self._hum_window(w)))
            self._hum_buf = self._hum_buf[:, win:]

    def _hum_done_frames(self) -> int:
        win = int(round(self.t["hum"]["window_s"] * self._hum_rate))
        return len(self._hum_windows) * win

    def _hum_window(self, w: np.ndarray):
        """Per channel: best prominence (dB), its level (dBFS) and frequency (Hz)."""
        t = self.t["hum"]
        n = w.shape[1]
        if self._hum_win is None or len(self._hum_win) != n:
            self._hum_win = np.hanning(n).astype(np.float32)
        win = self._hum_win
        df = self._hum_rate / n
        top = min(n // 2 + 1, int((max(1, int(t["harmonics"])) * 60.0 * 1.01 + 12.0) / df) + 2)
        spec = np.abs(np.fft.rfft(w * win, axis=1)[:, :top])  # only the mains region is read
        power_db = 20 * np.log10(np.maximum(spec, 1e-12))
        amp_db = power_db + 20 * math.log10(2.0 / win.sum())
        best_prom = np.full(self.channels, -np.inf)
        best_level = np.full(self.channels, m.DBFS_FLOOR)
        best_freq = np.zeros(self.channels)
        nh = max(1, int(t["harmonics"]))
        for f0 in (50.0, 60.0):
            proms = []
            for k in range(1, nh + 1):
                f = k * f0
                tol = max(2 * df, 0.004 * f)  # mains drift and small tape speed errors
                i0, i1 = int((f - tol) / df), int(math.ceil((f + tol) / df)) + 1
                lo0, lo1 = int((f - tol - 8.0) / df), int((f - tol - 1.0) / df)
                hi0, hi1 = int((f + tol + 1.0) / df), int((f + tol + 8.0) / df)
                peak = power_db[:, i0:i1].max(axis=1)
                ref = np.median(
                    np.concatenate([power_db[:, lo0:lo1], power_db[:, hi0:hi1]], axis=1), axis=1
                )
                level = amp_db[:, i0:i1].max(axis=1)
                prom = np.where(level >= t["min_level_dbfs"], peak - ref, -np.inf)
                proms.append((prom, level, f))
            fund = proms[0][0]
            # mains hum: the fundamental, or the 2nd and 3rd harmonics together (rectifier buzz)
            pair = (
                np.minimum(proms[1][0], proms[2][0]) if nh >= 3 else np.full(self.channels, -np.inf)
            )
            score = np.maximum(fund, pair)
            for c in range(self.channels):
                if score[c] > best_prom[c]:
                    best_prom[c] = score[c]
                    j = 0 if fund[c] >= pair[c] else (1 if proms[1][0][c] >= proms[2][0][c] else 2)
                    best_level[c] = proms[j][1][c]
                    best_freq[c] = proms[j][2]
        return best_prom, best_level, best_freq

    # ---- end of stream: events per check

    def finish(self, log_path: Path | None = None) -> AudioQC:
        self.close()
        ch = self.channels
        peak = np.vstack(self._peak) if self._peak else np.zeros((0, ch), np.float32)
        rms = np.vstack(self._rms) if self._rms else np.zeros((0, ch), np.float32)
        dc = np.vstack(self._dc) if self._dc else np.zeros((0, ch), np.float32)
        cross = np.concatenate(self._cross) if self._cross else np.zeros(0)
        sub_db = np.vstack(self._sub_db) if self._sub_db else np.zeros((0, ch), np.float16)
        duration_s = self.frames / self.rate_hz
        prof = self.profile
        results: dict[str, tuple[list[QCEvent], str]] = {}
        stats: dict = {"rate_hz": self.rate_hz, "channels": ch}

        def on(cid):
            return prof.enabled(cid)

        rms_db = m.dbfs(rms)
        level_db = rms_db.max(axis=1) if ch else np.zeros(0)
        if on("clipping"):
            evs = self.clips.finish()
            results["clipping"] = (
                evs,
                f"{int(self._clip_samples.sum())} samples at or above {self.t['clipping']['level_dbfs']} dBFS",
            )
        if on("click"):
            evs = self.clicks.finish()
            per_min = self._click_count / max(duration_s / 60, 1e-9)
            extra = ""
            if per_min > self.t["click"]["fail_per_minute"] and evs:
                for e in evs:
                    e.severity = "fail"
                extra = f"; {per_min:.0f} per minute is over {self.t['click']['fail_per_minute']:g}"
            results["click"] = (evs, f"{self._click_count} impulses{extra}")
        if on("dropout"):
            results["dropout"] = self._dropouts(rms_db, sub_db)
        if "click" in results:
            # the edges of a clip or a dropout are discontinuities: one fault, one event
            explained = [
                e for cid in ("clipping", "dropout") for e in results.get(cid, ([], ""))[0]
            ]
            if explained:
                evs, summary = results["click"]
                keep = [
                    c
                    for c in evs
                    if not any(
                        e.channel in (None, c.channel)
                        and e.start_s - 0.005 <= c.start_s <= e.end_s + 0.005
                        for e in explained
                    )
                ]
                results["click"] = (
                    keep,
                    f"{len(keep)} clicks" + summary[summary.index(" impulses") + 9 :],
                )
        if on("dc_offset"):
            results["dc_offset"] = self._dc_offset(dc, rms)
        if on("phase"):
            results["phase"] = self._phase(cross, rms)
        if on("channel_imbalance"):
            results["channel_imbalance"] = self._imbalance(rms)
        if on("silence"):
            results["silence"] = self._silence(level_db, duration_s, stats)
        if on("hum"):
            results["hum"] = self._hum()
        sub = self.loud.subblocks()
        integrated = m.integrated_loudness_lufs(sub) if len(sub) >= 4 else None
        lra = m.loudness_range_lu(sub) if len(sub) >= 4 else None
        tp_dbtp = m.dbfs(self._tp)
        stats.update(
            {
                "integrated_lufs": None
                if integrated is None or integrated <= m.LUFS_FLOOR
                else round(integrated, 2),
                "loudness_range_lu": None if lra is None else round(lra, 2),
                "true_peak_dbtp": [round(float(v), 2) for v in tp_dbtp],
                "sample_peak_dbfs": [
                    round(float(v), 2)
                    for v in m.dbfs(peak.max(axis=0) if len(peak) else np.zeros(ch))
                ],
                "rms_dbfs": [
                    round(float(v), 2)
                    for v in m.power_db(
                        (rms.astype(np.float64) ** 2).mean(axis=0) if len(rms) else np.zeros(ch)
                    )
                ],
                "dc_offset": [
                    float(v)
                    for v in (dc.astype(np.float64).mean(axis=0) if len(dc) else np.zeros(ch))
                ],
                "clipped_samples": [int(v) for v in self._clip_samples],
            }
        )
        if ch >= 2 and len(rms):
            ss = (rms[:, :2].astype(np.float64) ** 2).sum(axis=0) * self.bf
            stats["correlation"] = round(
                float(m.correlation_from_sums(cross.sum(), ss[0], ss[1])), 3
            )
        if on("loudness"):
            results["loudness"] = self._loudness(integrated, tp_dbtp, duration_s)
        if on("overflow"):
            results["overflow"] = overflow_events(log_path, prof, self.offset_s, self.rate_hz)

        checks, events = [], []
        for cid in AUDIO_CHECK_IDS:
            if cid not in results:
                continue
            evs, summary = results[cid]
            status = worst(*(e.severity for e in evs))
            checks.append(CheckResult(cid, status, len(evs), summary))
            events.extend(evs)
        envelope = {
            "block_s": np.float64(self.bf / self.rate_hz),
            "rate_hz": np.int64(self.rate_hz),
            "offset_s": np.float64(self.offset_s),
            "peak_dbfs": m.dbfs(peak).astype(np.float16),
            "rms_dbfs": rms_db.astype(np.float16),
        }
        return AudioQC(checks, events, stats, envelope, duration_s)

    # per-check helpers work on the 10 ms series

    def _bt(self, block: float) -> float:
        return self.offset_s + block * self.bf / self.rate_hz

    def _window_sums(self, series: np.ndarray, window_blocks: int) -> np.ndarray:
        n = len(series) // window_blocks
        return series[: n * window_blocks].reshape(n, window_blocks, *series.shape[1:]).sum(axis=1)

    def _sustained(
        self,
        check,
        flags,
        values,
        window_blocks,
        min_duration_s,
        sev_fn,
        detail_fn,
        channel,
        lower_is_worse,
    ):
        """Events for runs of flagged windows lasting at least min_duration_s."""
        merger = EventMerger(check, 0.0, lower_is_worse)
        win_s = window_blocks * self.bf / self.rate_hz
        r0, r1 = _runs(flags)
        for a, b in zip(r0, r1, strict=True):
            if (b - a) * win_s + 1e-9 < min_duration_s:
                continue
            vals = values[a:b]
            v = float(vals.min() if lower_is_worse else vals.max())
            merger.add(
                self._bt(a * window_blocks),
                self._bt(b * window_blocks),
                channel,
                sev_fn(v),
                v,
                detail_fn(v, (b - a) * win_s),
            )
        return merger.finish()

    def _dc_offset(self, dc, rms):
        t = self.t["dc_offset"]
        wb = max(1, int(round(t["window_s"] / BLOCK_S)))
        events = []
        worst_db = m.DBFS_FLOOR
        for c in range(self.channels):
            mean = self._window_sums(dc[:, c].astype(np.float64), wb) / wb
            db = m.dbfs(mean)
            if db.size:
                worst_db = max(worst_db, float(db.max()))
            events += self._sustained(
                "dc_offset",
                db >= t["warn_dbfs"],
                db,
                wb,
                t["min_duration_s"],
                lambda v: "fail" if v >= t["fail_dbfs"] else "warn",
                lambda v, d: f"mean {100 * 10 ** (v / 20):.1f} % of full scale for {d:.0f} s",
                c + 1,
                False,
            )
        return events, f"largest 1 s mean {worst_db:.1f} dBFS"

    def _phase(self, cross, rms):
        t = self.t["phase"]
        if self.channels < 2:
            return [], "not applicable (one channel)"
        wb = max(1, int(round(t["window_s"] / BLOCK_S)))
        ss = rms[:, :2].astype(np.float64) ** 2 * self.bf
        lr = self._window_sums(cross, wb)
        ll = self._window_sums(ss[:, 0], wb)
        rr = self._window_sums(ss[:, 1], wb)
        corr = m.correlation_from_sums(lr, ll, rr)
        min_ms = m.amplitude(t["min_level_dbfs"]) ** 2 * wb * self.bf
        loud = (ll >= min_ms) & (rr >= min_ms)
        flags = loud & (corr <= t["warn_correlation"])
        evs = self._sustained(
            "phase",
            flags,
            corr,
            wb,
            t["min_duration_s"],
            lambda v: "fail" if v <= t["fail_correlation"] else "warn",
            lambda v, d: f"correlation {v:+.2f} for {d:.0f} s (channels 1 and 2)",
            None,
            True,
        )
        low = float(corr[loud].min()) if loud.any() else 0.0
        return evs, f"lowest {t['window_s']:g} s correlation {low:+.2f}"

    def _imbalance(self, rms):
        t = self.t["channel_imbalance"]
        if self.channels < 2:
            return [], "not applicable (one channel)"
        wb = max(1, int(round(t["window_s"] / BLOCK_S)))
        ss = rms[:, :2].astype(np.float64) ** 2
        w = self._window_sums(ss, wb) / wb
        db = m.power_db(w)
        diff = db[:, 0] - db[:, 1]
        loud = db.max(axis=1) >= t["min_level_dbfs"]
        evs = []
        for sign, quiet_ch in ((1, 2), (-1, 1)):
            d = sign * diff
            evs += self._sustained(
                "channel_imbalance",
                loud & (d >= t["warn_db"]),
                d,
                wb,
                t["min_duration_s"],
                lambda v: "fail" if v >= t["fail_db"] else "warn",
                lambda v, dur, q=quiet_ch: f"channel {q} {v:.1f} dB lower for {dur:.0f} s",
                quiet_ch,
                False,
            )
        med = float(np.median(diff[loud])) if loud.any() else 0.0
        return evs, f"median difference (1 - 2) {med:+.1f} dB"

    def _silence(self, level_db, duration_s, stats):
        t = self.t["silence"]
        silent = level_db < t["level_dbfs"]
        r0, r1 = _runs(silent)
        bs = self.bf / self.rate_hz
        nb = len(level_db)
        head = tail = 0.0
        events = []
        merger = EventMerger("silence", 0.0)
        total = 0.0
        for a, b in zip(r0, r1, strict=True):
            dur = (b - a) * bs
            if dur + 1e-9 < t["min_duration_s"]:
                continue
            total += dur
            lvl = float(level_db[a:b].max())
            if a == 0 and b == nb:
                merger.add(self._bt(a), self._bt(b), None, "fail", lvl, "the whole take is silent")
                head = tail = dur
            elif a == 0:
                head = dur
                if dur > t["head_tail_warn_s"]:
                    merger.add(
                        self._bt(a), self._bt(b), None, "warn", lvl, f"head silence {dur:.1f} s"
                    )
            elif b == nb:
                tail = dur
                if dur > t["head_tail_warn_s"]:
                    merger.add(
                        self._bt(a), self._bt(b), None, "warn", lvl, f"tail silence {dur:.1f} s"
                    )
            else:
                merger.add(
                    self._bt(a),
                    self._bt(b),
                    None,
                    "warn",
                    lvl,
                    f"silence {dur:.1f} s below {t['level_dbfs']:g} dBFS",
                )
        events = merger.finish()
        frac = total / duration_s if duration_s else 0.0
        if frac >= t["fail_fraction"]:
            for e in events:
                e.severity = "fail"
        stats["head_silence_s"] = round(head, 3)
        stats["tail_silence_s"] = round(tail, 3)
        stats["silence_s"] = round(total, 3)
        return events, f"{total:.1f} s of silence (head {head:.1f} s, tail {tail:.1f} s)"

    def _hum(self):
        t = self.t["hum"]
        if not self._hum_windows:
            return [], "take shorter than one hum window"
        starts = np.array([w[0] for w in self._hum_windows])
        prom = np.vstack([w[1] for w in self._hum_windows])
        level = np.vstack([w[2] for w in self._hum_windows])
        freq = np.vstack([w[3] for w in self._hum_windows])
        win_s = t["window_s"]
        events = []
        for c in range(self.channels):
            flags = prom[:, c] >= t["prominence_db"]
            r0, r1 = _runs(flags)
            for a, b in zip(r0, r1, strict=True):
                if (b - a) * win_s + 1e-9 < t["min_duration_s"]:
                    continue
                p = float(np.median(prom[a:b, c]))
                f = float(np.median(freq[a:b, c]))
                lv = float(np.median(level[a:b, c]))
                sev = "fail" if p >= t["fail_prominence_db"] else "warn"
                events.append(
                    QCEvent(
                        "hum",
                        float(starts[a]),
                        float(starts[b - 1] + win_s),
                        c + 1,
                        sev,
                        round(p, 1),
                        f"{f:g} Hz hum at {lv:.0f} dBFS, {p:.0f} dB above neighbouring bins",
                    )
                )
        finite = prom[np.isfinite(prom)]
        top = float(np.median(prom.max(axis=1))) if finite.size else float("nan")
        return events, (
            f"median mains prominence {top:.1f} dB" if math.isfinite(top) else "no mains component"
        )

    def _loudness(self, integrated, tp_dbtp, duration_s):
        t = self.t["loudness"]
        evs = []
        end = self.offset_s + duration_s
        tp = float(tp_dbtp.max()) if tp_dbtp.size else m.DBFS_FLOOR
        if tp > t["true_peak_max_dbtp"]:
            c = int(np.argmax(tp_dbtp)) + 1
            sev = "fail" if tp > t["fail_true_peak_dbtp"] else "warn"
            evs.append(
                QCEvent(
                    "loudness",
                    self.offset_s,
                    end,
                    c,
                    sev,
                    round(tp, 2),
                    f"true peak {tp:+.1f} dBTP over {t['true_peak_max_dbtp']:g} dBTP",
                )
            )
        if integrated is not None and integrated > m.LUFS_FLOOR:
            lo, hi = t["integrated_min_lufs"], t["integrated_max_lufs"]
            side = "below" if integrated < lo else "above" if integrated > hi else None
            if side:
                evs.append(
                    QCEvent(
                        "loudness",
                        self.offset_s,
                        end,
                        None,
                        "warn",
                        round(integrated, 2),
                        f"integrated loudness {integrated:.1f} LUFS {side} "
                        f"{lo if side == 'below' else hi:g}",
                    )
                )
        il = "n/a" if integrated is None or integrated <= m.LUFS_FLOOR else f"{integrated:.1f} LUFS"
        return evs, f"integrated {il}, true peak {tp:+.1f} dBTP"

    def _dropouts(self, rms_db, sub_db):
        """Holds (digital silence or a held value inside program) and sudden level collapses."""
        t = self.t["dropout"]
        found: list[QCEvent] = []
        ctx = max(2, int(round(t["context_s"] / BLOCK_S)))
        nb = len(rms_db)
        sub_s = self.sub_frames / self.rate_hz
        per_block = self.bf // self.sub_frames

        # holds: identical samples between the first and the last sound of the take
        # (an analog noise floor never holds still; head/tail digital silence is the silence check's)
        audible = (
            np.flatnonzero(rms_db.max(axis=1) >= self.t["silence"]["level_dbfs"]) if nb else []
        )
        first_f = audible[0] * self.bf if len(audible) else None
        last_f = (audible[-1] + 1) * self.bf if len(audible) else None
        holds = sorted(self._holds, key=lambda h: (h[2], h[0]))
        merged: list[list] = []
        for s, e, c, v in holds:
            if merged and merged[-1][2] == c and s <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e, c, v])
        for s, e, c, v in merged:
            if first_f is None or s < first_f or e > last_f or abs(v) >= self.clip_level:
                continue  # outside program, or full scale (the clipping check's)
            # the signal beside the hold: a dropout cuts into sound, a digital fade ends in zeros
            hb0, hb1 = s // self.bf, -(-e // self.bf)
            side_b = rms_db[max(0, hb0 - 3) : hb0, c]
            side_a = rms_db[hb1 : hb1 + 3, c]
            edge_min = t["hold_edge_min_dbfs"]
            if (
                not side_b.size
                or not side_a.size
                or side_b.max() < edge_min
                or side_a.max() < edge_min
            ):
                continue
            what = "digital silence" if v == 0 else f"held value {v:+.4f}"
            found.append(
                QCEvent(
                    "dropout",
                    self._t(s),
                    self._t(e),
                    c + 1,
                    "fail",
                    m.DBFS_FLOOR if v == 0 else round(float(m.dbfs(v)), 1),
                    f"{what} for {(e - s) / self.rate_hz * 1000:.1f} ms inside program",
                )
            )

        # collapses: the ~1 ms level falls many dB below the program on both sides, abruptly
        min_sub = max(1, int(math.ceil(t["min_ms"] / 1000 / sub_s)))
        max_sub = int(t["max_ms"] / 1000 / sub_s)
        edge = max(1, int(round(t["edge_ms"] / 1000 / sub_s)))
        self._n_blocks = nb
        if len(sub_db) and nb > 2 * ctx:
            # in segments of a minute (plus context) so the temporaries stay small in a long take
            seg = 6000
            pad = ctx + max_sub // per_block + edge + 4
            for s0 in range(0, nb, seg):
                lo, hi = max(0, s0 - pad), min(nb, s0 + seg + pad)
                found += self._collapses(
                    rms_db[lo:hi],
                    sub_db[lo * per_block : hi * per_block],
                    lo,
                    s0 - lo,
                    min(seg, nb - s0),
                    ctx,
                    (min_sub, max_sub, edge),
                )
        found.sort(key=lambda e: (e.start_s, e.channel or 0))
        final = EventMerger("dropout", 0.05, lower_is_worse=True)
        for e in found:
            final.add(e.start_s, e.end_s, e.channel, e.severity, e.value, e.detail)
        evs = final.finish()
        return evs, f"{len(evs)} dropouts"

    def _collapses(self, rms_db, sub_db, first_block, own_from, own_len, ctx, sizes):
        """Level collapses in one stretch; only those starting in its own part are returned."""
        t = self.t["dropout"]
        prog = t["program_min_dbfs"]
        min_sub, max_sub, edge = sizes
        per_block = self.bf // self.sub_frames
        sub_s = self.sub_frames / self.rate_hz
        nb = len(rms_db)
        med = _median_rows(rms_db.T, ctx).T
        half = ctx // 2 + 1
        before = np.vstack([np.repeat(med[:1], half, axis=0), med[:-half]])  # the ctx blocks before
        after = np.vstack([med[half:], np.repeat(med[-1:], half, axis=0)])
        ref_blocks = np.maximum(before, after)
        out = []
        for c in range(self.channels):
            env = sub_db[:, c].astype(np.float32)
            ref = np.repeat(ref_blocks[:, c], per_block)[: len(env)]
            # a 3 ms power average keeps the level of an attenuated program from flickering
            smooth = m.power_db(_mean3(10 ** (env.astype(np.float64) / 10)))
            low = (smooth <= ref - t["collapse_db"]) & (ref >= prog)
            low = _closing(low, 5) | low
            r0, r1 = _runs(low)
            for a, b in zip(r0, r1, strict=True):
                if not own_from * per_block <= a < (own_from + own_len) * per_block:
                    continue
                if b - a < min_sub or b - a > max_sub or a < edge or b + edge > len(env):
                    continue
                # program must be heard on both sides: not in the first or last context of the take
                g0, g1 = first_block + a // per_block, first_block + -(-b // per_block)
                if g0 < ctx or g1 > self._n_blocks - ctx:
                    continue
                b0, b1 = a // per_block, -(-b // per_block)
                lb = float(before[min(b0, nb - 1), c])
                la = float(after[min(b1, nb - 1), c])
                if lb < prog or la < prog:
                    continue
                level = float(m.power_db(np.mean(10 ** (env[a:b].astype(np.float64) / 10))))
                # depth against the program level: the wider context or, when the program
                # right beside the collapse (50 ms each side) is louder, that
                nb_ = float(np.median(rms_db[max(0, b0 - 6) : max(1, b0 - 1), c]))
                na_ = float(np.median(rms_db[min(nb - 1, b1 + 1) : min(nb, b1 + 6), c]))
                # abrupt: across each end the level jumps, edge_ms outside against edge_ms
                # inside (a fade or a word's decay passes through the levels in between, so
                # neighbouring stretches differ little)
                step_b = _power_mean_db(env[a - edge : a]) - _power_mean_db(env[a : a + edge])
                step_a = _power_mean_db(env[b : b + edge]) - _power_mean_db(env[b - edge : b])
                step = min(step_b, step_a)
                if step < t["collapse_db"] - 6:
                    continue
                # the program may be quieter at the collapse than around it: the jumps at its
                # ends measure the depth too
                depth = max(min(nb_, na_), min(lb, la), level + step) - level
                if depth < t["collapse_db"] or min(lb, la) - level < t["collapse_db"] - 6:
                    continue
                sev = "fail" if depth >= t["fail_collapse_db"] else "warn"
                f0 = (first_block * per_block + a) * self.sub_frames
                f1 = (first_block * per_block + b) * self.sub_frames
                out.append(
                    QCEvent(
                        "dropout",
                        self._t(f0),
                        self._t(f1),
                        c + 1,
                        sev,
                        round(level, 1),
                        f"level collapse {depth:.0f} dB for {(b - a) * sub_s * 1000:.0f} ms",
                    )
                )
        return out


def _power_mean_db(env_db: np.ndarray) -> float:
    return (
        float(m.power_db(np.mean(10 ** (env_db.astype(np.float64) / 10))))
        if len(env_db)
        else m.DBFS_FLOOR
    )


def overflow_events(
    log_path: Path | None, profile: Profile, offset_s: float = 0.0, rate_hz: float | None = None
):
    """Capture-log ``overflow`` and ``gap`` events as QC events (audio frames lost in capture).

    ``gap`` events with ``source`` "timestamps" count video frames: the frame_drop check's.
    """
    t = profile.thresholds("overflow")
    if log_path is None or not Path(log_path).exists():
        return [], "no capture log"
    from metadata.take.log import read_log

    rate = rate_hz
    found = []
    for ev in read_log(Path(log_path)):
        if ev.event == "take_start" and rate is None:
            settings = ev.fields.get("settings") or {}
            if isinstance(settings, dict):
                rate = settings.get("rate_hz") or settings.get("rate")
        if ev.event in ("overflow", "gap") and ev.fields.get("source") != "timestamps":
            try:
                at = float(ev.fields.get("at_s", 0.0))
                lost = int(ev.fields.get("frames_lost", 0))
            except (TypeError, ValueError):
                continue
            found.append((at, lost, ev.event, ev.fields.get("source", "")))
    total = sum(lost for _, lost, _, _ in found)
    events = []
    for at, lost, kind, source in found:
        if lost < t["warn_frames_lost"]:
            continue
        dur = lost / float(rate) if rate else 0.0
        sev = "fail" if total >= t["fail_frames_lost"] else "warn"
        src = f" ({source})" if source else ""
        events.append(
            QCEvent(
                "overflow",
                offset_s + at,
                offset_s + at + dur,
                None,
                sev,
                float(lost),
                f"{kind}: {lost} audio frames lost in capture{src}",
            )
        )
    return events, f"{total} audio frames lost in {len(found)} capture events"


def _prefetch(it: Iterator[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """Read the next chunks in a thread while this one is analysed (libsndfile releases the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def reader():
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    th = threading.Thread(target=reader, name="qc-reader", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        th.join(timeout=5)


def run_audio_checks(
    path: Path,
    profile: Profile,
    progress=None,
    log_path: Path | None = None,
    stream_index: int | None = None,
    progress_span: tuple[float, float] = (0.0, 1.0),
) -> AudioQC:
    """Every enabled audio check over one file (or one audio stream of a media file)."""
    with AudioSource(path, stream_index) as src:
        info = src.info
        an = AudioAnalyzer(info.rate_hz, info.channels, profile, offset_s=info.start_s)
        total = info.frames or 0
        lo, hi = progress_span
        try:
            for xc in _prefetch(src.chunks()):
                an.feed(xc)
                if progress and total:
                    progress(lo + (hi - lo) * min(1.0, an.frames / total), "audio")
        finally:
            an.close()
        if an.frames == 0:
            raise HeadblockError(f"{Path(path).name}: the audio holds no samples")
        if (
            info.frames
            and an.frames < info.frames * 0.98
            and info.container in ("WAV", "RF64", "W64")
        ):
            pass  # libsndfile already trimmed a truncated data chunk to what is on disk
        result = an.finish(log_path)
        result.stats["container"] = info.container
        result.stats["subtype"] = info.subtype
        return result
