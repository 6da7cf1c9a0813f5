"""The video preservation master: FFV1 version 3 with PCM audio in Matroska, through PyAV.

Settings follow the archival FFV1/Matroska recipes (vrecord): level 3, GOP 1, slice CRCs,
24 slices for SD, the source's pixel format kept, field order, BT.601 colour description,
display aspect ratio. Two things PyAV's Matroska muxer cannot do are done here:

* field order: set as FFmpeg's integer ``AVFieldOrder`` on the codec context, and the frames
  pass a ``setfield`` filter so FFV1's own picture structure says the same;
* display aspect ratio: the muxer ignores the sample aspect ratio, so after close
  ``mkvpropedit`` (mkvtoolnix) writes DisplayWidth/DisplayHeight/DisplayUnit. Edited in place
  only if the Tracks element has room (else mkvpropedit moves it to the end of the file, and a
  master cut short would have no readable tracks): the video track is muxed with a name that
  says the size is still to come (``pending_track_name``), and the edit shortens it to
  ``ITEM_tNN video`` as it adds the size, so Tracks shrinks and stays near the start.

Packets are flushed to the file as they are muxed (``flush_packets``), so a crash loses at
most the frame being written (``capture.video_recover`` remuxes what reached the disk).
Given a ``capture.disk_room.DiskReserve``, the master and its framemd5 are written through
``RoomyFile``: a disk another program fills gives back the reserve, and the master is still
closed by the muxer itself.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.filter

from capture.disk_room import DiskReserve, RoomyFile, roomy_text
from metadata.errors import HeadblockError
from metadata.formats.framemd5 import FrameMD5Writer
from metadata.formats.pixfmt import pixel_format

# FFmpeg's AVFieldOrder. NTSC (bottom field first) is written as AV_FIELD_BT and PAL (top
# field first) as AV_FIELD_TB: what `ffmpeg -field_order bt|tb` / `setfield=bff|tff` give in
# the archival recipes, read back by ffprobe as "bt" / "tb".
FIELD_ORDER_AV = {"progressive": 1, "tff": 4, "bff": 5}
# AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace values by FFmpeg name.
COLOR_PRIMARIES = {"bt709": 1, "bt470bg": 5, "smpte170m": 6}
COLOR_TRC = {"bt709": 1, "smpte170m": 6, "gamma28": 5}
COLOR_SPACE = {"bt709": 1, "bt470bg": 5, "smpte170m": 6}
COLOR_RANGE_TV = 1

# Packed formats a card may deliver, and the planar layout FFV1 stores with the same samples
# (an exact unpacking, no colour conversion: 8-bit UYVY stays 8-bit 4:2:2).
PLANAR_EQUIVALENT = {
    "uyvy422": "yuv422p",
    "yuyv422": "yuv422p",
    "yvyu422": "yuv422p",
    "nv12": "yuv420p",
    "nv21": "yuv420p",
    "nv16": "yuv422p",
    "p010le": "yuv420p10le",
    "p210le": "yuv422p10le",
    "y210le": "yuv422p10le",
    "v210": "yuv422p10le",
    "rgb24": "gbrp",
    "bgr24": "gbrp",
}
CLUSTER_TIME_LIMIT_MS = 1000  # a crash loses at most the open cluster (flush_packets too)


def slices_for(width: int, height: int) -> int:
    """FFV1 slice count by frame size: 24 for SD and larger, fewer for tiny test frames."""
    pixels = width * height
    if pixels >= 640 * 480:
        return 24
    if pixels >= 320 * 240:
        return 16
    return 4


def ffv1_pix_fmts() -> set[str]:
    return {fmt.name for fmt in av.codec.Codec("ffv1", "w").video_formats}


def master_pix_fmt(source_pix_fmt: str) -> str:
    """The pixel format the master keeps for a source format (the same one when FFV1 takes
    it); HeadblockError when FFV1 cannot store it without a conversion."""
    supported = ffv1_pix_fmts()
    if source_pix_fmt in supported:
        return source_pix_fmt
    planar = PLANAR_EQUIVALENT.get(source_pix_fmt)
    if planar in supported:
        return planar
    raise HeadblockError(
        f"FFV1 cannot store the pixel format {source_pix_fmt} without a conversion; "
        f"ask the device for another (--pix-fmt)"
    )


def ffv1_options(width: int, height: int) -> dict[str, str]:
    """vrecord's FFV1 settings. Coder and context stay FFmpeg's defaults: on noisy tape the
    large context model (context=1) measured 12 % larger and 5 % slower here."""
    return {
        "level": "3",
        "g": "1",
        "slicecrc": "1",
        "slices": str(slices_for(width, height)),
    }


@dataclass
class VideoParams:
    width: int
    height: int
    pix_fmt: str  # the master's; frames in ``source_pix_fmt`` are unpacked to it
    rate: Fraction
    field_order: str = "progressive"  # "progressive" | "tff" | "bff"
    source_pix_fmt: str = ""
    display_aspect: Fraction | None = None  # None: square pixels
    color_primaries: str = ""
    color_trc: str = ""
    colorspace: str = ""
    standard: str = ""  # "NTSC", "PAL" or ""

    @property
    def time_base(self) -> Fraction:
        return 1 / Fraction(self.rate)

    @property
    def display_size(self) -> tuple[int, int]:
        """Matroska DisplayWidth/DisplayHeight (pixels): the display aspect at full height."""
        if not self.display_aspect:
            return self.width, self.height
        return round(self.height * self.display_aspect), self.height

    @property
    def sample_aspect(self) -> Fraction:
        display_width, display_height = self.display_size
        return Fraction(display_width * self.height, display_height * self.width)

    @property
    def bit_depth(self) -> int:
        return pixel_format(self.pix_fmt).bit_depth


@dataclass
class AudioParams:
    rate_hz: int
    channels: int
    bits: int = 24  # 16 or 24
    layout_name: str = ""  # the source's layout (embedded audio keeps its channel order)

    @property
    def codec(self) -> str:
        return "pcm_s24le" if self.bits == 24 else "pcm_s16le"

    @property
    def sample_format(self) -> str:
        """The frame format the PCM encoder takes (24-bit PCM comes in s32 frames)."""
        return "s32" if self.bits == 24 else "s16"

    @property
    def layout(self) -> str:
        if self.layout_name:
            return self.layout_name
        return {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}c")


@dataclass
class WriterStats:
    frames: int = 0
    last_index: int = -1
    video_bytes: int = 0
    audio_samples: int = 0
    audio_end_samples: int = 0
    mkvpropedit: str = ""  # "" until close; then "ok", "missing" or the error
    framemd5_frames: int = 0
    # MD5 of each stream's packets as muxed ("video", "audio"): the essence, read back after
    # close by ``essence_md5_of`` without decoding
    essence_md5: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def _av_layout(channels: int):
    return {1: "mono", 2: "stereo"}.get(channels) or av.AudioLayout(channels)


class MkvWriter:
    """One Matroska master. Not thread-safe: one thread (the encoder thread) calls it.

    ``write_video(frame, index)``: ``index`` is the frame's slot in frame periods from the
    start (gaps left by lost frames stay gaps). ``write_audio(frame, pts_samples)``: frames
    in ``audio.sample_format`` with ``audio.channels``. The muxer interleaves by timestamp.
    """

    def __init__(
        self,
        path: Path,
        video: VideoParams,
        audio: AudioParams | None = None,
        *,
        tags: dict[str, str] | None = None,
        framemd5_path: Path | None = None,
        threads: int = 2,
        reserve: DiskReserve | None = None,
        on_frame=None,
    ):
        self.path = Path(path)
        self.on_frame = on_frame  # (frame, index) of each frame encoded: live QC
        self._file = None  # the RoomyFile under the muxer, when there is a reserve
        self._framemd5_file = None
        self.video = video
        self.audio = audio
        self.stats = WriterStats()
        self._closed = False
        self._essence = {"video": hashlib.md5(), **({"audio": hashlib.md5()} if audio else {})}
        try:
            if reserve is not None:
                self._file = RoomyFile(self.path, reserve)
            self._out = av.open(
                self._file if self._file is not None else str(self.path),
                "w",
                format="matroska",
                container_options={
                    "flush_packets": "1",
                    "max_interleave_delta": "1000000",
                    "cluster_time_limit": str(CLUSTER_TIME_LIMIT_MS),
                },
                **({"buffer_size": 1 << 20} if self._file is not None else {}),  # fewer calls
            )
        except (av.error.FFmpegError, OSError) as exc:
            if self._file is not None:
                self._file.close()
            raise HeadblockError(f"cannot create {self.path}: {exc}") from exc
        for key, value in (tags or {}).items():
            if value:
                self._out.metadata[key] = str(value)
        video_stream = self._out.add_stream(
            "ffv1", rate=Fraction(video.rate), options=ffv1_options(video.width, video.height)
        )
        # room in Tracks for the display size written after close (see the module docstring)
        video_stream.metadata["title"] = pending_track_name(self.path)
        video_stream.width = video.width
        video_stream.height = video.height
        video_stream.pix_fmt = video.pix_fmt
        codec = video_stream.codec_context
        codec.time_base = video.time_base
        codec.thread_type = "SLICE"
        codec.thread_count = threads
        codec.field_order = FIELD_ORDER_AV.get(video.field_order, 0)
        codec.color_range = COLOR_RANGE_TV
        if video.color_primaries:
            codec.color_primaries = COLOR_PRIMARIES[video.color_primaries]
        if video.color_trc:
            codec.color_trc = COLOR_TRC[video.color_trc]
        if video.colorspace:
            codec.colorspace = COLOR_SPACE[video.colorspace]
        self._video_stream = video_stream
        self._audio_stream = None
        if audio:
            audio_stream = self._out.add_stream(
                audio.codec,
                rate=audio.rate_hz,
                layout=audio.layout_name or _av_layout(audio.channels),
            )
            self._audio_stream = audio_stream
        self._field_graph = (
            self._make_field_graph() if video.field_order in ("tff", "bff") else None
        )
        self.framemd5 = None
        if framemd5_path is not None:
            if reserve is not None:
                self._framemd5_file = roomy_text(Path(framemd5_path), reserve)
            self.framemd5 = FrameMD5Writer(
                self._framemd5_file or framemd5_path,
                width=video.width,
                height=video.height,
                pix_fmt=video.pix_fmt,
                time_base=video.time_base,
                sar=video.sample_aspect,
            )

    def _make_field_graph(self):
        graph = av.filter.Graph()
        source = graph.add_buffer(
            width=self.video.width,
            height=self.video.height,
            format=self.video.pix_fmt,
            time_base=self.video.time_base,
        )
        setfield = graph.add("setfield", self.video.field_order)
        sink = graph.add("buffersink")
        source.link_to(setfield)
        setfield.link_to(sink)
        graph.configure()
        return graph

    def write_video(self, frame: av.VideoFrame, index: int) -> int:
        """Encode and mux one frame at slot ``index``; returns the bytes written."""
        if frame.width != self.video.width or frame.height != self.video.height:
            raise HeadblockError(
                f"the source changed frame size to {frame.width}x{frame.height} "
                f"(take started at {self.video.width}x{self.video.height})"
            )
        if (
            frame.format.name != self.video.pix_fmt
            and frame.format.name == self.video.source_pix_fmt
        ):
            frame = frame.reformat(format=self.video.pix_fmt)
        elif frame.format.name != self.video.pix_fmt:
            raise HeadblockError(
                f"the source changed pixel format to {frame.format.name} "
                f"(take started in {self.video.pix_fmt})"
            )
        frame.pts = index
        frame.time_base = self.video.time_base
        frame.duration = 1
        if self._field_graph is not None:
            self._field_graph.push(frame)
            frame = self._field_graph.pull()
            frame.pts = index
            frame.time_base = self.video.time_base
        size = 0
        for packet in self._video_stream.encode(frame):
            size += packet.size
            self._mux(packet, "video")
        if self.on_frame is not None:
            self.on_frame(frame, index)
        if self.framemd5 is not None:
            self.framemd5.write(frame, pts=index)
            self.stats.framemd5_frames += 1
            if self.stats.framemd5_frames % 30 == 0:
                self.framemd5.flush()
        self.stats.frames += 1
        self.stats.last_index = index
        self.stats.video_bytes += size
        return size

    def write_audio(self, frame: av.AudioFrame, pts_samples: int) -> None:
        if self._audio_stream is None:
            return
        frame.pts = pts_samples
        frame.time_base = Fraction(1, self.audio.rate_hz)
        for packet in self._audio_stream.encode(frame):
            self._mux(packet, "audio")
        self.stats.audio_samples += frame.samples
        self.stats.audio_end_samples = pts_samples + frame.samples

    def _mux(self, packet, kind: str) -> None:
        if packet.size:  # hashed before muxing: the muxer may take the packet's buffer
            self._essence[kind].update(memoryview(packet))
        self._out.mux(packet)

    @property
    def duration_s(self) -> float:
        return (self.stats.last_index + 1) * float(self.video.time_base)

    def close(self) -> WriterStats:
        """Flush the encoders, write cues and trailer, then set the display aspect ratio."""
        if self._closed:
            return self.stats
        self._closed = True
        try:
            for packet in self._video_stream.encode(None):
                self._mux(packet, "video")
            if self._audio_stream is not None:
                for packet in self._audio_stream.encode(None):
                    self._mux(packet, "audio")
        finally:
            try:
                self._out.close()
            finally:
                self._close_files()
        self.stats.essence_md5 = {
            kind: digest.hexdigest() for kind, digest in self._essence.items()
        }
        self.stats.mkvpropedit = set_display_size(
            self.path, *self.video.display_size, track_name=track_name(self.path)
        )
        return self.stats

    def abort(self) -> None:
        """Close after an error without raising again (the file stays recoverable)."""
        if self._closed:
            return
        self._closed = True
        for closer in (self._out.close, self._close_files):
            try:
                closer()
            except Exception:  # noqa: BLE001 - best effort on the error path
                pass

    def _close_files(self) -> None:
        try:
            if self.framemd5 is not None:
                self.framemd5.close()
            if self._framemd5_file is not None:
                self._framemd5_file.close()
        finally:
            if self._file is not None:
                self._file.close()


def essence_md5_of(path: Path, progress=None) -> dict[str, str]:
    """MD5 of the packets of each stream of a Matroska master as stored ("video": the first
    video stream, "audio": the first audio stream, when present), read without decoding: the
    counterpart of ``WriterStats.essence_md5``. Raises HeadblockError on an unreadable file.
    ``progress(fraction, message)`` follows the position in the file."""
    size = max(1, Path(path).stat().st_size) if Path(path).exists() else 1
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise HeadblockError(f"cannot open {Path(path).name}: {exc}") from exc
    with container:
        streams = {}
        if container.streams.video:
            streams[container.streams.video[0].index] = "video"
        if container.streams.audio:
            streams[container.streams.audio[0].index] = "audio"
        digests = {kind: hashlib.md5() for kind in streams.values()}
        try:
            wanted = [container.streams[index] for index in streams]
            for count, packet in enumerate(container.demux(*wanted)):
                if packet.size:
                    digests[streams[packet.stream.index]].update(memoryview(packet))
                if progress and count % 256 == 0 and packet.pos is not None and packet.pos >= 0:
                    progress(min(1.0, packet.pos / size), "packets")
        except av.error.FFmpegError as exc:
            raise HeadblockError(f"cannot read {Path(path).name} back: {exc}") from exc
    return {kind: digest.hexdigest() for kind, digest in digests.items()}


PENDING_SUFFIX = " (display size still to be written)"


def track_name(path: Path) -> str:
    """The video track's name in a finished master: ``ITEM_tNN video``."""
    return f"{Path(path).stem} video"


def pending_track_name(path: Path) -> str:
    """The name the video track is muxed with: longer than ``track_name`` by more than the
    display size takes (DisplayWidth, DisplayHeight: 10 bytes), so that mkvpropedit writes the
    size in place and Tracks stays near the start of the file."""
    return track_name(path) + PENDING_SUFFIX


def set_display_size(
    path: Path, display_width: int, display_height: int, track_name: str | None = None
) -> str:
    """Write Matroska DisplayWidth/DisplayHeight (unit: pixels) of the first video track, and
    its final name (``track_name``: the muxed ``pending_track_name`` shortened, which leaves
    the room the size takes).

    Returns "ok", "missing" (no mkvpropedit on PATH) or the tool's error text."""
    tool = shutil.which("mkvpropedit")
    if not tool:
        return "missing"
    cmd = [tool, "--quiet", str(path), "--edit", "track:v1"]
    if track_name is not None:
        cmd += ["--set", f"name={track_name}"]
    cmd += [
        "--set",
        f"display-width={display_width}",
        "--set",
        f"display-height={display_height}",
        "--set",
        "display-unit=0",
    ]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"mkvpropedit failed: {exc}"
    if run.returncode not in (0, 1):  # 1: warnings only
        return f"mkvpropedit failed: {(run.stdout + run.stderr).strip()[:200]}"
    return "ok"
