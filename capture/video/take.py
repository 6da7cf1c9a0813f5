"""The video take: a capture card (or test signal, or the demo deck) to an FFV1/Matroska master.

Threads, so that recording never waits for anything slower than the device:

* reader: pulls decoded frames from the source, maps device timestamps to frame slots, counts
  timestamp gaps (frames the device or driver lost), keeps the newest frame for the preview,
  and hands frames to a bounded queue. It never blocks: a device cannot wait, so when the
  queue is full the frame is dropped *here*, counted and logged as ``frame_drop`` with its
  time (an explicit, located loss rather than an unobserved overrun inside the driver);
* audio feed (only for ``--audio-device``): a second audio input (``capture.video.audio_feeds``)
  placed on the video's time line by measured arrival;
* encoder: FFV1 + PCM into Matroska with the framemd5 computed from the frames written.
  Its queue depth is in ``status()`` and logged (``queue_depth``) when it grows.

After the stop the master is closed, its display aspect set, and the end of the take
(``capture.video.finish``: essence check, then md5, PBCore, PREMIS, QC, catalogue) runs.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from capture import backends
from capture.disk_room import DiskReserve, is_disk_full
from capture.mkv_writer import AudioParams, MkvWriter, VideoParams, master_pix_fmt
from capture.priority import AFTER_TAKE_NICE, lower_this_thread
from capture.ring import RingBuffer
from capture.take import EventFn, TakeResult, TakeStatus, log_event, notify
from capture.timecode.live import LiveTimecode
from capture.video.audio_feeds import AudioConverter
from capture.video.finish import finish_video_take
from capture.video.preview import PreviewPlanes, preview_of
from capture.video.record import matroska_tags, settings_for_log, take_record
from capture.video_input import VideoDeviceSpec, VideoSource, standard_for
from capture.watchdog import DiskWatchdog, log_disk_check, log_disk_event
from metadata.errors import HeadblockError, TakeCutShort
from metadata.take.log import TakeLog, utc_now
from metadata.take.meta import TakeMeta
from metadata.take.naming import TakePaths, new_take_dir
from qc.live import LiveAudio, LiveTake, LiveVideo, matroska_ms
from qc.profiles import load_profile

DISK_RESERVE_BYTES = 64 << 20  # kept for the trailer, cues, framemd5 and sidecars
DISK_STOP_MARGIN_S = 5.0  # stop while this much video still fits (the queue drains after)
# Kept in a reserve file should another program fill the disk: the cluster being muxed (up to
# a second of video, CLUSTER_TIME_LIMIT_MS) and the frame being written, then cues, trailer,
# framemd5, log and sidecars (PBCore, PREMIS, QC's files).
RESERVE_VIDEO_S = 1.5
RESERVE_SIDECAR_BYTES = 6 << 20
SD_BYTES_PER_S_GUESS = 25e6  # 10-bit SD FFV1 on noisy tape, until measured
QUEUE_LOG_INTERVAL_S = 1.0
# The encoder thread leaves and re-enters FFmpeg several times a frame; with CPython's
# default 5 ms switch interval it waits behind every other busy thread each time (measured:
# 1.43x real-time headroom at 5 ms, 1.54x at 1 ms, on the demo deck with a preview).
SWITCH_INTERVAL_S = 0.001


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
    ltc_channel: int | None = None  # audio channel (from 1) with the tape's LTC
    on_event: EventFn | None = None  # called from engine threads (as AudioTakeSettings)


@dataclass
class VideoTakeStatus(TakeStatus):
    """``TakeStatus`` with the video take's own counters. ``frames_lost`` counts every
    missing frame slot (timestamp gaps and frames dropped); ``overflows`` and
    ``audio_frames_lost`` are a second audio input's own losses."""

    disk_free_bytes: int | None = 0
    frames_received: int = 0
    frames_dropped: int = 0  # dropped by us (encoder queue full)
    gaps: int = 0
    device_drops: int = 0
    encoder_queue_depth: int = 0
    encoder_queue_peak: int = 0
    audio_samples_written: int = 0
    audio_frames_lost: int = 0
    encode_fps: float = 0.0  # frames written per second of wall time since the first
    encoder_busy_s: float = 0.0  # time spent encoding/muxing/hashing (capacity = frames / busy)


class VideoTake:
    """One video take, used as every take is (``capture.take.Take``); also
    ``latest_frame()`` (the newest frame's planes) and ``input_error`` (a failing input
    ends the take like a stop). ``error`` is the exception that failed it."""

    kind = "video"

    def __init__(
        self,
        settings: VideoTakeSettings,
        source: VideoSource | None = None,
        on_event: EventFn | None = None,
    ):
        self.settings = settings
        self.on_event = on_event or settings.on_event
        self.spec: VideoDeviceSpec = backends.parse_video_device(
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
        self.result: TakeResult | None = None
        self.error: BaseException | None = None
        self.input_error: BaseException | None = None
        self.fixity_ok: bool | None = None
        self.log: TakeLog | None = None
        # set by start()
        self.std = None
        self.vparams: VideoParams | None = None
        self.aparams: AudioParams | None = None
        self.audio_source = "none"  # "embedded" | "separate" | "none"
        self.rate: Fraction | None = None
        self.target_frames: int | None = None
        self.master: Path | None = None
        self.started_utc = None
        self.writer: MkvWriter | None = None
        self._feed = None  # the second audio input (capture.video.audio_feeds)
        self._converter: AudioConverter | None = None
        self._watchdog: DiskWatchdog | None = None
        self.reserve: DiskReserve | None = None  # room to close the take on a full disk
        # the take's audio as placed on the video's time line, newest first, for meters
        self._meter_ring: RingBuffer | None = None
        self.audio_frames_metered = 0
        self.audio_metered_at: float | None = None  # monotonic, newest metered block
        self.av_offset_ms: float | None = None
        # shared between the threads
        self._status = VideoTakeStatus()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_reason = ""
        self._reader_done = threading.Event()
        self._video_done = threading.Event()
        # set at the first video frame (``_first_frame_wall`` then holds its monotonic time),
        # or when the reader ends without one
        self._first_frame_or_end = threading.Event()
        self._first_frame_wall: float | None = None
        self._last_slot = 0  # the last frame slot read, once the video is done
        self._audio_end = 0  # audio samples up to the end of the last frame slot
        self._audio_prev_end_s = 0.0
        self._finished = threading.Event()
        self._latest: tuple[av.VideoFrame, float] | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max(2, settings.queue_frames))
        self._audio: collections.deque = collections.deque()
        self._threads: list[threading.Thread] = []
        self._finish_thread: threading.Thread | None = None
        self.live: LiveTake | None = None  # QC measured while recording (qc.live)
        self.live_timecode = LiveTimecode(self)  # status().timecode

    # -- public API ------------------------------------------------------------------------------
    def start(self) -> TakePaths:
        settings = self.settings
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        want_embedded = settings.audio_device is None
        source = self._source or backends.open_video_source(self.spec, want_audio=want_embedded)
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
        self._open_audio(info, want_embedded)
        ltc = settings.ltc_channel
        if ltc is not None and not (self.aparams and 1 <= ltc <= self.aparams.channels):
            self._close_inputs()
            channels = self.aparams.channels if self.aparams else 0
            raise HeadblockError(f"--ltc-channel {ltc}: the take's audio has {channels} channel(s)")
        if self.aparams:
            self._converter = AudioConverter(self.aparams)
            self._meter_ring = RingBuffer(
                self.aparams.rate_hz * 2, self.aparams.channels, self._converter.dtype
            )
        self.rate = Fraction(info.rate)
        self.target_frames = round(settings.seconds * self.rate) if settings.seconds else None

        bytes_per_s = SD_BYTES_PER_S_GUESS * (info.width * info.height) / (720 * 486)
        try:
            profile = load_profile(settings.profile) if settings.run_qc else None
        except HeadblockError:
            self._close_inputs()
            raise
        try:
            self.paths = new_take_dir(Path(settings.library), settings.item)
            self.reserve = DiskReserve(
                self.paths.directory, int(RESERVE_VIDEO_S * bytes_per_s) + RESERVE_SIDECAR_BYTES
            )
            self.master = self.paths.master("video")
            self.log = TakeLog(self.paths.log, on_full=self.reserve.release)
            self.started_utc = utc_now()
            self.log.write(
                "take_start",
                kind="video",
                device=self.spec.text,
                settings=settings_for_log(self),
                meta=settings.meta.to_dict(),
            )
            if profile is not None:
                self.live = LiveTake(
                    video=LiveVideo(
                        self.vparams.width,
                        self.vparams.height,
                        self.vparams.pix_fmt,
                        self.vparams.time_base,
                        profile,
                        on_event=self._emit,
                        log_path=self.paths.log,
                    )
                )
                self._live_profile = profile
            self.writer = MkvWriter(
                self.master,
                self.vparams,
                self.aparams,
                tags=matroska_tags(self),
                framemd5_path=self.paths.framemd5,
                threads=settings.encoder_threads,
                reserve=self.reserve,
                on_frame=self.live.video.submit if self.live else None,
            )
        except BaseException:
            if self.live is not None:
                self.live.close()
            self._close_inputs()
            if self.log:
                self.log.close()
            if self.reserve is not None:
                self.reserve.discard()
            raise
        self._watchdog = DiskWatchdog(
            self.paths.directory,
            bytes_per_s=bytes_per_s,
            reserve_bytes=DISK_RESERVE_BYTES,
            stop_margin_s=DISK_STOP_MARGIN_S + settings.queue_frames / float(self.rate),
        )
        self._set_state("recording")
        self._emit("take_start", {"master": str(self.master)})
        if hasattr(source, "attach"):  # a source whose own software reports (capture.ffmpeg_input)
            source.attach(self._device_report)
        feed_input = getattr(self._feed, "input", None)
        if feed_input is not None:  # a second audio input's library lines (PortAudio's)
            feed_input.on_message = self._audio_device_line
        self._spawn(self._reader, "video-reader", fatal=False)
        if self._feed is not None:
            self._spawn(self._audio_feed_loop, "video-audio-feed")
        self._spawn(self._encoder, "video-encoder")
        return self.paths

    def _open_audio(self, info, want_embedded: bool) -> None:
        """The take's audio: the source's own, a second input (started here, before the take
        folder exists, so that a silent input refuses the take), or none."""
        settings = self.settings
        if want_embedded and info.audio_rate_hz:
            self.aparams = AudioParams(
                info.audio_rate_hz,
                info.audio_channels or 2,
                settings.audio_bits,
                info.audio_layout or "",
            )
            self.audio_source = "embedded"
        elif settings.audio_device and settings.audio_device.lower() != "none":
            self.aparams = AudioParams(
                settings.audio_rate_hz, settings.audio_channels, settings.audio_bits
            )
            try:
                self._feed = backends.open_audio_feed(
                    settings.audio_device, AudioConverter(self.aparams)
                )
                self._feed.start()
            except Exception:
                self._source.close()
                if self._feed is not None:
                    self._feed.close()
                raise
            self.audio_source = "separate"

    def stop(self, reason: str = "user") -> None:
        """Stop recording; frames already captured are written (the audio up to them)."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._stop.set()
        self._video_done.set()
        source = self._source
        if (
            source is not None
            and hasattr(source, "stop")
            and (self.audio_source != "embedded" or reason in ("error", "input error"))
        ):
            source.stop()
        if reason == "error" and self._feed is not None:
            self._feed.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def status(self) -> VideoTakeStatus:
        with self._lock:
            status = VideoTakeStatus(**asdict(self._status))
        status.encoder_queue_depth = self._queue.qsize()
        status.queue_fill = status.encoder_queue_depth / self._queue.maxsize
        if self._feed is not None:
            status.overflows = self._feed.overflows
            status.audio_frames_lost = self._feed.frames_lost
        status.timecode = self.live_timecode.now()
        return status

    def set_verdict(self, verdict: str | None) -> None:
        """The QC verdict, known at Stop (``status().verdict``)."""
        with self._lock:
            self._status.verdict = verdict

    @property
    def source_timecode(self):
        """The timecode the source carries itself (``capture.timecode.source``), or None."""
        return getattr(self._source, "timecode", None)

    def set_closing(self, fraction: float) -> None:
        """How far the read-back after the master closed is (0..1), for ``status().closing``."""
        with self._lock:
            self._status.closing = fraction

    def _set_state(self, state: str) -> None:
        with self._lock:
            self._status.state = state

    def latest_audio(self, n_frames: int) -> np.ndarray | None:
        """The newest ``n_frames`` of the take's audio (as placed on the video's time line),
        float32 in [-1, 1] shaped (n, channels), for meters; None for a take without audio."""
        ring = self._meter_ring
        if ring is None:
            return None
        full_scale = np.float32(self._converter.full_scale)
        return ring.latest(n_frames).astype(np.float32) / full_scale

    @property
    def audio_params(self) -> AudioParams | None:
        """Rate, channels and bits of the take's audio (None before start or without audio)."""
        return self.aparams

    def latest_frame(self) -> PreviewPlanes | None:
        latest = self._latest
        if latest is None:
            return None
        return preview_of(*latest)

    # -- threads ---------------------------------------------------------------------------------
    def _spawn(self, fn, name: str, fatal: bool = True) -> None:
        thread = threading.Thread(target=self._guard(fn, fatal), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

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
                    log_event(self.log, None, "input_error", "ERROR", thread=name, error=str(exc))
                    self.stop("input error")
                    self._reader_done.set()
                    return
                if is_disk_full(exc):  # even the reserve is gone: recover finishes it later
                    exc = TakeCutShort(
                        f"the disk holding {self.paths.directory} is full: free space on it, "
                        f"then run headblock recover {self.paths.directory.parent.parent} "
                        f"(every frame on disk is kept)"
                    )
                if self.error is None:
                    self.error = exc
                log_event(self.log, None, "error", "ERROR", thread=name, error=str(exc))
                self.stop("error")
                self._reader_done.set()

        return run

    def _emit(self, name: str, fields: dict) -> None:
        notify(self.on_event, name, fields)

    def _event(self, name: str, level: str = "INFO", **fields) -> None:
        log_event(self.log, self.on_event, name, level, **fields)

    def _device_report(self, report) -> None:
        """What the device's own software said (its stderr thread): the log and the listener;
        frames it says it lost are a ``frame_drop`` (QC's frame_drop check reads them)."""
        at_s = round(self.status().elapsed_s, 3)
        if report.frames_lost:
            with self._lock:
                self._status.device_drops = self._source.device_drops + _reported(self._source)
            self._event(
                "frame_drop",
                "WARN",
                at_s=at_s,
                frames_lost=report.frames_lost,
                source="device",
                detail=report.text,
            )
        else:
            self._event("device_message", report.level, at_s=at_s, text=report.text)

    def _audio_device_line(self, text: str) -> None:
        self._event("device_message", "WARN", text=text, source="audio input")

    def _reader(self) -> None:
        source = self._source
        first_t_s = None  # device time of the first video frame
        last_slot = -1
        drop_run: list = []  # [first_at_s, count] of frames dropped in a row
        audio_before_video: list = []
        device_faults_seen = (0, 0)
        last_t_s = 0.0
        audio_next = None
        video_done = False  # the last frame slot is in: only the audio tail is still read
        end_s = None
        try:
            for kind, frame, t_s in source.frames():
                if self._stop.is_set() and not video_done:
                    if (
                        self._converter is None
                        or self.audio_source != "embedded"
                        or first_t_s is None
                    ):
                        break
                    if self._stop_reason == "error":
                        break
                    video_done = True  # stopped: read on only for the audio of the last frames
                    end_s = float((last_slot + 1) / self.rate)
                    self._audio_end = self._video_end_samples(last_slot + 1) or 0
                if kind == "audio":
                    if self._converter is None:
                        continue
                    block = self._converter.from_av(frame)
                    if (
                        first_t_s is None
                    ):  # audio ahead of the first frame: placed once video starts
                        audio_before_video.append((block, t_s))
                        continue
                    audio_next = self._place_audio(block, t_s - first_t_s, audio_next)
                    if video_done and audio_next is not None and audio_next >= self._audio_end:
                        break
                    continue
                if video_done:
                    if self._converter is None or t_s - first_t_s > end_s + 0.5:
                        break  # no embedded audio tail, or it never comes
                    continue
                if first_t_s is None:
                    first_t_s = t_s
                    self._first_frame_wall = time.monotonic()
                    self._first_frame_or_end.set()
                    for block, block_t_s in audio_before_video:
                        audio_next = self._place_audio(block, block_t_s - first_t_s, audio_next)
                    audio_before_video.clear()
                # slots follow the previous frame's timestamp: a gap is a jump of 1.5 frame
                # periods or more; a slow drift of the device clock never makes one
                if last_slot < 0:
                    slot = 0
                else:
                    slot = last_slot + max(1, round((t_s - last_t_s) * self.rate))
                last_t_s = t_s
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
                device_faults = (source.device_drops, source.device_errors)
                if device_faults != device_faults_seen:
                    self.log.write(
                        "device_error",
                        "WARN",
                        at_s=round(float(slot / self.rate), 3),
                        undecodable=device_faults[0] - device_faults_seen[0],
                        corrupt=device_faults[1] - device_faults_seen[1],
                        detail="reported by the device or its driver",
                    )
                    device_faults_seen = device_faults
                self._latest = (frame, float(slot / self.rate))
                with self._lock:
                    self._status.frames_received += 1
                    self._status.elapsed_s = float((slot + 1) / self.rate)
                    self._status.device_drops = source.device_drops + _reported(source)
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
                    if self._converter is None or self.audio_source != "embedded":
                        break
                    if audio_next is not None and audio_next >= self._audio_end:
                        break
        finally:
            if drop_run:
                self._log_drops(drop_run)
            self._last_slot = last_slot
            self._video_done.set()
            self._reader_done.set()
            self._first_frame_or_end.set()
            if source.device_drops or _reported(source):
                with self._lock:
                    self._status.device_drops = source.device_drops + _reported(source)

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
                source=self.audio_source,
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
        self._first_frame_or_end.wait()
        if self._first_frame_wall is None:  # the reader ended before any frame
            return
        next_pts = None
        rate = self.aparams.rate_hz
        deadline = None
        last_poll = time.monotonic()
        for block, arrival in self._feed.blocks():
            if arrival - last_poll > 0.5:
                last_poll = arrival
                self._log_feed_losses()
            if next_pts is None:
                start_wall = arrival - len(block) / rate
                next_pts = self._place_audio(block, start_wall - self._first_frame_wall, None)
            else:
                self._audio.append((next_pts, block))
                next_pts += len(block)
                self._meter(block)
            if self._video_done.is_set():
                # the audio for the last frames is still arriving: take it, briefly
                end = self._video_end_samples(self._last_slot + 1) or 0
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
        first_write_at = None
        try:
            while True:
                try:
                    slot, frame = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if self._reader_done.is_set() and self._queue.empty():
                        break
                    if self._disk_filled():
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
                if first_write_at is None:
                    first_write_at = now
                encode_started = time.perf_counter()
                writer.write_video(frame, slot)
                self._write_audio(until_samples=self._video_end_samples(slot + 1))
                busy = time.perf_counter() - encode_started
                with self._lock:
                    status = self._status
                    status.frames_written += 1
                    status.encoder_queue_peak = peak
                    status.encoder_busy_s += busy
                    if now > first_write_at:
                        status.encode_fps = status.frames_written / (
                            time.monotonic() - first_write_at
                        )
                if self._disk_filled():
                    break  # the frames still queued have no room: the master ends here
                if status.frames_written % 15 == 0:
                    self._check_disk()
            # the end: audio up to the end of the last frame slot written
            for thread in self._threads:
                if thread.name == "video-audio-feed":
                    thread.join(timeout=3)
            end_slot = writer.stats.last_index + 1
            self._write_audio(until_samples=self._video_end_samples(end_slot), final=True)
        finally:
            with self._lock:
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
        params = self.aparams
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
                np.ascontiguousarray(block).reshape(1, -1),
                format=params.sample_format,
                layout=params.layout,
            )
            frame.sample_rate = params.rate_hz
            self.writer.write_audio(frame, pts)
            self._live_audio(block, pts)
        with self._lock:
            self._status.audio_samples_written = self.writer.stats.audio_samples

    def _live_audio(self, block: np.ndarray, pts: int) -> None:
        """The samples just written, to live QC (started at the first block: its time is
        where the master's audio starts)."""
        live = self.live
        if live is None:
            return
        if live.audio is None:
            params = self.aparams
            live.audio = LiveAudio(
                params.rate_hz,
                params.channels,
                params.bits,
                self._live_profile,
                offset_s=matroska_ms(pts, Fraction(1, params.rate_hz)),
                on_event=self._emit,
            )
        live.audio.feed(block)

    def _disk_filled(self) -> bool:
        """True once a write met a full disk (the reserve was given back to finish the take);
        the first time, the take stops and the log says why."""
        reserve = self.reserve
        if reserve is None or not reserve.released.is_set():
            return False
        if self._stop_reason != "disk full":
            log_disk_event(
                self._event,
                "stop",
                message="the disk is full (ENOSPC): the take ends at the last frame written, "
                "closed in the room kept for it",
                at_s=self.writer.duration_s,
            )
            self._stop_reason = ""  # a full disk says why the take ended, whatever came first
            self.stop("disk full")
        return True

    def _check_disk(self) -> None:
        """The shared disk watchdog, fed with the master's measured data rate."""
        watchdog = self._watchdog
        duration_s = self.writer.duration_s
        if duration_s > 0.5:
            watchdog.bytes_per_s = max(self.writer.stats.video_bytes / duration_s, 1.0)
        check = watchdog.check()
        with self._lock:
            self._status.disk_free_bytes = check.free_bytes
            self._status.disk_time_left_s = check.time_left_s
        if check.action == "stop" and self._stop.is_set():
            return  # stopping already: said once
        log_disk_check(self._event, check, at_s=duration_s)
        if check.action == "stop":
            self.stop("disk full")

    def _close_inputs(self) -> None:
        if self._source is not None:
            self._source.close()
        if self._feed is not None:
            self._feed.close()

    def _finish(self) -> None:
        try:
            self._finish_inner()
        finally:
            if self.reserve is not None:
                self.reserve.discard()
            if self.log:
                try:
                    self.log.close()
                except OSError:
                    pass  # its last lines found no room: the master matters more
            self._set_state("failed" if (self.error or self.fixity_ok is False) else "done")
            self._finished.set()

    def _finish_inner(self) -> None:
        stuck = []
        for thread in self._threads:  # inputs are closed only when no thread reads them
            if thread is not threading.current_thread() and thread.name != "video-encoder":
                thread.join(timeout=10)
                if thread.is_alive():
                    stuck.append(thread.name)
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
        self._set_state("finishing")
        reason = self._stop_reason or ("error" if failed else "end of input")
        status = self.status()
        if stats.mkvpropedit not in ("ok", ""):
            self.log.write(
                "display_aspect", "WARN", detail=f"display size not written: {stats.mkvpropedit}"
            )
        self.log.write(
            "take_stop" if failed else "video_counts",
            "ERROR" if failed else ("WARN" if status.frames_lost else "INFO"),
            reason=reason,
            frames=stats.frames,
            frames_received=status.frames_received,
            frames_dropped=status.frames_dropped,
            frames_lost=status.frames_lost,
            gaps=status.gaps,
            device_drops=status.device_drops,
            queue_peak=status.encoder_queue_peak,
            audio_samples=stats.audio_samples,
            duration_s=round(self.writer.duration_s, 3),
        )
        if failed:
            if self.live is not None:
                self.live.close()
            self._emit("take_stop", {"reason": reason, "frames": stats.frames})
            return
        self.result = finish_video_take(self, take_record(self, reason), reason)
        self.fixity_ok = self.result.fixity_ok


def _reported(source) -> int:
    """Frames the device's own software says it lost (``VideoSource.reported_drops``)."""
    return getattr(source, "reported_drops", 0)


# -- command line ------------------------------------------------------------------------------
