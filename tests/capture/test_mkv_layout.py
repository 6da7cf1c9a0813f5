"""The display size written after close leaves Matroska's Tracks near the start of the master,
so a master cut short later (a crash, a torn copy) still has readable tracks."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction

import av
import pytest

from capture.mkv_writer import AudioParams, MkvWriter, VideoParams, pending_track_name

pytestmark = pytest.mark.skipif(
    not (shutil.which("mkvpropedit") and shutil.which("ffprobe")), reason="needs mkvtoolnix"
)

SEGMENT, TRACKS, CLUSTER, VOID = 0x18538067, 0x1654AE6B, 0x1F43B675, 0xEC


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    first = data[at]
    length = next(n for n in range(1, 9) if first & (0x80 >> (n - 1)))
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    return value, at + length


def top_level(path) -> list[tuple[int, int]]:
    """(element ID, offset) of every element directly inside the Segment."""
    data = path.read_bytes()
    at = 0
    ident, at = _vint(data, at, True)
    size, at = _vint(data, at, False)
    at += size  # the EBML header
    ident, at = _vint(data, at, True)
    assert ident == SEGMENT
    _size, at = _vint(data, at, False)
    out = []
    while at < len(data):
        start = at
        ident, at = _vint(data, at, True)
        size, at = _vint(data, at, False)
        out.append((ident, start))
        at += size
    return out


def _write_ntsc(path, frames=12):
    video = VideoParams(
        width=720, height=486, pix_fmt="yuv422p10le", rate=Fraction(30000, 1001),
        field_order="bff", display_aspect=Fraction(4, 3),
    )  # fmt: skip
    writer = MkvWriter(path, video, AudioParams(48000, 2, 24), tags={"TITLE": "T"})
    src = av.open("testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le", format="lavfi")
    for i, frame in zip(range(frames), src.decode(video=0), strict=False):
        writer.write_video(frame, i)
    src.close()
    stats = writer.close()
    assert stats.mkvpropedit == "ok"


def _probe(path) -> dict:
    run = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return json.loads(run.stdout or "{}")


def test_tracks_stay_before_the_first_cluster_and_the_display_size_reads_back(tmp_path):
    master = tmp_path / "T_t01.mkv"
    _write_ntsc(master)
    elements = top_level(master)
    ids = [ident for ident, _ in elements]
    assert ids.count(TRACKS) == 1
    assert ids.index(TRACKS) < ids.index(CLUSTER)  # not moved to the end
    video = next(s for s in _probe(master)["streams"] if s["codec_type"] == "video")
    assert video["display_aspect_ratio"] == "4:3" and video["sample_aspect_ratio"] == "9:10"
    assert video["tags"]["title"] == "T_t01 video"  # the pending name shortened
    if shutil.which("mediaconch"):
        conch = subprocess.run(["mediaconch", str(master)], capture_output=True, text=True)
        assert conch.stdout.startswith("pass!"), conch.stdout
    # cut short after the first cluster began: the tracks still read
    first_cluster = dict((i, o) for i, o in reversed(elements))[CLUSTER]
    torn = tmp_path / "torn.mkv"
    torn.write_bytes(master.read_bytes()[: first_cluster + 20000])
    streams = _probe(torn).get("streams", [])
    assert {s["codec_type"] for s in streams} == {"video", "audio"}
    assert next(s for s in streams if s["codec_type"] == "video")["width"] == 720


def test_without_the_room_mkvpropedit_moves_tracks_to_the_end(tmp_path):
    """What the pending name prevents: the same edit on a track muxed without one."""
    master = tmp_path / "T_t01.mkv"
    _write_ntsc(master)
    assert pending_track_name(master).startswith("T_t01 video (")
    out = tmp_path / "plain.mkv"
    with av.open(str(master)) as src, av.open(str(out), "w", format="matroska") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    subprocess.run(
        ["mkvpropedit", "--quiet", str(out), "--edit", "track:v1",
         "--set", "display-width=648", "--set", "display-height=486"],
        check=False,
    )  # fmt: skip
    ids = [ident for ident, _ in top_level(out)]
    assert ids.index(TRACKS) > ids.index(CLUSTER)
