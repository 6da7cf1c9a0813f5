"""framemd5 sidecars equal FFmpeg's, including frames whose lines are padded in memory."""

from __future__ import annotations

import shutil
from fractions import Fraction

import av
import pytest

from capture.mkv_writer import MkvWriter, VideoParams
from metadata.formats.framemd5 import compute_framemd5, frame_lines, read_framemd5
from tests.capture.helpers import ffmpeg_framemd5

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p10le", "yuv444p12le"])
def test_odd_sizes_and_depths_match_ffmpeg(tmp_path, pix_fmt):
    # 70x46: every plane's lines are padded in memory; the hash must skip the padding
    src = av.open(f"testsrc2=size=70x46:rate=25,format={pix_fmt}", format="lavfi")
    master = tmp_path / "T_t01.mkv"
    fmd5 = tmp_path / "T_t01.framemd5"
    params = VideoParams(width=70, height=46, pix_fmt=pix_fmt, rate=Fraction(25))
    w = MkvWriter(master, params, framemd5_path=fmd5)
    for i, frame in enumerate(src.decode(video=0)):
        assert frame.planes[1].line_size > frame.planes[1].width * (2 if "p1" in pix_fmt else 1)
        if i in (3, 4):
            continue  # two lost frames: their slots stay empty in the master and the sidecar
        w.write_video(frame, i)
        if i == 9:
            break
    src.close()
    w.close()
    assert fmd5.read_bytes() == ffmpeg_framemd5(master)
    assert compute_framemd5(master) == read_framemd5(fmd5)
    pts = [int(ln.split(",")[2]) for ln in frame_lines(read_framemd5(fmd5))]
    assert pts == [0, 1, 2, 5, 6, 7, 8, 9]


def test_a_changed_frame_changes_its_line(tmp_path):
    src = av.open("testsrc2=size=32x24:rate=25,format=yuv422p", format="lavfi")
    frames = [f for _, f in zip(range(3), src.decode(video=0), strict=False)]
    src.close()
    lines = []
    for flip in (False, True):
        path = tmp_path / f"m{int(flip)}.mkv"
        w = MkvWriter(path, VideoParams(width=32, height=24, pix_fmt="yuv422p", rate=Fraction(25)),
                      framemd5_path=tmp_path / f"m{int(flip)}.framemd5")  # fmt: skip
        for i, f in enumerate(frames):
            if flip and i == 1:
                f = f.reformat(format="yuv422p")
                f.planes[0].update(bytes(len(memoryview(f.planes[0]))))
            w.write_video(f, i)
        w.close()
        lines.append(frame_lines(read_framemd5(tmp_path / f"m{int(flip)}.framemd5")))
    assert lines[0][0] == lines[1][0] and lines[0][2] == lines[1][2]
    assert lines[0][1] != lines[1][1]
