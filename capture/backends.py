"""The one registry of input backends, audio and video, as Picard's format registry.

A backend declares its ``name``, the ``media`` it gives ("audio": an ``AudioInput`` for an
audio take or the window's meters; "video": a ``VideoSource``; "video-audio": a video take's
second audio input, ``--audio-device``), the ``prefix`` a device text starts with to name it,
how it ``open``s, what it ``inputs``-lists for ``headblock devices``, and whether this machine
can use it (``available``). Opening an input and listing inputs go through ``backend_for`` and
``backends``; nothing else picks a backend by name.

Prefix: one ending in ``:`` names a family of devices (``lavfi:GRAPH``, ``v4l2:/dev/video0``);
one without names a single device (``demo``); the empty prefix takes every other name
(PortAudio, by name substring or index).

A new backend is one module and one registration. The external FFmpeg device, say: a module
``capture/ffmpeg_input.py`` whose ``FFmpegSource(spec, want_audio=)`` is a ``VideoSource``
(``info``, ``frames()``, ``stop()``, ``close()``), and at the end of this file::

    register(Backend("ffmpeg", "video", "ffmpeg:", ffmpeg_input.FFmpegSource,
                     "an input read by an external ffmpeg", ffmpeg_input.inputs,
                     ffmpeg_input.available))

``--device ffmpeg:...`` then opens it, ``headblock devices`` lists it, and
``tests/capture/test_backends.py`` asks for an example device text naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from capture import audio_input, demo_video, ffmpeg_input, video_input
from capture.video.audio_feeds import AudioConverter, AudioInputFeed, LavfiAudioFeed
from metadata.errors import HeadblockError

MEDIA = ("audio", "video", "video-audio")


def _always() -> bool:
    return True


def _nothing() -> list[dict]:
    return []


@dataclass(frozen=True)
class Backend:
    name: str
    media: str  # one of MEDIA
    prefix: str  # "lavfi:" (a family), "demo" (one device), "" (any other name)
    # audio: (device, rate_hz=, channels=, bits=, **options) -> AudioInput
    # video: (spec: VideoDeviceSpec, want_audio=) -> VideoSource
    # video-audio: (device, converter: AudioConverter) -> a feed with start/blocks/losses/close
    open: Callable
    description: str = ""
    inputs: Callable[[], list[dict]] = _nothing  # the devices ``headblock devices`` lists
    available: Callable[[], bool] = _always  # this machine can open it

    def takes(self, device: str) -> bool:
        """True when ``device`` names this backend by its prefix."""
        text = device.strip().lower()
        if self.prefix.endswith(":"):
            return text.startswith(self.prefix)
        return text == self.prefix if self.prefix else True


_BACKENDS: list[Backend] = []


def register(backend: Backend) -> Backend:
    if backend.media not in MEDIA:
        raise ValueError(f"unknown media {backend.media!r} for backend {backend.name!r}")
    if any(known.name == backend.name and known.media == backend.media for known in _BACKENDS):
        raise ValueError(f"a {backend.media} backend named {backend.name!r} is registered")
    _BACKENDS.append(backend)
    return backend


def backends(media: str | None = None) -> list[Backend]:
    """Registered backends (of one ``media``), in the order ``headblock devices`` lists them."""
    return [backend for backend in _BACKENDS if media is None or backend.media == media]


def backend_for(media: str, device: str) -> Backend | None:
    """The backend whose prefix names ``device``: a named one before the catch-all."""
    candidates = backends(media)
    for backend in candidates:
        if backend.prefix and backend.takes(device):
            return backend
    return next((backend for backend in candidates if not backend.prefix), None)


# -- opening -----------------------------------------------------------------------------------


def open_audio_input(
    device, rate_hz: int = 96000, channels: int | None = None, bits: int = 24, **kwargs
) -> audio_input.AudioInput:
    """The audio input for ``device``: ``"demo"`` (the demo deck) or a PortAudio name/index."""
    if device is None or str(device).strip() == "":
        raise HeadblockError(f"no audio device given; {audio_input.inputs_line()}")
    backend = backend_for("audio", str(device))
    return backend.open(device, rate_hz=rate_hz, channels=channels, bits=bits, **kwargs)


def parse_video_device(
    text: str,
    *,
    standard: str | None = None,
    pix_fmt: str | None = None,
    options: list[str] | tuple[str, ...] = (),
    audio_channels: int | None = None,
) -> video_input.VideoDeviceSpec:
    """Parse ``FORMAT:TARGET`` (FORMAT a video backend's prefix) and the device options;
    HeadblockError with one clear line."""
    if not text or ":" not in text:
        raise HeadblockError(
            f"--device takes FORMAT:TARGET (e.g. v4l2:/dev/video0, lavfi:testsrc2, demo:ntsc), "
            f"got {text!r}"
        )
    kind, target = text.split(":", 1)
    kind = kind.strip().lower()
    if kind == "video4linux2":
        kind = "v4l2"
    backend = backend_for("video", f"{kind}:")
    if backend is None:
        formats = ", ".join(backend.name for backend in backends("video"))
        raise HeadblockError(f"unknown video input format {kind!r} (expected one of: {formats})")
    if not target:
        raise HeadblockError(f"--device {text!r} names no target after '{kind}:'")
    if not backend.available() and kind == "ffmpeg":
        raise HeadblockError(ffmpeg_input.missing_text())
    if not backend.available():
        here = [
            known.name for known in backends("video") if known.name != "demo" and known.available()
        ]
        here.sort(key=lambda name: name != "lavfi")  # the test signal first: always there
        raise HeadblockError(
            f"this FFmpeg build (PyAV {video_input.av.__version__}) has no '{kind}' input "
            f"device; available here: {', '.join(here)}"
            + (
                " (decklink needs an FFmpeg built with the Blackmagic SDK: set it as the "
                "station's FFmpeg and use ffmpeg:-f decklink -i NAME)"
                if kind == "decklink"
                else ""
            )
        )
    return video_input.video_device_spec(
        text,
        kind,
        target,
        standard=standard,
        pix_fmt=pix_fmt,
        options=options,
        audio_channels=audio_channels,
    )


def open_video_source(
    spec: video_input.VideoDeviceSpec, *, want_audio: bool = True
) -> video_input.VideoSource:
    """Open the input named by ``spec``; HeadblockError (one line) when it cannot be opened."""
    return backend_for("video", f"{spec.kind}:").open(spec, want_audio=want_audio)


def open_audio_feed(device: str, converter: AudioConverter):
    """A video take's second audio input (``--audio-device``), not yet started."""
    return backend_for("video-audio", device).open(device, converter)


# -- listing -----------------------------------------------------------------------------------


def audio_inputs() -> list[dict]:
    """The audio inputs of every audio backend: PortAudio's with their rates, the demo deck."""
    return [device for backend in backends("audio") for device in backend.inputs()]


def video_inputs() -> list[dict]:
    """The video inputs of every video backend this machine has."""
    return [
        device
        for backend in backends("video")
        if backend.available()
        for device in backend.inputs()
    ]


# -- the backends ------------------------------------------------------------------------------


def _open_portaudio_feed(device: str, converter: AudioConverter) -> AudioInputFeed:
    params = converter.params
    name = int(device) if device.isdigit() else device
    opened = open_audio_input(name, params.rate_hz, params.channels, params.bits)
    return AudioInputFeed(device, opened, converter)


def _pyav_backend(kind: str, description: str, inputs=_nothing) -> Backend:
    return Backend(
        name=kind,
        media="video",
        prefix=f"{kind}:",
        open=video_input.PyAVSource,
        description=description,
        inputs=inputs,
        available=lambda: video_input.format_available(kind),
    )


register(
    Backend(
        "portaudio",
        "audio",
        "",
        audio_input.PortAudioInput,
        "a PortAudio input by name substring or index",
        audio_input.portaudio_inputs,
    )
)
register(
    Backend(
        "demo",
        "audio",
        "demo",
        lambda device, **settings: audio_input.DemoInput(**settings),
        "the demo deck's tape playback",
        audio_input.demo_audio_inputs,
    )
)
register(_pyav_backend("v4l2", "a Video4Linux2 capture device", video_input.v4l2_inputs))
register(_pyav_backend("decklink", "a Blackmagic DeckLink card", video_input.decklink_inputs))
register(_pyav_backend("avfoundation", "a macOS capture device"))
register(_pyav_backend("dshow", "a DirectShow capture device"))
register(_pyav_backend("lavfi", "an FFmpeg test signal (filter graph)", video_input.lavfi_inputs))
register(
    Backend(
        "demo",
        "video",
        "demo:",
        demo_video.DemoVideoSource,
        "the demo deck's VHS-like tape",
        demo_video.demo_video_inputs,
    )
)
register(
    Backend(
        "ffmpeg",
        "video",
        "ffmpeg:",
        ffmpeg_input.FFmpegSource,
        "an input read by the station's own FFmpeg (e.g. one built with the DeckLink SDK)",
        ffmpeg_input.inputs,
        ffmpeg_input.available,
    )
)
register(
    Backend(
        "lavfi",
        "video-audio",
        "lavfi:",
        lambda device, converter: LavfiAudioFeed(device[len("lavfi:") :], converter),
        "an FFmpeg audio test signal",
    )
)
register(
    Backend(
        "audio-input",
        "video-audio",
        "",
        _open_portaudio_feed,
        "an audio input (PortAudio or the demo deck) read beside the video",
    )
)
