"""Live QC: the take's frames and samples measured while they are written.

The take hands each frame (``LiveVideo.submit``) and each block of samples (``LiveAudio.feed``)
to a worker thread after the encoder or writer is done with it. The workers run the same
measures as the offline QC (``qc.video_stats.FrameAnalyzer``, ``qc.audio.analysis.AudioAnalyzer``
fed in the same 4 s chunks), so the tables they build are the ones a decode of the master gives.

The take never waits for them: their queues are bounded and a full queue drops the work, not
the frame or the samples. What was dropped is read back from the master after Stop
(``LiveVideo.finish`` decodes only the frames it lacks; ``LiveAudio.finish`` reads the file
from the first block it could not take), so the result is always complete.

While the take runs, the video worker judges the newest statistics every ``JUDGE_EVERY_S``
with the check table's detectors and reports what fires (``on_event``: ``qc_live``), so the
bench can show "video dropout at 12:41" while the tape plays.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from metadata.errors import HeadblockError
from qc.audio.analysis import AudioAnalyzer, AudioQC
from qc.audio.reading import CHUNK_BLOCKS as AUDIO_CHUNK_BLOCKS
from qc.audio.reading import AudioSource, block_frames_for, prefetch
from qc.profiles import Profile
from qc.table import checks_for
from qc.video_checks import run_detectors, video_params
from qc.video_stats import (
    FIELDS,
    FrameAnalyzer,
    VideoInfo,
    VideoStats,
    _pix_info,
    _plane_arrays,
    _process_settings,
    open_video,
    video_info,
)

LIVE_NICE = 10  # below the take's threads and the window: analysis is what gives way
VIDEO_QUEUE_FRAMES = 45  # 1.5 s of video waiting for analysis (about 63 MB of 10-bit SD)
AUDIO_QUEUE_CHUNKS = 3  # 12 s of audio
JUDGE_EVERY_S = 2.0  # wall time between live judgements
JUDGE_WINDOW_S = 90.0  # the newest statistics judged each time
JUDGE_SETTLE_S = 5.0  # events starting this close to the window's start are left to later

# Checks judged live from the statistics (the rest need the file or the whole take)
LIVE_VIDEO_CHECKS = (
    "video_dropout",
    "line_repetition",
    "out_of_range",
    "saturation",
    "black",
    "freeze",
)

EventFn = Callable[[str, dict], None]


def _lower_thread() -> None:
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LIVE_NICE)
        except OSError:
            pass


def matroska_ms(slot: int, time_base: Fraction) -> float:
    """A frame's time as the Matroska muxer stores it: milliseconds, rounded half up."""
    ms = Fraction(slot) * time_base * 1000
    return float((ms + Fraction(1, 2)).__floor__()) / 1000.0


# -- video -----------------------------------------------------------------------------------


@dataclass
class LiveCounts:
    """How much the live analysis took and what it left for after Stop."""

    submitted: int = 0
    analysed: int = 0
    dropped: int = 0
    refilled: int = 0  # read back from the master after Stop
    refill_s: float = 0.0
    events_sent: int = 0
    judge_cpu_s: float = 0.0
    analysis_cpu_s: float = 0.0

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in vars(self).items()}


_STOP = object()


class _Sent:
    """Live events said to the take's listener: each once, again only when it has grown."""

    def __init__(self, on_event: EventFn, counts: LiveCounts):
        self.on_event, self.counts = on_event, counts
        self._end: dict[tuple, float] = {}

    def send(self, events, settle_s: float) -> None:
        """``events`` starting before ``settle_s`` are left to a later judgement (their start
        may lie before the judged window)."""
        for ev in events:
            if ev.start_s < settle_s:
                continue
            key = (ev.check, ev.channel, round(ev.start_s, 3))
            if self._end.get(key) == round(ev.end_s, 3):
                continue
            self._end[key] = round(ev.end_s, 3)
            self.counts.events_sent += 1
            self.on_event(
                "qc_live",
                {
                    "check": ev.check,
                    "start_s": round(ev.start_s, 3),
                    "end_s": round(ev.end_s, 3),
                    "channel": ev.channel,
                    "severity": ev.severity,
                    "detail": ev.detail,
                },
            )


class LiveVideo:
    """Per-frame statistics of a take's video, measured from the frames as they are encoded.

    ``submit(frame, slot)`` is called by the encoder thread, in order, with the frame it
    encoded (planar, the master's pixel format) and its slot (frame periods from the start).
    """

    def __init__(
        self,
        width: int,
        height: int,
        pix_fmt: str,
        time_base: Fraction,
        profile: Profile,
        *,
        on_event: EventFn | None = None,
        log_path: Path | None = None,
        queue_frames: int = VIDEO_QUEUE_FRAMES,
    ):
        self.profile = profile
        self.params = video_params(profile)
        self.time_base = Fraction(time_base)
        self.frame_s = float(self.time_base)
        depth, shift, self.convert_to = _pix_info(av.VideoFormat(pix_fmt))
        self.pix_fmt = pix_fmt
        self.dtype = np.uint16 if depth > 8 else np.uint8
        self.analyzer = FrameAnalyzer(width, height, depth, shift, self.params)
        self.on_event = on_event
        self.log_path = log_path
        self.counts = LiveCounts()
        self._q: queue.Queue = queue.Queue(maxsize=max(2, queue_frames))
        self._pts: list[float] = []  # by frame number, appended by the submitting thread
        self._rows = np.full((4096, len(FIELDS)), np.nan, dtype=np.float32)
        self._have = np.zeros(4096, dtype=bool)  # rows measured (a dropped frame: False)
        self._n_rows = 0
        self._rows_lock = threading.Lock()
        self._sent = _Sent(on_event, self.counts) if on_event else None
        self._stopped = False
        self._worker = threading.Thread(target=self._run, name="qc-live-video", daemon=True)
        self._worker.start()

    # the encoder's side: never blocks
    def submit(self, frame: av.VideoFrame, slot: int) -> None:
        k = len(self._pts)
        self._pts.append(matroska_ms(slot, self.time_base))
        self.counts.submitted += 1
        try:
            self._q.put_nowait((k, frame))
        except queue.Full:
            self.counts.dropped += 1

    # the worker
    def _grow(self, n: int) -> None:
        if n <= len(self._rows):
            return
        size = max(n, 2 * len(self._rows))
        rows = np.full((size, len(FIELDS)), np.nan, dtype=np.float32)
        have = np.zeros(size, dtype=bool)
        rows[: self._n_rows] = self._rows[: self._n_rows]
        have[: self._n_rows] = self._have[: self._n_rows]
        with self._rows_lock:
            self._rows, self._have = rows, have

    def _run(self) -> None:
        _lower_thread()
        _process_settings(True)
        cpu0 = time.thread_time()
        expected = 0
        next_judge = time.monotonic() + JUDGE_EVERY_S
        row = np.empty(len(FIELDS), dtype=np.float64)
        try:
            while True:
                try:
                    item = self._q.get(timeout=0.25)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    k, frame = item
                    if k != expected:  # frames were dropped: the next one has no predecessor
                        self.analyzer.reset()
                    if self.convert_to is not None:
                        frame = frame.reformat(format=self.convert_to)
                    y, u, v = _plane_arrays(frame, self.dtype)
                    self.analyzer.analyze(y, u, v, out=row)
                    self._grow(k + 1)
                    self._rows[k] = row
                    # a frame after a gap lacks its difference to the frame before: refilled
                    self._have[k] = k == expected
                    self._n_rows = max(self._n_rows, k + 1)
                    expected = k + 1
                    self.counts.analysed += 1
                if self._sent is not None and time.monotonic() >= next_judge:
                    t0 = time.thread_time()
                    self._judge()
                    self.counts.judge_cpu_s += time.thread_time() - t0
                    next_judge = time.monotonic() + JUDGE_EVERY_S
        finally:
            self.counts.analysis_cpu_s = time.thread_time() - cpu0
            _process_settings(False)

    def _judge(self, final: bool = False) -> None:
        """The newest statistics through the live checks; new or grown events are sent."""
        n = self._n_rows
        if n < 2:
            return
        first = 0 if final else max(0, n - int(JUDGE_WINDOW_S / self.frame_s))
        with self._rows_lock:
            table = self._rows[first:n].copy()
        pts = np.asarray(self._pts[first:n], dtype=np.float64)
        measured = ~np.isnan(table[:, 0])  # frames the analysis dropped wait for the file
        if not measured.all():
            table, pts = table[measured], pts[measured]
            if len(pts) < 2:
                return
        info = self._info(n)
        stats = VideoStats(info, pts, table, self.params)
        checks = LIVE_VIDEO_CHECKS
        _, events, _ = run_detectors(None, self.profile, stats, only=checks)
        self._sent.send(events, float(pts[0]) + JUDGE_SETTLE_S if first > 0 else -1.0)

    def _info(self, n: int) -> VideoInfo:
        depth = self.analyzer.depth
        return VideoInfo(
            width=self.analyzer.w,
            height=self.analyzer.h,
            pix_fmt=self.pix_fmt,
            analysed_as=self.convert_to or self.pix_fmt,
            bit_depth=depth,
            chroma_shift=(self.analyzer.hsub, self.analyzer.vsub),
            rate=1 / self.time_base,
            time_base=Fraction(1, 1000),
            codec="ffv1",
            frames_hint=n,
            duration_s=n * self.frame_s,
        )

    def close(self) -> None:
        """No more frames: the worker finishes what is queued."""
        if self._stopped:
            return
        self._stopped = True
        self._q.put(_STOP)
        self._worker.join()

    def finish(self, master: Path, progress=None) -> VideoStats:
        """The statistics of every frame in ``master``: the live rows, and the frames the
        live analysis could not take decoded from the closed file."""
        self.close()
        n = len(self._pts)
        self._grow(n)
        self._n_rows = n
        missing = np.flatnonzero(~self._have[:n])
        container, stream = open_video(master)
        try:
            info = video_info(container, stream)
            if missing.size:
                t0 = time.perf_counter()
                self._refill(container, stream, info, missing, progress)
                self.counts.refill_s = time.perf_counter() - t0
        finally:
            container.close()
        if not self._have[:n].all():
            lacking = int(n - self._have[:n].sum())
            raise HeadblockError(
                f"{Path(master).name}: {lacking} frames measured while recording could not be "
                "found in the master"
            )
        pts = np.asarray(self._pts, dtype=np.float64)
        stats = VideoStats(info, pts, self._rows[:n].copy(), self.params)
        stats.timing = {f"live_{k}": float(v) for k, v in vars(self.counts).items()}
        return stats

    def _refill(self, container, stream, info: VideoInfo, missing: np.ndarray, progress) -> None:
        """Decode the missing frames (each with the frame before it, for its differences)."""
        ms_to_k = {int(round(t * 1000)): k for k, t in enumerate(self._pts)}
        runs = np.split(missing, np.flatnonzero(np.diff(missing) > 30) + 1)
        analyzer = FrameAnalyzer(
            info.width, info.height, info.bit_depth, info.chroma_shift, self.params
        )
        dtype = self.dtype
        tb = stream.time_base
        row = np.empty(len(FIELDS), dtype=np.float64)
        done = 0
        _process_settings(True)
        try:
            for run in runs:
                first, last = int(run[0]), int(run[-1])
                start = max(first - 1, 0)
                want = set(run.tolist())
                analyzer.reset()
                target_ms = int(round(self._pts[start] * 1000))
                container.seek(int(Fraction(target_ms, 1000) / tb), stream=stream, backward=True)
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    k = ms_to_k.get(int(round(float(frame.pts * frame.time_base) * 1000)))
                    if k is None or k < start:
                        continue
                    if self.convert_to is not None:
                        frame = frame.reformat(format=self.convert_to)
                    y, u, v = _plane_arrays(frame, dtype)
                    analyzer.analyze(y, u, v, out=row)
                    if k in want:
                        self._rows[k] = row
                        self._have[k] = True
                        self.counts.refilled += 1
                        done += 1
                        if progress and done % 32 == 0:
                            progress(min(done / len(missing), 1.0), "frames left by live QC")
                    if k >= last:
                        break
        except av.error.FFmpegError as exc:
            raise HeadblockError(f"reading back frames for QC: {exc}") from exc
        finally:
            _process_settings(False)


# -- audio -----------------------------------------------------------------------------------

# Audio checks judged live on the newest chunks (silence, hum, loudness and the capture log's
# checks need the whole take)
LIVE_AUDIO_CHECKS = ("clipping", "dropout", "click", "dc_offset", "phase", "channel_imbalance")
JUDGE_AUDIO_CHUNKS = 15  # 60 s


def to_float(block: np.ndarray, bits: int) -> np.ndarray:
    """Channel-major float32 samples as a reader of the master gets them: the ``bits`` the
    master keeps of each sample (int32 carries audio in its top bits), over full scale."""
    if block.dtype == np.int32:
        x = (block >> (32 - bits)).astype(np.float32) if bits < 32 else block.astype(np.float32)
        scale = np.float32(2.0 ** -(bits - 1))
    elif block.dtype == np.int16:
        x = block.astype(np.float32)
        scale = np.float32(2.0**-15)
    else:
        raise HeadblockError(f"live QC takes int32 or int16 samples, not {block.dtype}")
    x *= scale
    return np.ascontiguousarray(x.T)


@dataclass
class _AudioState:
    frames_fed: int = 0  # samples the analyser took, in order from the start
    abandoned: bool = False  # a block could not be taken: the rest is read from the file
    reason: str = ""
    chunks: list = field(default_factory=list)


class LiveAudio:
    """The QC accumulator of a take's audio, fed as the take writes it (``feed``, in order,
    interleaved integer samples). A full queue ends the live part: the file is read from there
    after Stop."""

    def __init__(
        self,
        rate_hz: int,
        channels: int,
        bits: int,
        profile: Profile,
        *,
        offset_s: float = 0.0,
        queue_chunks: int = AUDIO_QUEUE_CHUNKS,
        on_event: EventFn | None = None,
    ):
        self.rate_hz, self.channels, self.bits = int(rate_hz), int(channels), int(bits)
        self.profile = profile
        self.analyzer = AudioAnalyzer(self.rate_hz, self.channels, profile, offset_s=offset_s)
        self.chunk_frames = block_frames_for(self.rate_hz) * AUDIO_CHUNK_BLOCKS
        self.counts = LiveCounts()
        self._sent = _Sent(on_event, self.counts) if on_event else None
        # chunk buffers, made at the first block (its sample type) and reused: the writer's
        # thread copies into one and never allocates per block
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._buffers = max(1, queue_chunks) + 2  # queued, being analysed, being filled
        self._buf: np.ndarray | None = None
        self._have = 0  # samples in the buffer being filled
        self._taken = 0  # samples handed over (queued or fed)
        self._state = _AudioState()
        self._q: queue.Queue = queue.Queue(maxsize=max(1, queue_chunks))
        self._stopped = False
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="qc-live-audio", daemon=True)
        self._worker.start()

    def feed(self, block: np.ndarray) -> None:
        """Interleaved samples (frames, channels), as written; copied, never blocks."""
        if self._state.abandoned or len(block) == 0:
            return
        if self._buf is None:
            if self._taken == 0 and self._free.empty():  # the first block: the buffers
                for _ in range(self._buffers):
                    self._free.put(np.empty((self.chunk_frames, self.channels), block.dtype))
            try:
                self._buf = self._free.get_nowait()
            except queue.Empty:
                self._abandon(f"the analysis fell behind at {self._taken / self.rate_hz:.1f} s")
                return
        done = 0
        while done < len(block):
            n = min(len(block) - done, self.chunk_frames - self._have)
            self._buf[self._have : self._have + n] = block[done : done + n]
            self._have += n
            done += n
            if self._have == self.chunk_frames:
                self._hand_over()
                if self._state.abandoned:
                    return
                try:
                    self._buf = self._free.get_nowait()
                except queue.Empty:
                    self._buf = None
                    self._abandon(f"the analysis fell behind at {self._taken / self.rate_hz:.1f} s")
                    return

    def _hand_over(self) -> None:
        chunk, n = self._buf, self._have
        self._buf, self._have = None, 0
        try:
            self._q.put_nowait((chunk, n))
            self._taken += n
        except queue.Full:
            self._abandon(f"the analysis fell behind at {self._taken / self.rate_hz:.1f} s")

    def _abandon(self, reason: str) -> None:
        self._state.abandoned = True
        self._state.reason = reason
        self._buf, self._have = None, 0
        self.counts.dropped += 1

    def _run(self) -> None:
        _lower_thread()
        cpu0 = time.thread_time()
        try:
            while True:
                item = self._q.get()
                if item is _STOP:
                    break
                buf, n = item
                samples = to_float(buf[:n], self.bits)
                self._free.put(buf)  # converted: the writer may fill it again
                self.analyzer.feed(samples)
                self._state.frames_fed += n
                self.counts.analysed += 1
                if self._sent is not None and n == self.chunk_frames:
                    t0 = time.thread_time()
                    self._judge()
                    self.counts.judge_cpu_s += time.thread_time() - t0
        except BaseException as exc:  # said at finish; the file is read instead
            self._error = exc
            self._state.abandoned = True
            self._state.reason = f"live analysis failed: {exc}"
            while self._q.get() is not _STOP:
                pass
        finally:
            self.counts.analysis_cpu_s = time.thread_time() - cpu0

    def _judge(self) -> None:
        """The newest minute through the live audio checks; new or grown events are sent."""
        found = self.analyzer.snapshot(JUDGE_AUDIO_CHUNKS)
        if found is None:
            return
        settle = found.offset_s + JUDGE_SETTLE_S if found.offset_s > self.analyzer.offset_s else -1
        for spec in checks_for("audio"):
            if spec.id not in LIVE_AUDIO_CHECKS or not self.profile.enabled(spec.id):
                continue
            events, _ = spec.detector(found, found.thresholds[spec.id])
            found.found[spec.id] = events
            self._sent.send(events, settle)

    def close(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if not self._state.abandoned and self._have:
            chunk, n = self._buf, self._have
            self._buf, self._have = None, 0
            self._q.put((chunk, n))  # the last, short chunk: waits (the take is over)
        self._q.put(_STOP)
        self._worker.join()

    def finish(
        self, master: Path, log_path: Path | None, stream_index: int | None = None, progress=None
    ) -> AudioQC:
        """The audio checks of the whole take: what the live analysis took, and the rest of
        the file read from where it stopped."""
        self.close()
        analyzer = self.analyzer
        try:
            with AudioSource(master, stream_index) as src:
                info = src.info
                if self._state.abandoned:
                    t0 = time.perf_counter()
                    start = self._state.frames_fed
                    for chunk in prefetch(src.chunks(start_frame=start)):
                        analyzer.feed(chunk)
                        self.counts.refilled += chunk.shape[1]
                        if progress and info.frames:
                            progress(min(analyzer.frames / info.frames, 1.0), "audio")
                    self.counts.refill_s = time.perf_counter() - t0
        finally:
            analyzer.close()
        # a WAV says its length to the sample; Matroska only to the millisecond
        slack = 0 if info.container in ("WAV", "RF64", "WAVEX") else self.rate_hz // 100
        if info.frames is not None and abs(analyzer.frames - info.frames) > slack:
            raise HeadblockError(
                f"{Path(master).name}: live QC measured {analyzer.frames} samples, the master "
                f"holds {info.frames}"
            )
        if analyzer.frames == 0:
            raise HeadblockError(f"{Path(master).name}: the audio holds no samples")
        result = analyzer.finish(log_path)
        result.stats["container"] = info.container
        result.stats["subtype"] = info.subtype
        result.stats["live"] = {**self.counts.as_dict(), "left_for_after_stop": self._state.reason}
        return result

    @property
    def abandoned_reason(self) -> str:
        return self._state.reason


@dataclass
class LiveTake:
    """What a take measured while it was recorded: its video and its (first) audio."""

    video: LiveVideo | None = None
    audio: LiveAudio | None = None

    def close(self) -> None:
        """Stop the workers (an abandoned take: nothing is judged)."""
        for part in (self.video, self.audio):
            if part is not None:
                part.close()
