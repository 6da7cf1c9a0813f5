"""The video take: a capture card (or test signal, or the demo deck) to an FFV1/Matroska master.

Threads, so that recording never waits for anything slower than the device:

* reader: pulls decoded frames from the source, maps device timestamps to frame slots, counts
  timestamp gaps (frames the device or driver lost), keeps the newest frame for the preview,
  and hands frames to a bounded queue. It never blocks: a device cannot wait, so when the
  queue is full the frame is dropped *here*, counted and logged as ``frame_drop`` with its
  time (an explicit, located loss rather than an unobserved overrun inside the driver);
* audio feed (only for ``--audio-device``): a PortAudio input through ``capture.audio_input``
  or an FFmpeg test source, placed on the video's time line by measured arrival;
* encoder: FFV1 + PCM into Matroska with the framemd5 computed from the frames written.
  Its queue depth is in ``status()`` and logged (``queue_depth``) when it grows.

After the stop the master is closed, its display aspect set, and the shared end of a take
(``capture.finalize``: md5, PBCore, PREMIS, QC, catalogue) runs.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from capture.mkv_writer import AudioParams, MkvWriter, VideoParams, master_pix_fmt
from capture.priority import AFTER_TAKE_NICE, lower_this_thread
from capture.video_input import (
    StoppableInput,
    VideoDeviceSpec,
    VideoSource,
    open_video_source,
    parse_video_device,
    standard_for,
)
from metadata.errors import HeadblockError
from metadata.take.log import TakeLog, utc_now
from metadata.take.meta import TakeMeta
from metadata.take.naming import TakePaths, new_take_dir
from metadata.take.record import AudioEssence, TakeRecord, VideoEssence

DISK_RESERVE_BYTES = 64 << 20  # kept for the trailer, cues, framemd5 and sidecars
DISK_STOP_MARGIN_S = 5.0  # stop while this much video still fits (the queue drains after)
SD_BYTES_PER_S_GUESS = 25e6  # 10-bit SD FFV1 on noisy tape, until measured
QUEUE_LOG_INTERVAL_S = 1.0
# The encoder thread leaves and re-enters FFmpeg several times a frame; with CPython's
# default 5 ms switch interval it waits behind every other busy thread each time (measured:
# 1.43x real-time headroom at 5 ms, 1.54x at 1 ms, on the demo deck with a preview).
SWITCH_INTERVAL_S = 0.001

EventFn = Callable[[str, dict], None]


@dataclass
class VideoTakeSettings:
    device: str
    library: Path
    item: str
    seconds: float | None = None
    audio_device: str | None = None  # None: the device's own audio; "none": no audio
    standard: str | None = None
    pix_fmt: str | None = None
    options: list[str] = field(default_factory=list)
    audio_rate_hz: int = 48000
    audio_channels: int = 2
    audio_bits: int = 24
    meta: TakeMeta = field(default_factory=TakeMeta)
    profile: str = "default"
    run_qc: bool = True
    queue_frames: int = 90  # ~3 s of SD (~126 MB at 10-bit 4:2:2)
    encoder_threads: int = 2
    on_event: EventFn | None = None  # called from engine threads (as AudioTakeSettings)


@dataclass
class VideoPreview:
    """The newest frame's native planes (no RGB conversion) for preview and scopes."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    bit_depth: int
    width: int
    height: int
    pts_s: float
    pix_fmt: str = ""


@dataclass
class VideoTakeStatus:
    state: str = "idle"  # idle | recording | finishing | done | failed
    elapsed_s: float = 0.0  # media time received
    frames_received: int = 0
    frames_written: int = 0
    frames_dropped: int = 0  # dropped by us (encoder queue full)
    frames_lost: int = 0  # all missing frame slots: timestamp gaps + dropped
    gaps: int = 0
    device_drops: int = 0
    last_loss_at_s: float | None = None
    encoder_queue_depth: int = 0
    encoder_queue_peak: int = 0
    queue_fill: float = 0.0
    audio_samples_written: int = 0
    audio_frames_lost: int = 0  # a second audio input's own losses
    overflows: int = 0
    disk_free_bytes: int = 0
    disk_time_left_s: float | None = None
    encode_fps: float = 0.0  # frames written per second of wall time since the first
    encoder_busy_s: float = 0.0  # time spent encoding/muxing/hashing (capacity = frames / busy)
    closing: float | None = None  # share of the read-back after the master closed, while it runs


class _AudioFrames:
    """Converts whatever audio arrives into ``(n, channels)`` int arrays in the master's format."""

    def __init__(self, params: AudioParams):
        self.params = params
        self._resampler = None

    def from_av(self, frame: av.AudioFrame) -> np.ndarray:
        p = self.params
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format=p.sample_format, layout=p.layout, rate=p.rate_hz
            )
        frame.pts = None
        out = [f.to_ndarray().reshape(-1, p.channels) for f in self._resampler.resample(frame)]
        if not out:
            return np.zeros((0, p.channels), self.dtype)
        return out[0] if len(out) == 1 else np.concatenate(out)

    @property
    def dtype(self):
        return np.int32 if self.params.bits == 24 else np.int16

    def from_float(self, block: np.ndarray) -> np.ndarray:
        full = 2147483647.0 if self.params.bits == 24 else 32767.0
        out = np.clip(np.round(block.astype(np.float64) * full), -full - 1, full).astype(self.dtype)
        if self.params.bits == 24:
            out &= ~np.int32(0xFF)  # 24-bit samples in the top bits
        return out


class _LavfiAudioFeed(StoppableInput):
    """``--audio-device lavfi:GRAPH``: an FFmpeg audio test source, paced in real time."""

    def __init__(self, graph: str, conv: _AudioFrames):
        self.conv = conv
        self.text = f"lavfi:{graph}"
        try:
            self.container = av.open(graph, format="lavfi")
        except av.error.FFmpegError as exc:
            raise HeadblockError(f"cannot open audio input lavfi:{graph}: {exc}") from exc
        if not self.container.streams.audio:
            self.container.close()
            raise HeadblockError(f"the audio input lavfi:{graph} has no audio stream")
        self.overflows = 0
        self.frames_lost = 0
        self._stop = threading.Event()

    def blocks(self):
        """Yields ``(block, arrival_monotonic_s)``."""
        t0 = None
        done = 0
        rate = self.conv.params.rate_hz
        for frame in self.container.decode(audio=0):
            if self._stop.is_set():
                return
            block = self.conv.from_av(frame)
            if t0 is None:
                t0 = time.monotonic()
            done += len(block)
            delay = t0 + done / rate - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            yield block, time.monotonic()

    def start(self) -> None:
        pass

    def losses(self) -> list:
        return []

    def _release(self) -> None:
        self.container.close()


class _PortAudioFeed(StoppableInput):
    """``--audio-device NAME``: a PortAudio input through the audio take's capture engine."""

    def __init__(self, device: str, conv: _AudioFrames):
        from capture.audio_input import open_audio_input

        p = conv.params
        self.conv = conv
        self.text = device
        dev = int(device) if device.isdigit() else device
        self.input = open_audio_input(dev, p.rate_hz, p.channels, p.bits)
        self._stop = threading.Event()

    @property
    def overflows(self) -> int:
        return int(getattr(self.input.stats(), "overflows", 0))

    @property
    def frames_lost(self) -> int:
        return int(getattr(self.input.stats(), "frames_lost", 0))

    def start(self) -> None:
        self.input.start()
        if not self.input.wait_first_block(10.0):
            self.input.stop()
            raise HeadblockError(f"the audio input {self.text} delivers no audio")
        self.input.begin_take()

    def losses(self) -> list:
        return list(self.input.poll_losses())

    def blocks(self):
        ring = self.input.ring
        bits = self.conv.params.bits
        while not self._stop.is_set():
            if ring.available == 0:
                self._stop.wait(0.005)
                continue
            block = ring.read()
            now = time.monotonic()
            if block.dtype.kind == "f":
                block = self.conv.from_float(block)
            elif bits == 16 and block.dtype != np.int16:
                block = (block.astype(np.int32) >> 16).astype(np.int16)
            elif bits == 24 and block.dtype != np.int32:
                block = block.astype(np.int32) << 16
            yield np.ascontiguousarray(block), now

    def _release(self) -> None:
        self.input.stop()


class VideoTake:
    """One video take; the API mirrors AudioTake (see docs/architecture.md): ``start()``,
    ``stop(reason)``, ``wait(timeout)``, ``status()``, ``latest_frame()``, ``result`` (the
    shared ``capture.finalize.TakeResult``), ``error`` (the exception that failed it)."""

    def __init__(
        self,
        settings: VideoTakeSettings,
        source: VideoSource | None = None,
        on_event: EventFn | None = None,
    ):
        self.settings = settings
        self.on_event = on_event or settings.on_event
        self.spec: VideoDeviceSpec = parse_video_device(
            settings.device,
            standard=settings.standard,
            pix_fmt=settings.pix_fmt,
            options=settings.options,
            audio_channels=settings.audio_channels,
        )
        if settings.seconds is not None and settings.seconds <= 0:
            raise HeadblockError("--seconds must be positive")
        if settings.audio_bits not in (16, 24):
            raise HeadblockError("--audio-bits must be 16 or 24")
        self._source = source
        self.paths: TakePaths | None = None
        self.result = None  # capture.finalize.TakeResult once the take is finished
        self.error: BaseException | None = None
        self._status = VideoTakeStatus()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader_done = threading.Event()
        self._video_done = threading.Event()
        self._finished = threading.Event()
        self._stop_reason = ""
        self._latest: tuple[av.VideoFrame, float] | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max(2, settings.queue_frames))
        self._audio: collections.deque = collections.deque()
        self._threads: list[threading.Thread] = []
        self.log: TakeLog | None = None
        self.fixity_ok: bool | None = None
        self.input_error: BaseException | None = None
        self._meter_ring = None

    # -- public API ------------------------------------------------------------------------------
    def start(self) -> TakePaths:
        s = self.settings
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        want_embedded = s.audio_device is None
        source = self._source or open_video_source(self.spec, want_audio=want_embedded)
        self._source = source
        info = source.info
        std = self.spec.standard or standard_for(info.width, info.height, info.rate)
        if self.spec.standard and (info.width, info.height) != (std.width, std.height):
            source.close()
            raise HeadblockError(
                f"the input gives {info.width}x{info.height}, not the {std.label} raster "
                f"{std.width}x{std.height}"
            )
        if not info.pix_fmt:
            source.close()
            raise HeadblockError(f"the input {self.spec.text} reports no pixel format")
        self.std = std
        try:
            master_fmt = master_pix_fmt(info.pix_fmt)
        except HeadblockError:
            source.close()
            raise
        self.vparams = VideoParams(
            width=info.width,
            height=info.height,
            pix_fmt=master_fmt,
            source_pix_fmt=info.pix_fmt,
            rate=Fraction(info.rate),
            field_order=std.field_order if std else "progressive",
            display_aspect=std.display_aspect if std else None,
            color_primaries=std.color_primaries if std else "",
            color_trc=std.color_trc if std else "",
            colorspace=std.colorspace if std else "",
            standard=std.label if std else "",
        )
        # audio: embedded, a second input, or none
        self._feed = None
        self.aparams: AudioParams | None = None
        self._audio_source = "none"
        if want_embedded and info.audio_rate_hz:
            self.aparams = AudioParams(
                info.audio_rate_hz, info.audio_channels or 2, s.audio_bits, info.audio_layout or ""
            )
            self._audio_source = "embedded"
        elif s.audio_device and s.audio_device.lower() != "none":
            self.aparams = AudioParams(s.audio_rate_hz, s.audio_channels, s.audio_bits)
            conv = _AudioFrames(self.aparams)
            try:
                if s.audio_device.startswith("lavfi:"):
                    self._feed = _LavfiAudioFeed(s.audio_device[len("lavfi:") :], conv)
                else:
                    self._feed = _PortAudioFeed(s.audio_device, conv)
                self._feed.start()  # before the take folder: a silent input refuses the take
            except Exception:
                source.close()
                if self._feed is not None:
                    self._feed.close()
                raise
            self._audio_source = "separate"
        self._conv = _AudioFrames(self.aparams) if self.aparams else None
        self._meter_ring = None
        self.audio_frames_metered = 0
        self.audio_metered_at: float | None = None  # monotonic, newest metered block
        if self.aparams:
            from capture.ring import RingBuffer

            self._meter_ring = RingBuffer(
                self.aparams.rate_hz * 2, self.aparams.channels, self._conv.dtype
            )
        self.rate = Fraction(info.rate)
        self.target_frames = round(s.seconds * self.rate) if s.seconds else None

        try:
            self.paths = new_take_dir(Path(s.library), s.item)
            self.master = self.paths.master("video")
            self.log = TakeLog(self.paths.log)
            self.started_utc = utc_now()
            self.log.write(
                "take_start",
                kind="video",
                device=self.spec.text,
                settings=self._settings_dict(),
                meta=s.meta.to_dict(),
            )
            self.writer = MkvWriter(
                self.master,
                self.vparams,
                self.aparams,
                tags=self._tags(),
                framemd5_path=self.paths.framemd5,
                threads=s.encoder_threads,
            )
        except BaseException:
            self._close_inputs()
            if self.log:
                self.log.close()
            raise
        from capture.watchdog import DiskWatchdog

        self._watchdog = DiskWatchdog(
            self.paths.directory,
            bytes_per_s=SD_BYTES_PER_S_GUESS * (info.width * info.height) / (720 * 486),
            reserve_bytes=DISK_RESERVE_BYTES,
            stop_margin_s=DISK_STOP_MARGIN_S + s.queue_frames / float(self.rate),
        )
        self._status.state = "recording"
        self._emit("take_start", {"master": str(self.master)})
        self._spawn(self._reader, "video-reader", fatal=False)
        if self._feed is not None:
            self._spawn(self._audio_feed_loop, "video-audio-feed")
        self._spawn(self._encoder, "video-encoder")
        return self.paths

    def stop(self, reason: str = "user") -> None:
        """Stop recording; frames already captured are written (the audio up to them)."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._stop.set()
        self._video_done.set()
        src = self._source
        if (
            src is not None
            and hasattr(src, "stop")
            and (self._audio_source != "embedded" or reason in ("error", "input error"))
        ):
            src.stop()
        if reason == "error" and self._feed is not None:
            self._feed.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def status(self) -> VideoTakeStatus:
        with self._lock:
            st = VideoTakeStatus(**asdict(self._status))
        st.encoder_queue_depth = self._queue.qsize()
        st.queue_fill = st.encoder_queue_depth / self._queue.maxsize
        if self._feed is not None:
            st.overflows = self._feed.overflows
            st.audio_frames_lost = self._feed.frames_lost
        return st

    def latest_audio(self, n_frames: int) -> np.ndarray | None:
        """The newest ``n_frames`` of the take's audio (as placed on the video's time line),
        float32 in [-1, 1] shaped (n, channels), for meters; None for a take without audio."""
        ring = self._meter_ring
        if ring is None:
            return None
        full = 2147483648.0 if self.aparams.bits == 24 else 32768.0
        return ring.latest(n_frames).astype(np.float32) / np.float32(full)

    @property
    def audio_params(self) -> AudioParams | None:
        """Rate, channels and bits of the take's audio (None before start or without audio)."""
        return getattr(self, "aparams", None)

    def latest_frame(self) -> VideoPreview | None:
        latest = self._latest
        if latest is None:
            return None
        return preview_of(*latest)

    # -- threads ---------------------------------------------------------------------------------
    def _spawn(self, fn, name: str, fatal: bool = True) -> None:
        t = threading.Thread(target=self._guard(fn, fatal), name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _guard(self, fn, fatal: bool = True):
        """Errors reach the controlling thread. A failing input (``fatal=False``) ends the take
        like a stop: what was captured is closed and finalized; the log says why."""

        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - carried to the controlling thread
                name = threading.current_thread().name
                if not fatal:
                    self.input_error = exc
                    if self.log:
                        self.log.write("input_error", "ERROR", thread=name, error=str(exc))
                    self.stop("input error")
                    self._reader_done.set()
                    return
                if self.error is None:
                    self.error = exc
                if self.log:
                    self.log.write("error", "ERROR", thread=name, error=str(exc))
                self.stop("error")
                self._reader_done.set()

        return run

    def _emit(self, name: str, fields: dict) -> None:
        if self.on_event:
            try:
                self.on_event(name, fields)
            except Exception:  # noqa: BLE001 - a listener never stops a take
                pass

    def _reader(self) -> None:
        src = self._source
        t0 = None
        last_slot = -1
        drop_run: list = []  # [first_at_s, count] of frames dropped in a row
        pending: list = []
        dev_seen = (0, 0)
        last_t = 0.0
        audio_next = None
        video_done = False  # the last frame slot is in: only the audio tail is still read
        end_s = None
        try:
            for kind, frame, t_s in src.frames():
                if self._stop.is_set() and not video_done:
                    if self._conv is None or self._audio_source != "embedded" or t0 is None:
                        break
                    if self._stop_reason == "error":
                        break
                    video_done = True  # stopped: read on only for the audio of the last frames
                    end_s = float((last_slot + 1) / self.rate)
                    self._audio_end = self._video_end_samples(last_slot + 1) or 0
                if kind == "audio":
                    if self._conv is None:
                        continue
                    if t0 is None:  # audio ahead of the first frame: placed once video starts
                        pending.append((self._conv.from_av(frame), t_s))
                        continue
                    audio_next = self._place_audio(self._conv.from_av(frame), t_s - t0, audio_next)
                    if video_done and audio_next is not None and audio_next >= self._audio_end:
                        break
                    continue
                if video_done:
                    if self._conv is None or t_s - t0 > end_s + 0.5:
                        break  # no embedded audio tail, or it never comes
                    continue
                if t0 is None:
                    t0 = t_s
                    self._t0_wall = time.monotonic()
                    for block, ta in pending:
                        audio_next = self._place_audio(block, ta - t0, audio_next)
                    pending.clear()
                # slots follow the previous frame's timestamp: a gap is a jump of 1.5 frame
                # periods or more; a slow drift of the device clock never makes one
                if last_slot < 0:
                    slot = 0
                else:
                    slot = last_slot + max(1, round((t_s - last_t) * self.rate))
                last_t = t_s
                if self.target_frames is not None and slot >= self.target_frames:
                    self._stop_reason = self._stop_reason or "duration"
                    break
                lost = slot - last_slot - 1
                if lost > 0:
                    at_s = round(float((last_slot + 1) / self.rate), 3)
                    self.log.write("gap", "WARN", at_s=at_s, frames_lost=lost, source="timestamps")
                    self._emit("gap", {"at_s": at_s, "frames_lost": lost})
                    with self._lock:
                        self._status.gaps += 1
                        self._status.frames_lost += lost
                        self._status.last_loss_at_s = at_s
                last_slot = slot
                reported = (src.device_drops, src.device_errors)
                if reported != dev_seen:
                    self.log.write(
                        "device_error",
                        "WARN",
                        at_s=round(float(slot / self.rate), 3),
                        undecodable=reported[0] - dev_seen[0],
                        corrupt=reported[1] - dev_seen[1],
                        detail="reported by the device or its driver",
                    )
                    dev_seen = reported
                self._latest = (frame, float(slot / self.rate))
                with self._lock:
                    self._status.frames_received += 1
                    self._status.elapsed_s = float((slot + 1) / self.rate)
                    self._status.device_drops = src.device_drops
                try:
                    self._queue.put_nowait((slot, frame))
                    if drop_run:
                        self._log_drops(drop_run)
                        drop_run = []
                except queue.Full:
                    at_s = round(float(slot / self.rate), 3)
                    if not drop_run:
                        drop_run = [at_s, 0]
                    drop_run[1] += 1
                    with self._lock:
                        self._status.frames_dropped += 1
                        self._status.frames_lost += 1
                        self._status.last_loss_at_s = at_s
                if self.target_frames is not None and slot + 1 >= self.target_frames:
                    self._stop_reason = self._stop_reason or "duration"
                    video_done = True
                    end_s = float(self.target_frames / self.rate)
                    self._audio_end = self._video_end_samples(self.target_frames) or 0
                    self._last_slot = last_slot  # before the flag: the audio feed reads it
                    self._video_done.set()
                    if self._conv is None or self._audio_source != "embedded":
                        break
                    if audio_next is not None and audio_next >= self._audio_end:
                        break
        finally:
            if drop_run:
                self._log_drops(drop_run)
            self._last_slot = last_slot
            self._video_done.set()
            self._reader_done.set()
            if src.device_drops:
                with self._lock:
                    self._status.device_drops = src.device_drops

    def _log_drops(self, run: list) -> None:
        self.log.write(
            "frame_drop", "WARN", at_s=run[0], frames_lost=run[1], source="encoder_queue"
        )
        self._emit("frame_drop", {"at_s": run[0], "frames_lost": run[1]})

    def _place_audio(self, block: np.ndarray, rel_s: float, next_pts: int | None) -> int | None:
        """Queue an audio block that starts ``rel_s`` after the first video frame (device
        clock). The first block sets the A/V offset; later blocks follow gapless unless the
        device's own timestamps jump from the end of the previous block (a real break in
        the audio), so a slow drift between clocks never makes phantom gaps."""
        if len(block) == 0:
            return next_pts
        rate = self.aparams.rate_hz
        if next_pts is None:
            pts = round(rel_s * rate)
            self.av_offset_ms = round(rel_s * 1000.0, 2)
            self.log.write(
                "av_offset",
                offset_ms=self.av_offset_ms,
                source=self._audio_source,
                detail="first audio sample minus first video frame",
            )
            self._emit("av_offset", {"offset_ms": self.av_offset_ms})
        else:
            jump = round((rel_s - self._audio_prev_end_s) * rate)
            pts = next_pts
            if jump > max(1, rate // 100):  # more than 10 ms missing on the device clock
                pts = next_pts + jump
                self.log.write(
                    "gap", "WARN", at_s=round(next_pts / rate, 3), frames_lost=jump, source="audio"
                )
        self._audio_prev_end_s = rel_s + len(block) / rate
        self._meter(block)
        if pts < 0:
            block = block[-pts:]
            pts = 0
            if len(block) == 0:
                return next_pts
        self._audio.append((pts, block))
        return pts + len(block)

    def _meter(self, block: np.ndarray) -> None:
        ring = self._meter_ring
        if ring is not None:  # one producer (the audio thread); the meter ring keeps the newest
            excess = ring.available + len(block) - ring.capacity
            if excess > 0:
                ring.advance(min(excess, ring.available))
            ring.write(block[-ring.capacity :])
            self.audio_frames_metered += len(block)
            self.audio_metered_at = time.monotonic()

    def _audio_feed_loop(self) -> None:
        """A second input runs on its own clock: its first block is placed by arrival time
        (the measured A/V offset), the rest follow gapless; its losses are its own counters."""
        next_pts = None
        while not hasattr(self, "_t0_wall"):
            if self._reader_done.is_set():
                return
            time.sleep(0.002)
        rate = self.aparams.rate_hz
        deadline = None
        last_poll = time.monotonic()
        for block, arrival in self._feed.blocks():
            if arrival - last_poll > 0.5:
                last_poll = arrival
                self._log_feed_losses()
            if next_pts is None:
                start_wall = arrival - len(block) / rate
                next_pts = self._place_audio(block, start_wall - self._t0_wall, None)
            else:
                self._audio.append((next_pts, block))
                next_pts += len(block)
                self._meter(block)
            if self._video_done.is_set():
                # the audio for the last frames is still arriving: take it, briefly
                end = self._video_end_samples(getattr(self, "_last_slot", 0) + 1) or 0
                deadline = deadline or time.monotonic() + 1.0
                if next_pts >= end or time.monotonic() > deadline:
                    break
        self._feed.stop()
        self._log_feed_losses()

    def _log_feed_losses(self) -> None:
        for loss in self._feed.losses():
            self.log.write(
                "overflow",
                "WARN",
                at_s=loss.at_s,
                frames_lost=loss.frames_lost,
                source=loss.source,
                detail=getattr(loss, "detail", ""),
            )
            self._emit("overflow", {"at_s": loss.at_s, "frames_lost": loss.frames_lost})

    def _encoder(self) -> None:
        writer = self.writer
        rate = self.rate
        peak = 0
        last_log = 0.0
        logged_depth = 0
        t_first = None
        try:
            while True:
                try:
                    slot, frame = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if self._reader_done.is_set() and self._queue.empty():
                        break
                    self._check_disk()
                    continue
                depth = self._queue.qsize()
                now = time.monotonic()
                if depth > peak:
                    peak = depth
                if (
                    depth >= max(4, self._queue.maxsize // 4)
                    and depth > logged_depth
                    and now - last_log >= QUEUE_LOG_INTERVAL_S
                ):
                    self.log.write(
                        "queue_depth",
                        "WARN",
                        depth=depth,
                        capacity=self._queue.maxsize,
                        at_s=round(float(slot / rate), 3),
                    )
                    self._emit("queue_depth", {"depth": depth})
                    last_log, logged_depth = now, depth
                elif depth < logged_depth // 2:
                    logged_depth = depth
                if t_first is None:
                    t_first = now
                t_enc = time.perf_counter()
                writer.write_video(frame, slot)
                self._write_audio(until_samples=self._video_end_samples(slot + 1))
                busy = time.perf_counter() - t_enc
                with self._lock:
                    st = self._status
                    st.frames_written += 1
                    st.encoder_queue_peak = peak
                    st.encoder_busy_s += busy
                    if now > t_first:
                        st.encode_fps = st.frames_written / (time.monotonic() - t_first)
                if st.frames_written % 15 == 0:
                    self._check_disk()
            # the end: audio up to the end of the last frame slot written
            for t in self._threads:
                if t.name == "video-audio-feed":
                    t.join(timeout=3)
            end_slot = writer.stats.last_index + 1
            self._write_audio(until_samples=self._video_end_samples(end_slot), final=True)
        finally:
            self._status.encoder_queue_peak = peak
            self._finish_thread = threading.Thread(
                target=self._guard(self._finish), name="video-finish", daemon=True
            )
            self._finish_thread.start()

    def _video_end_samples(self, slots: int) -> int | None:
        if self.aparams is None:
            return None
        return int(round(Fraction(slots) / self.rate * self.aparams.rate_hz))

    def _write_audio(self, until_samples: int | None, final: bool = False) -> None:
        if self.aparams is None:
            return
        p = self.aparams
        while self._audio:
            pts, block = self._audio[0]
            if not final and pts + len(block) > until_samples:
                break  # wait until the video reaches its end (the tail is trimmed at the end)
            self._audio.popleft()
            if pts < self.writer.stats.audio_end_samples:  # overlap with what is written
                cut = self.writer.stats.audio_end_samples - pts
                block, pts = block[cut:], pts + cut
            if final:
                block = block[: max(0, until_samples - pts)]
            if len(block) == 0:
                continue
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block).reshape(1, -1), format=p.sample_format, layout=p.layout
            )
            frame.sample_rate = p.rate_hz
            self.writer.write_audio(frame, pts)
        with self._lock:
            self._status.audio_samples_written = self.writer.stats.audio_samples

    def _check_disk(self) -> None:
        """The shared disk watchdog, fed with the master's measured data rate."""
        dog = self._watchdog
        dur = self.writer.duration_s
        if dur > 0.5:
            dog.bytes_per_s = max(self.writer.stats.video_bytes / dur, 1.0)
        check = dog.check()
        with self._lock:
            self._status.disk_free_bytes = check.free_bytes
            self._status.disk_time_left_s = check.time_left_s
        if check.action == "stop" and not self._stop.is_set():
            self.log.write(
                "disk_stop",
                "ERROR",
                free_bytes=check.free_bytes,
                at_s=round(dur, 3),
                detail=check.message,
            )
            self._emit("disk_stop", {"free_bytes": check.free_bytes})
            self.stop("disk full")
        elif check.action == "warn":
            self.log.write(
                "disk_warning",
                "WARN",
                free_bytes=check.free_bytes,
                time_left_s=round(check.time_left_s, 1),
                detail=check.message,
            )
            self._emit("disk_warning", {"time_left_s": check.time_left_s})

    def _close_inputs(self) -> None:
        if self._source is not None:
            self._source.close()
        if self._feed is not None:
            self._feed.close()

    def _finish(self) -> None:
        try:
            self._finish_inner()
        finally:
            if self.log:
                self.log.close()
            with self._lock:
                self._status.state = "failed" if (self.error or self.fixity_ok is False) else "done"
            self._finished.set()

    def _finish_inner(self) -> None:
        stuck = []
        for t in self._threads:  # inputs are closed only when no thread reads them
            if t is not threading.current_thread() and t.name != "video-encoder":
                t.join(timeout=10)
                if t.is_alive():
                    stuck.append(t.name)
        if stuck:  # a device blocked in a read: leave it open rather than close it under a reader
            self.log.write("input_stuck", "WARN", threads=stuck, detail="the input was not closed")
        else:
            self._close_inputs()
        failed = self.error is not None
        if failed:
            self.writer.abort()
        else:
            self.writer.close()
        # the master is closed: what is left (reading it back, sidecars) must not take the
        # processor from a take the technician starts meanwhile
        lower_this_thread(AFTER_TAKE_NICE)
        stats = self.writer.stats
        with self._lock:
            self._status.state = "finishing"
        reason = self._stop_reason or ("error" if failed else "end of input")
        st = self.status()
        if stats.mkvpropedit not in ("ok", ""):
            self.log.write(
                "display_aspect", "WARN", detail=f"display size not written: {stats.mkvpropedit}"
            )
        self.log.write(
            "take_stop" if failed else "video_counts",
            "ERROR" if failed else ("WARN" if st.frames_lost else "INFO"),
            reason=reason,
            frames=stats.frames,
            frames_received=st.frames_received,
            frames_dropped=st.frames_dropped,
            frames_lost=st.frames_lost,
            gaps=st.gaps,
            device_drops=st.device_drops,
            queue_peak=st.encoder_queue_peak,
            audio_samples=stats.audio_samples,
            duration_s=round(self.writer.duration_s, 3),
        )
        if failed:
            self._emit("take_stop", {"reason": reason, "frames": stats.frames})
            return
        record = self._record(reason)
        self.result = finish_video_take(self, record, reason)
        self.fixity_ok = self.result.fixity_ok

    # -- metadata --------------------------------------------------------------------------------
    def _settings_dict(self) -> dict:
        s = self.settings
        v = self.vparams
        return {
            "width": v.width,
            "height": v.height,
            "pix_fmt": v.pix_fmt,
            "source_pix_fmt": v.source_pix_fmt,
            "frame_rate": f"{v.rate.numerator}/{v.rate.denominator}",
            "standard": v.standard,
            "field_order": v.field_order,
            "display_aspect": _ratio_text(v.display_size),
            "color_primaries": v.color_primaries,
            "color_trc": v.color_trc,
            "colorspace": v.colorspace,
            "codec": "ffv1",
            "ffv1": {"level": 3, "g": 1, "slicecrc": 1, "slices": int(self.writer_slices())},
            "audio": asdict(self.aparams) if self.aparams else None,
            "audio_source": self._audio_source,
            "audio_device": s.audio_device or "",
            "options": dict(self.spec.options),
            "seconds": s.seconds,
            "queue_frames": s.queue_frames,
        }

    def writer_slices(self) -> int:
        from capture.mkv_writer import slices_for

        return slices_for(self.vparams.width, self.vparams.height)

    def _tags(self) -> dict[str, str]:
        m = self.settings.meta
        p = self.paths
        return {
            "TITLE": m.title or p.stem,
            "DESCRIPTION": m.description,
            "CATALOG_NUMBER": self.settings.item,
            "ORIGINAL_MEDIA_TYPE": m.carrier_physical if m.carrier else "",
            "DATE_DIGITIZED": self.started_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ENCODED_BY": m.technician,
            "ARCHIVAL_LOCATION": m.originator,
            "PLAYBACK_DEVICE": " ".join(x for x in (m.deck, m.deck_serial) if x),
            "TBC": m.tbc,
            "CAPTURE_DEVICE": m.ad_interface or self.spec.text,
            "ENCODER_SETTINGS": f"ffv1 level 3, g 1, slicecrc 1, slices {self.writer_slices()}, "
            f"{self.vparams.pix_fmt}",
            "COMMENT": m.notes,
        }

    def _record(self, reason: str) -> TakeRecord:
        v = self.vparams
        stats = self.writer.stats
        st = self.status()
        fmt = av.VideoFormat(v.pix_fmt)
        video = VideoEssence(
            codec="FFV1",
            codec_version="3.4",
            width=v.width,
            height=v.height,
            pix_fmt=v.pix_fmt,
            bit_depth=v.bit_depth,
            chroma_subsampling=chroma_subsampling(fmt),
            frame_rate=f"{v.rate.numerator}/{v.rate.denominator}",
            frames=stats.frames,
            field_order=v.field_order,
            display_aspect_ratio=_ratio_text(v.display_size),
            standard=v.standard,
            color_primaries=v.color_primaries,
            color_transfer=v.color_trc,
            color_matrix=v.colorspace,
        )
        audio = None
        if self.aparams:
            a = self.aparams
            audio = AudioEssence(a.rate_hz, a.bits, a.channels, codec=a.codec, container="Matroska")
        outcome = (
            "complete"
            if reason in ("user", "duration", "signal", "end of input")
            else f"stopped: {reason}"
        )
        return TakeRecord(
            item=self.paths.item,
            take_number=self.paths.take_number,
            kind="video",
            master=self.master,
            size_bytes=self.master.stat().st_size,
            md5="",
            duration_s=self.writer.duration_s,
            started_utc=self.started_utc,
            ended_utc=utc_now(),
            device=self.spec.text,
            meta=self.settings.meta,
            audio=audio,
            video=video,
            frames_lost=st.frames_lost,
            overflows=st.overflows,
            outcome=outcome,
        )


def _ratio_text(size: tuple[int, int]) -> str:
    r = Fraction(size[0], size[1])
    return f"{r.numerator}:{r.denominator}"


def chroma_subsampling(fmt: av.VideoFormat) -> str:
    if fmt.is_rgb:
        return "4:4:4"
    comps = fmt.components
    if len(comps) < 3:
        return ""
    w0 = comps[0].width if hasattr(comps[0], "width") else None
    name = fmt.name
    for key, value in (
        ("420", "4:2:0"),
        ("422", "4:2:2"),
        ("444", "4:4:4"),
        ("411", "4:1:1"),
        ("uyvy", "4:2:2"),
        ("yuyv", "4:2:2"),
        ("nv12", "4:2:0"),
        ("v210", "4:2:2"),
    ):
        if key in name:
            return value
    return "" if w0 is None else ""


def _plane_array(plane, dtype, width: int, height: int) -> np.ndarray:
    itemsize = np.dtype(dtype).itemsize
    arr = np.frombuffer(plane, dtype=dtype).reshape(-1, plane.line_size // itemsize)
    return arr[:height, :width].copy()


def preview_of(frame: av.VideoFrame, pts_s: float) -> VideoPreview:
    """Native Y/U/V planes of a frame (planar YUV kept as is; packed 4:2:2 unpacked)."""
    fmt = frame.format
    depth = max(c.bits for c in fmt.components)
    planar_yuv = len(frame.planes) == 3 and not fmt.is_rgb
    if not planar_yuv:
        target = "yuv422p" if depth <= 8 else "yuv422p10le"
        frame = frame.reformat(format=target)
        fmt = frame.format
        depth = 8 if depth <= 8 else 10
    dtype = np.uint8 if depth <= 8 else np.uint16
    planes = [_plane_array(p, dtype, p.width, p.height) for p in frame.planes]
    return VideoPreview(
        y=planes[0], u=planes[1], v=planes[2], bit_depth=depth,
        width=frame.width, height=frame.height, pts_s=pts_s, pix_fmt=fmt.name,
    )  # fmt: skip


def verify_essence(master: Path, written: dict[str, str], progress=None) -> tuple[bool, str]:
    """The packets stored in the closed master against the MD5s taken as they were muxed.

    Reads the file without decoding, at the disk's speed rather than the decoder's. The
    decoded frames are checked against the framemd5 by QC, which decodes every frame anyway."""
    from capture.mkv_writer import essence_md5_of

    if not written:
        return False, "no essence MD5 was taken while writing"
    try:
        stored = essence_md5_of(master, progress)
    except HeadblockError as exc:
        return False, str(exc)
    differ = [k for k in written if stored.get(k) != written[k]]
    if differ:
        return False, ", ".join(
            f"{k} packets: {written[k]} written, {stored.get(k)} read back" for k in differ
        )
    return True, ", ".join(f"{k} packets {written[k]}" for k in written) + " read back alike"


def finish_video_take(take: VideoTake, record: TakeRecord, reason: str):
    """The shared end of a take (md5, PBCore, PREMIS, QC, catalogue) via capture.finalize;
    the essence check compares the packets stored with those muxed (``verify_essence``)."""
    from capture.finalize import finalize_take

    def closing(start: float):  # the packets, then the whole file: half the read-back each
        def report(fraction: float, _message: str = "") -> None:
            with take._lock:
                take._status.closing = start + 0.5 * fraction

        return report

    ok, detail = verify_essence(take.master, take.writer.stats.essence_md5, closing(0.0))
    take.log.write("essence_check", "INFO" if ok else "ERROR", verified=ok, detail=detail)
    result = finalize_take(
        record,
        take.paths,
        log=take.log,
        essence_md5=None,
        essence_verified=ok,
        essence_detail="the packets of every stream: MD5 taken as they were muxed, compared with "
        "the file read back",
        readback_progress=closing(0.5),
        reason=reason,
        run_qc=take.settings.run_qc,
        profile=take.settings.profile,
        on_event=take.on_event,
    )
    return result


# -- command line ------------------------------------------------------------------------------


def settings_from_args(args) -> VideoTakeSettings:
    meta = (
        TakeMeta.from_toml(Path(args.meta_file)) if getattr(args, "meta_file", None) else TakeMeta()
    )
    meta.update_from_pairs(getattr(args, "meta", []) or [])
    return VideoTakeSettings(
        device=args.device,
        library=Path(args.library),
        item=args.item,
        seconds=args.seconds,
        audio_device=args.audio_device,
        standard=args.standard,
        pix_fmt=args.pix_fmt,
        options=list(args.option or []),
        audio_rate_hz=args.audio_rate,
        audio_channels=args.audio_channels,
        audio_bits=args.audio_bits,
        meta=meta,
        profile=args.profile,
        run_qc=not args.no_qc,
    )


def cmd_capture_video(args) -> int:
    settings = settings_from_args(args)
    take = VideoTake(settings)
    paths = take.start()
    print(f"recording {paths.directory}", file=sys.stderr)

    def line(st) -> str:
        return (
            f"{st.elapsed_s:8.1f} s  frames {st.frames_written:7d}  lost {st.frames_lost:4d}"
            f"  queue {st.encoder_queue_depth:3d}  "
        )

    from capture.finalize import run_until_done

    run_until_done(take, line)
    if take.error is not None:
        err = take.error
        if isinstance(err, HeadblockError):
            raise err
        raise HeadblockError(f"the take stopped on an error: {err}") from err
    res = take.result
    st = take.status()
    if take.input_error is not None:
        print(
            f"headblock: the input failed during the take ({take.input_error}); "
            f"the {st.frames_written} frames captured are kept in {res.record.master}",
            file=sys.stderr,
        )
        return 2
    print(
        f"{res.record.master}: {st.frames_written} frames, {res.record.duration_s:.2f} s, "
        f"{st.frames_lost} lost" + (f", QC {res.qc_verdict}" if res.qc_verdict else ""),
        file=sys.stderr,
    )
    return res.exit_status
