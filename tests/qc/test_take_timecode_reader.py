"""The tape's timecode of a take's media time, read from what the master records: the
Matroska TIMECODE tag, the .timecode.vtt (breaks followed), BWF TimeReference with iXML; and
nothing for a master without one (or with the station's clock in TimeReference)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from capture.timecode.master import set_video_timecode_tag
from metadata.formats import bwf
from qc.timecode import frame_number, read_take_timecode, time_label
from tests.review.takes import make_video_take


def _bwf(path, time_reference: int, ixml_timecode: bwf.IxmlTimecode | None, rate_hz=48000):
    bext = bwf.BextInfo(description="t", time_reference=time_reference)
    ixml = bwf.build_ixml(project="T", rate_hz=rate_hz, bits=24, timecode=ixml_timecode)
    with bwf.BWFWriter(path, rate_hz, 2, 24, bext, ixml=ixml) as writer:
        writer.write(np.zeros((rate_hz, 2), np.float32))
    return path


def test_bwf_time_reference_with_ixml_timecode(tmp_path):
    # 01:00:00:00 at 25 fps, then 12.345 s into the take: 01:00:12:08
    samples = 3600 * 48000
    master = _bwf(tmp_path / "A_t01.wav", samples, bwf.IxmlTimecode("25/1", "NDF", samples))
    tc = read_take_timecode(master)
    assert tc is not None and tc.source == "BWF TimeReference" and not tc.drop_frame
    assert tc.at(0) == "01:00:00:00" and tc.at(12.345) == "01:00:12:08"
    assert time_label(12.345, tc) == "12.345 s (TC 01:00:12:08)"
    # 29.97 drop-frame: 01:00:00;00 is frame 107892 of the day, at 30000/1001 fps
    start = frame_number("01:00:00;00", 30)
    samples = start * 48000 * 1001 // 30000
    master = _bwf(tmp_path / "B_t01.wav", samples, bwf.IxmlTimecode("30000/1001", "DF", samples))
    tc = read_take_timecode(master)
    assert tc.drop_frame and tc.at(0) == "01:00:00;00"
    assert tc.at(60.06) == "01:01:00;02"  # frames 0 and 1 of the minute do not exist


def test_bwf_station_clock_is_no_tape_timecode(tmp_path):
    master = _bwf(tmp_path / "C_t01.wav", 3600 * 48000, None)  # TimeReference, no iXML code
    assert read_take_timecode(master) is None
    assert time_label(1.5, None) == "1.500 s"


@pytest.mark.skipif(not shutil.which("mkvpropedit"), reason="needs mkvtoolnix")
def test_matroska_tag_and_vtt_with_a_break(tmp_path):
    paths = make_video_take(tmp_path)  # 25 fps, 2 s
    master = paths.master("video")
    assert read_take_timecode(master) is None  # no tag yet
    set_video_timecode_tag(master, "10:00:00:00")
    tc = read_take_timecode(master)
    assert tc.source == "Matroska TIMECODE tag" and float(tc.rate) == 25
    assert tc.at(0.0) == "10:00:00:00" and tc.at(1.2) == "10:00:01:05"
    # the vtt: code from 0 to 1 s, none from 1.0 to 1.2 s, then a jump to 11:00:00:00
    paths.file(".timecode.vtt").write_text(
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\n10:00:00:00\n\n"
        "2\n00:00:01.200 --> 00:00:02.000\n11:00:00:00\n\n3\nnot a cue\n"
    )
    tc = read_take_timecode(master)
    assert tc.source == "timecode.vtt" and len(tc.cues) == 2
    assert tc.at(0.52) == "10:00:00:13"
    assert tc.at(1.1) is None  # no code on the tape there
    assert tc.at(1.6) == "11:00:00:10"
    assert time_label(1.1, tc) == "1.100 s"


def test_a_malformed_tag_is_no_timecode(tmp_path):
    import av

    master = tmp_path / "D_t01.mkv"
    with av.open(str(master), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.metadata["TIMECODE"] = "ten o'clock"
        frame = av.VideoFrame(32, 24, "yuv420p")
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    assert read_take_timecode(master) is None
    assert read_take_timecode(tmp_path / "missing.mkv") is None
