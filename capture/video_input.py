"""Video inputs: what a source is, the analogue standards, and the FFmpeg input devices
opened through PyAV (libavdevice).

``--device FORMAT:TARGET``: ``v4l2:/dev/video0``, ``decklink:NAME``, ``avfoundation:0``,
``dshow:video=NAME``, ``lavfi:GRAPH`` (a test signal; a graph with ``[out0]``/``[out1]``
labels may carry audio too); ``demo:ntsc`` / ``demo:pal`` is the demo deck
(``capture.demo_video``). ``capture.backends`` picks the source by the FORMAT prefix.

A source yields decoded frames with their device timestamps; the take (capture.video.take)
turns them into frame slots, counts gaps, and writes the master. Test signals are paced in
real time here, as a device paces itself.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from capture.timecode.source import SourceTimecode
from metadata.errors import HeadblockError


@dataclass(frozen=True)
class VideoStandard:
    """An analogue video standard as digitized (BT.601), with vrecord's master settings."""

    name: str  # "ntsc" | "pal"
    label: str  # "NTSC" | "PAL"
    width: int
    height: int
    rate: Fraction
    field_order: str  # "bff" | "tff"
    display_aspect: Fraction
    color_primaries: str
    color_trc: str
    colorspace: str
    v4l2_standard: str
    decklink_format: str

    @property
    def sample_aspect(self) -> Fraction:
        return self.display_aspect * self.height / self.width


# Display aspect 4:3 over the full 720-pixel raster, as vrecord writes it (setdar=4/3: SAR
# 9:10 for 486 lines, 16:15 for 576); colour description as vrecord's NTSC/PAL settings
# (BT.601 primaries and matrix; transfer tagged bt709, the same curve as BT.601's).
STANDARDS: dict[str, VideoStandard] = {
    "ntsc": VideoStandard(
        "ntsc", "NTSC", 720, 486, Fraction(30000, 1001), "bff", Fraction(4, 3),
        "smpte170m", "bt709", "smpte170m", "NTSC", "ntsc",
    ),
    "pal": VideoStandard(
        "pal", "PAL", 720, 576, Fraction(25), "tff", Fraction(4, 3),
        "bt470bg", "bt709", "bt470bg", "PAL", "pal",
    ),
}  # fmt: skip

PYAV_FORMATS = ("v4l2", "decklink", "avfoundation", "dshow", "lavfi")  # FFmpeg input devices
_AV_NAMES = {"v4l2": ("v4l2", "video4linux2,v4l2", "video4linux2")}
# --pix-fmt -> the option each device takes for it
_PIX_OPTION = {
    "v4l2": "input_format",
    "avfoundation": "pixel_format",
    "dshow": "pixel_format",
    "decklink": "raw_format",
}
_DECKLINK_RAW = {"yuv422p10le": "yuv422p10", "uyvy422": "uyvy422", "yuv422p10": "yuv422p10"}


def standard_named(name: str | None) -> VideoStandard | None:
    if not name:
        return None
    try:
        return STANDARDS[name.lower()]
    except KeyError:
        raise HeadblockError(
            f"unknown video standard {name!r} (expected: {', '.join(STANDARDS)})"
        ) from None


def standard_for(width: int, height: int, rate: Fraction | None) -> VideoStandard | None:
    """The standard whose raster and rate a stream has, or None."""
    for std in STANDARDS.values():
        if (width, height) == (std.width, std.height) and (
            rate is None or Fraction(rate) == std.rate
        ):
            return std
    return None


def format_available(kind: str) -> bool:
    """True when this FFmpeg build has the input device ``kind``."""
    names = _AV_NAMES.get(kind, (kind,))
    return any(name in av.formats_available for name in names)


@dataclass
class VideoDeviceSpec:
    """A parsed ``--device FORMAT:TARGET`` with its options."""

    text: str
    kind: str  # the FORMAT prefix, a video backend's in capture.backends
    target: str
    options: dict[str, str] = field(default_factory=dict)
    standard: VideoStandard | None = None
    pix_fmt: str | None = None

    @property
    def paced(self) -> bool:
        """True when the source makes frames as fast as asked (we pace it in real time)."""
        return self.kind in ("lavfi", "demo")


def video_device_spec(
    text: str,
    kind: str,
    target: str,
    *,
    standard: str | None = None,
    pix_fmt: str | None = None,
    options: list[str] | tuple[str, ...] = (),
    audio_channels: int | None = None,
) -> VideoDeviceSpec:
    """The spec of ``--device`` ``text`` whose FORMAT ``kind`` a backend takes (the registry
    in ``capture.backends`` checked it): options, standard and pixel format; HeadblockError
    with one clear line."""
    explicit: dict[str, str] = {}
    for pair in options or ():
        if "=" not in pair:
            raise HeadblockError(f"--option takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        if not key.strip():
            raise HeadblockError(f"--option takes KEY=VALUE, got {pair!r}")
        explicit[key.strip()] = value.strip()
    std = standard_named(standard)
    if kind == "demo":
        std = std or standard_named(target)
    if pix_fmt:
        try:
            av.VideoFormat(pix_fmt)
        except (ValueError, av.error.FFmpegError):
            raise HeadblockError(f"unknown pixel format {pix_fmt!r}") from None
    if kind == "lavfi" and pix_fmt and (";" in target or "[" in target):
        raise HeadblockError(
            "--pix-fmt cannot be applied to a lavfi graph with several outputs; "
            "end its video chain with format=PIXFMT instead"
        )
    spec = VideoDeviceSpec(text, kind, target, explicit, std, pix_fmt)
    _device_options(spec, audio_channels)
    return spec


def _device_options(spec: VideoDeviceSpec, audio_channels: int | None) -> None:
    """Fill the FFmpeg options the standard and pixel format imply (explicit ones win)."""
    implied, std = {}, spec.standard
    if std and spec.kind in ("v4l2", "avfoundation", "dshow"):
        implied["video_size"] = f"{std.width}x{std.height}"
        implied["framerate"] = str(std.rate)
    if std and spec.kind == "v4l2":
        implied["standard"] = std.v4l2_standard
    if std and spec.kind == "decklink":
        implied["format_code"] = std.decklink_format
    if spec.pix_fmt and spec.kind in _PIX_OPTION:
        value = spec.pix_fmt
        if spec.kind == "decklink":
            value = _DECKLINK_RAW.get(value, value)
        implied[_PIX_OPTION[spec.kind]] = value
    if audio_channels and spec.kind == "decklink":
        implied["channels"] = str(audio_channels)
    implied.update(spec.options)
    spec.options = implied


# -- sources --------------------------------------------------------------------------------


@dataclass
class SourceInfo:
    width: int
    height: int
    pix_fmt: str
    rate: Fraction
    audio_rate_hz: int | None = None
    audio_channels: int | None = None
    audio_format: str | None = None
    audio_layout: str | None = None  # FFmpeg layout name, e.g. "stereo", "7.1"


class VideoSource:
    """A source of decoded frames. ``frames()`` yields ``(kind, frame, t_s)`` where kind is
    "video" or "audio" and ``t_s`` the frame's time on the device clock, in seconds."""

    info: SourceInfo
    device_drops: int = 0  # frames the device delivered that could not be decoded
    device_errors: int = 0  # frames the device flagged corrupt (kept as delivered)
    reported_drops: int = 0  # frames the device's own software says it dropped or duplicated

    def frames(self) -> Iterator[tuple[str, av.frame.Frame, float]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class StoppableInput:
    """An input read on its own thread until ``_stop`` is set: ``stop()`` asks the reader to
    end, ``close()`` also releases the device through ``_release()`` (errors are ignored: the
    device may already have failed)."""

    _stop: threading.Event

    def _release(self) -> None:
        pass

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        try:
            self._release()
        except Exception:  # noqa: BLE001 - closing a device that already failed
            pass


class ContainerSource(StoppableInput, VideoSource):
    """A source read from a PyAV container (a device, a test signal, a pipe): its streams, and
    its frames, paced in real time when ``pace`` is set, as a device would deliver them."""

    container: av.container.InputContainer
    pace: bool = False
    timecode: SourceTimecode | None = None

    def _use_streams(self, want_audio: bool, no_video: str, no_rate: str) -> None:
        """Take the first video (and audio) stream; ``no_video``/``no_rate``: what to say."""
        if not self.container.streams.video:
            raise HeadblockError(no_video)
        self.vstream = self.container.streams.video[0]
        self.astream = (
            self.container.streams.audio[0]
            if (want_audio and self.container.streams.audio)
            else None
        )
        video_codec = self.vstream.codec_context
        rate = self.vstream.average_rate or self.vstream.guessed_rate or self.vstream.base_rate
        if not rate:
            raise HeadblockError(no_rate)
        self.info = SourceInfo(
            video_codec.width, video_codec.height, video_codec.pix_fmt or "", Fraction(rate)
        )
        # the timecode the input carries itself (DeckLink RP188/VITC through FFmpeg, ...)
        self.timecode = SourceTimecode.of_container(self.container, self.vstream)
        if self.astream is not None:
            audio_codec = self.astream.codec_context
            self.info.audio_rate_hz = audio_codec.sample_rate
            self.info.audio_channels = audio_codec.channels
            self.info.audio_format = audio_codec.format.name if audio_codec.format else None
            self.info.audio_layout = audio_codec.layout.name if audio_codec.layout else None

    def _demuxed(self) -> Iterator[tuple[str, av.frame.Frame, float]]:
        """Decoded frames until the container ends or ``stop()``; FFmpeg's errors go to the
        caller, which says what they mean for its kind of input."""
        streams = [self.vstream] + ([self.astream] if self.astream is not None else [])
        t0_wall = t0_media = None
        for packet in self.container.demux(streams):
            if self._stop.is_set():
                return
            if packet.dts is None and packet.size == 0:
                continue
            kind = "video" if packet.stream is self.vstream else "audio"
            if kind == "video" and packet.is_corrupt:
                self.device_errors += 1
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                if kind == "video":
                    self.device_drops += 1
                continue
            for frame in decoded:
                if frame.pts is None:
                    continue
                t_s = float(frame.pts * frame.time_base)
                if kind == "video" and self.timecode is not None:
                    self.timecode.see(frame, t_s)
                if self.pace:
                    if t0_wall is None:
                        t0_wall, t0_media = time.monotonic(), t_s
                    delay = t0_wall + (t_s - t0_media) - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        return
                yield kind, frame, t_s


class PyAVSource(ContainerSource):
    """An FFmpeg input device (or lavfi graph) opened with PyAV."""

    def __init__(self, spec: VideoDeviceSpec, *, want_audio: bool = True, pace: bool | None = None):
        self.spec = spec
        self.pace = spec.paced if pace is None else pace
        self._stop = threading.Event()
        target = spec.target
        if spec.kind == "lavfi" and spec.pix_fmt and ";" not in target and "[" not in target:
            target = f"{target},format={spec.pix_fmt}"
        try:
            self.container = av.open(
                target, format=spec.kind, options=dict(spec.options), timeout=10
            )
        except av.error.FFmpegError as exc:
            raise HeadblockError(f"cannot open video input {spec.text}: {_reason(exc)}") from exc
        except OSError as exc:
            raise HeadblockError(
                f"cannot open video input {spec.text}: {exc.strerror or exc}"
            ) from exc
        try:
            self._use_streams(
                want_audio,
                f"the input {spec.text} has no video stream",
                f"the input {spec.text} declares no frame rate",
            )
        except HeadblockError:
            self.container.close()
            raise

    def frames(self):
        try:
            yield from self._demuxed()
        except av.error.FFmpegError as exc:
            if not self._stop.is_set():
                raise HeadblockError(
                    f"the video input {self.spec.text} failed: {_reason(exc)}"
                ) from exc

    def _release(self) -> None:
        self.container.close()


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


# -- listing ----------------------------------------------------------------------------------

TEST_SIGNAL = "lavfi:testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le"


def _v4l2_name(device_path: str) -> str:
    sys_name = Path("/sys/class/video4linux") / Path(device_path).name / "name"
    try:
        return sys_name.read_text().strip()
    except OSError:
        return Path(device_path).name


def v4l2_inputs() -> list[dict]:
    """The V4L2 devices this user can open."""
    out: list[dict] = []
    for device_path in sorted(glob.glob("/dev/video*"), key=lambda path: (len(path), path)):
        if os.access(device_path, os.R_OK):
            out.append(
                {
                    "kind": "video",
                    "device": f"v4l2:{device_path}",
                    "name": _v4l2_name(device_path),
                    "format": "v4l2",
                }
            )
    return out


def decklink_inputs() -> list[dict]:
    return [
        {
            "kind": "video",
            "device": "decklink:NAME",
            "name": "Blackmagic DeckLink (give the card's name)",
            "format": "decklink",
        }
    ]


def lavfi_inputs() -> list[dict]:
    return [
        {
            "kind": "video",
            "device": TEST_SIGNAL,
            "name": "FFmpeg test signal (NTSC raster, 10-bit 4:2:2)",
            "format": "lavfi",
        }
    ]
