"""The registry of input backends: every backend is listed by the registry, named by its
prefix, and the demo and lavfi ones open (the others need hardware)."""

from __future__ import annotations

import pytest

from capture import backends
from capture.audio_input import AudioInput
from capture.mkv_writer import AudioParams
from capture.video.audio_feeds import AudioConverter
from capture.video_input import VideoSource
from metadata.errors import HeadblockError

# A device text naming each backend by its prefix (the catch-all: any other name)
EXAMPLES = {
    ("audio", "portaudio"): "USB Audio CODEC",
    ("audio", "demo"): "demo",
    ("video", "v4l2"): "v4l2:/dev/video0",
    ("video", "decklink"): "decklink:Intensity Pro",
    ("video", "avfoundation"): "avfoundation:0",
    ("video", "dshow"): "dshow:video=Card",
    ("video", "lavfi"): "lavfi:testsrc2=size=64x48:rate=25",
    ("video", "demo"): "demo:ntsc",
    ("video", "ffmpeg"): "ffmpeg:-f lavfi -i testsrc2=size=64x48:rate=25",
    ("video-audio", "lavfi"): "lavfi:sine=frequency=1000:sample_rate=48000",
    ("video-audio", "audio-input"): "demo",
}
OPENS_HERE = {
    ("audio", "demo"),
    ("video", "lavfi"),
    ("video", "demo"),
    ("video", "ffmpeg"),
    ("video-audio", "lavfi"),
}


def test_every_registered_backend_is_listed_with_an_example():
    registered = {(b.media, b.name) for b in backends.backends()}
    assert registered == set(EXAMPLES)
    for media in backends.MEDIA:
        assert backends.backends(media), media
        assert sum(not b.prefix for b in backends.backends(media)) <= 1  # one catch-all at most


@pytest.mark.parametrize("key", sorted(EXAMPLES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_a_backend_is_named_by_its_prefix(key):
    media, name = key
    backend = backends.backend_for(media, EXAMPLES[key])
    assert (backend.media, backend.name) == key
    assert backend.takes(EXAMPLES[key])
    if media == "video":
        spec = backends.parse_video_device(EXAMPLES[key]) if backend.available() else None
        assert spec is None or spec.kind == name


@pytest.mark.parametrize("key", sorted(OPENS_HERE), ids=lambda k: f"{k[0]}-{k[1]}")
def test_demo_and_lavfi_backends_open(key):
    media, _name = key
    device = EXAMPLES[key]
    if media == "audio":
        opened = backends.open_audio_input(device, 48000, 2, 24)
        assert isinstance(opened, AudioInput)
        with opened:
            assert opened.wait_first_block(5)
        return
    if media == "video":
        source = backends.open_video_source(backends.parse_video_device(device))
        try:
            assert isinstance(source, VideoSource) and source.info.width > 0
            kind, _frame, _t_s = next(iter(source.frames()))
            assert kind in ("video", "audio")
        finally:
            source.close()
        return
    feed = backends.open_audio_feed(device, AudioConverter(AudioParams(48000, 2, 24)))
    try:
        feed.start()
        block, _arrival = next(iter(feed.blocks()))
        assert block.shape[1] == 2
    finally:
        feed.close()


def test_unknown_video_format_lists_the_registered_ones():
    with pytest.raises(HeadblockError) as err:
        backends.parse_video_device("vhs:/dev/video0")
    for backend in backends.backends("video"):
        assert backend.name in str(err.value)


def test_devices_listing_goes_through_the_registry(monkeypatch):
    listed = backends.Backend("fake", "video", "fake:", open=None, inputs=lambda: [{"x": 1}])
    monkeypatch.setattr(backends, "_BACKENDS", [*backends._BACKENDS, listed])
    assert {"x": 1} in backends.video_inputs()
    assert backends.audio_inputs()[-1]["name"] == "demo"
