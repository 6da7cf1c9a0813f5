"""Video input parsing, presets and listing (no capture; fast)."""

from fractions import Fraction

import av
import pytest

from capture.backends import open_video_source, parse_video_device
from capture.backends import video_inputs as list_video_inputs
from capture.video_input import STANDARDS, standard_for
from headblock.cli import main
from metadata.errors import HeadblockError


def test_presets_give_display_aspect_4_3():
    ntsc, pal = STANDARDS["ntsc"], STANDARDS["pal"]
    assert (ntsc.width, ntsc.height, ntsc.rate, ntsc.field_order) == (
        720,
        486,
        Fraction(30000, 1001),
        "bff",
    )
    assert (pal.width, pal.height, pal.rate, pal.field_order) == (720, 576, Fraction(25), "tff")
    for std in (ntsc, pal):
        assert std.sample_aspect * std.width / std.height == Fraction(4, 3)
    assert ntsc.sample_aspect == Fraction(9, 10) and pal.sample_aspect == Fraction(16, 15)
    assert standard_for(720, 486, Fraction(30000, 1001)) is ntsc
    assert standard_for(720, 576, Fraction(25)) is pal
    assert standard_for(720, 576, Fraction(30000, 1001)) is None
    assert standard_for(640, 480, None) is None


def test_v4l2_options_from_standard_and_pixel_format():
    spec = parse_video_device(
        "v4l2:/dev/video3", standard="ntsc", pix_fmt="uyvy422", options=["framerate=29.97"]
    )
    assert (spec.kind, spec.target) == ("v4l2", "/dev/video3")
    assert spec.options["standard"] == "NTSC"
    assert spec.options["video_size"] == "720x486"
    assert spec.options["input_format"] == "uyvy422"
    assert spec.options["framerate"] == "29.97"  # an explicit --option wins
    assert not spec.paced


def test_lavfi_and_demo_parse():
    spec = parse_video_device("lavfi:testsrc2=size=64x48:rate=25")
    assert spec.kind == "lavfi" and spec.target == "testsrc2=size=64x48:rate=25" and spec.paced
    demo = parse_video_device("demo:pal")
    assert demo.kind == "demo" and demo.standard is STANDARDS["pal"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("testsrc2", ["FORMAT:TARGET"]),
        ("vhs:/dev/video0", ["unknown video input format", "'vhs'"]),
        ("lavfi:", ["no target"]),
    ],
)
def test_bad_device_text(text, words):
    with pytest.raises(HeadblockError) as err:
        parse_video_device(text)
    for w in words:
        assert w in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_formats_are_named_once():
    for kind in ("decklink", "avfoundation", "dshow"):
        if kind in av.formats_available:
            continue
        with pytest.raises(HeadblockError) as err:
            parse_video_device(f"{kind}:Card 1")
        msg = str(err.value)
        assert f"no '{kind}' input device" in msg and "lavfi" in msg and "\n" not in msg


def test_bad_options():
    with pytest.raises(HeadblockError, match="KEY=VALUE"):
        parse_video_device("lavfi:testsrc2", options=["novalue"])
    with pytest.raises(HeadblockError, match="unknown video standard"):
        parse_video_device("lavfi:testsrc2", standard="secam-x")
    with pytest.raises(HeadblockError, match="unknown pixel format"):
        parse_video_device("lavfi:testsrc2", pix_fmt="yuv999p")
    with pytest.raises(HeadblockError, match="format=PIXFMT"):
        parse_video_device("lavfi:testsrc2[out0];sine[out1]", pix_fmt="yuv422p")
    assert parse_video_device("lavfi:testsrc2", pix_fmt="yuv422p").pix_fmt == "yuv422p"


def test_open_missing_v4l2_device_is_one_line():
    spec = parse_video_device("v4l2:/dev/video97")
    with pytest.raises(HeadblockError) as err:
        open_video_source(spec)
    assert "/dev/video97" in str(err.value) and "\n" not in str(err.value)


def test_list_video_inputs():
    inputs = list_video_inputs()
    devices = [d["device"] for d in inputs]
    assert "demo:ntsc" in devices and "demo:pal" in devices
    assert any(d.startswith("lavfi:") for d in devices)
    for d in inputs:
        assert d["kind"] == "video" and d["name"]


def test_cli_bad_device_exit_2(tmp_path, capsys):
    status = main(
        [
            "capture",
            "video",
            "--device",
            "decklink:Intensity Pro",
            "--item",
            "X1",
            "--library",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    if "decklink" in av.formats_available:
        pytest.skip("this FFmpeg build has decklink")
    assert status == 2
    assert err.count("\n") == 1 and "decklink" in err
    assert not (tmp_path / "X1").exists()  # no take folder for a device that cannot open
