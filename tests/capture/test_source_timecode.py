"""The timecode a video source carries itself (DeckLink RP188/VITC through the station's
FFmpeg): what really arrives through the pipe (measured here with this machine's ffmpeg),
kept in the master as the Matroska TIMECODE tag and .timecode.vtt, shown live in the take's
status; per-frame codes with a break; and a source without any."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
from fractions import Fraction

import pytest

from capture.timecode.source import SourceTimecode, frame_code, s12m_text
from capture.video.take import VideoTake, VideoTakeSettings
from qc.timecode import read_take_timecode
from tests.capture.helpers import log_events

needs_tools = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("mkvpropedit")), reason="needs ffmpeg, mkvtoolnix"
)


class Frame:
    """What the source's reader sees of a decoded frame: its metadata and side data."""

    def __init__(self, code=None, s12m=None):
        self.metadata = {"timecode": code} if code else {}
        self.side_data = []
        if s12m is not None:
            self.side_data = [S12M(struct.pack("<IIII", 1, s12m, 0, 0))]


class S12M(bytes):
    class type:  # noqa: N801 - as PyAV names side data types
        name = "S12M_TIMECODE"


def test_s12m_words_and_frame_codes():
    assert s12m_text(0x04030201) == ("01:02:03:04", False)
    assert s12m_text(0x04030201 | 1 << 30) == ("01:02:03;04", True)
    assert frame_code(Frame(s12m=0x24594323)) == "23:43:59:24"
    assert frame_code(Frame("10:00:00:00")) == "10:00:00:00"
    assert frame_code(Frame()) is None


def test_per_frame_codes_with_a_break():
    tc = SourceTimecode(Fraction(25))
    for i in range(50):  # 2 s of code from 10:00:00:00, then the tape jumps to 10:30:00:00
        code = f"10:00:{i // 25:02d}:{i % 25:02d}" if i < 30 else f"10:30:00:{i - 30:02d}"
        tc.see(Frame(code), 100.0 + i / 25)
    assert tc.per_frame and tc.found and tc.origin == "frames"
    assert tc.first_frame() == "10:00:00:00" and tc.newest() == "10:30:00:19"
    assert tc.at(0.5) == "10:00:00:12" and tc.at(1.3) == "10:30:00:02"
    assert tc.breaks() == [{"at_s": 1.2, "before": "10:00:01:04", "after": "10:30:00:00"}]


def test_a_stream_code_counts_on_and_no_code_is_none():
    tc = SourceTimecode(Fraction(30000, 1001), "00:00:59;28", "stream")
    for i in range(5):
        tc.see(Frame(), i * 1001 / 30000)
    assert tc.first_frame() == "00:00:59;28" and tc.newest() == "00:01:00;04"  # 00 and 01 dropped
    assert not tc.per_frame and tc.breaks() == []
    none = SourceTimecode(Fraction(25))
    none.see(Frame(), 0.0)
    assert not none.found and none.first_frame() is None and none.newest() is None
    assert SourceTimecode(Fraction(25), "not a code").first_frame() is None


def _probe_nut(*output: str) -> dict:
    run = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=64x48:rate=25", "-t", "0.2", *output, "-c:v", "rawvideo",
         "-f", "nut", "pipe:1"],
        capture_output=True, check=True,
    )  # fmt: skip
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", "-"],
        input=run.stdout, capture_output=True, check=True,
    )  # fmt: skip
    return json.loads(probe.stdout)


@needs_tools
def test_what_arrives_through_the_pipe():
    """``-timecode`` on the pipe's output lands in the NUT container's metadata."""
    data = _probe_nut("-timecode", "01:00:00:00")
    assert data["format"]["tags"]["timecode"] == "01:00:00:00"
    assert "timecode" not in data["streams"][0].get("tags", {})


def _take(tmp_path, device: str, item: str, **kw) -> VideoTake:
    settings = VideoTakeSettings(device=device, library=tmp_path, item=item, run_qc=False, **kw)
    return VideoTake(settings)


@needs_tools
def test_drop_frame_code_through_ffmpeg_kept_in_the_master_and_live(tmp_path):
    device = (
        "ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=30000/1001,format=yuv422p10le "
        "-f lavfi -i sine=sample_rate=48000 -timecode 00:00:58;00"
    )
    take = _take(tmp_path, device, "SRC-TC1", seconds=2.2)
    paths = take.start()
    seen = set()
    deadline = time.monotonic() + 30
    while not take.wait(0.1) and time.monotonic() < deadline:
        seen.add(take.status().timecode)
    assert take.result is not None and take.result.fixity_ok, take.error
    live = sorted(c for c in seen if c)
    assert len(live) >= 5 and live[0] >= "00:00:58;00" and live[-1] <= "00:01:00;16"
    master = paths.master("video")
    tags = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream_tags", "-of", "json", str(master)],
            capture_output=True, text=True, check=True,
        ).stdout
    )["streams"][0]["tags"]  # fmt: skip
    assert tags["TIMECODE"] == "00:00:58;00"
    vtt = (paths.directory / f"{paths.stem}.timecode.vtt").read_text()
    assert "00:00:00.000 --> 00:00:01.001\n00:00:58;00" in vtt
    # a cue per 30 frames (1.001 s), each reading its first frame's code
    assert "00:00:01.001 --> 00:00:02.002\n00:00:59;00" in vtt
    assert "00:00:02.002 --> 00:00:02.202\n00:01:00;02" in vtt  # ;00 and ;01 are dropped
    event = log_events(paths.directory, "timecode")[0]
    assert event.level == "INFO" and event.fields["carried_by"] == "container"
    assert event.fields["first_frame"] == "00:00:58;00" and event.fields["drop_frame"]
    assert read_take_timecode(master).at(2.1) == "00:01:00;04"  # what Review and reports read
    assert take.status().timecode is not None


@needs_tools
def test_a_file_timecode_track_arrives_as_stream_metadata(tmp_path):
    """As DeckLink's: the input stream's ``timecode`` metadata, copied to the pipe's stream."""
    mov = tmp_path / "tape.mov"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=320x240:rate=25", "-t", "1.5", "-c:v", "mpeg2video",
         "-timecode", "10:00:00:00", str(mov)],
        check=True,
    )  # fmt: skip
    take = _take(tmp_path, f"ffmpeg:-i {mov}", "SRC-TC2", audio_device="none")
    paths = take.start()
    assert take.wait(30) and take.result is not None, take.error
    event = log_events(paths.directory, "timecode")[0]
    assert event.fields["carried_by"] == "stream" and event.fields["first_frame"] == "10:00:00:00"
    assert read_take_timecode(paths.master("video")).at(1.0) == "10:00:01:00"


@needs_tools
def test_a_source_without_timecode_writes_none(tmp_path):
    take = _take(
        tmp_path, "ffmpeg:-f lavfi -i testsrc2=size=160x120:rate=25", "SRC-TC3",
        seconds=1.0, audio_device="none",
    )  # fmt: skip
    paths = take.start()
    assert take.wait(30) and take.result is not None, take.error
    assert take.status().timecode is None
    assert log_events(paths.directory, "timecode") == []
    assert not (paths.directory / f"{paths.stem}.timecode.vtt").exists()
    assert read_take_timecode(paths.master("video")) is None
