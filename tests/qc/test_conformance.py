"""The conformance check: the FFV1 configuration record read by our own range decoder, and the
policy (Matroska, FFV1 >= 3.4, GOP 1, slice CRC, slices, pixel format, standard, field order,
PCM audio) on masters made to pass and made to break one rule each."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from fractions import Fraction

import av
import pytest

from qc.conformance import _crc_ieee_be, parse_ffv1_config, run_conformance
from tests.qc.videogen import VideoSpec, make_video

NTSC = VideoSpec(width=720, height=486, frames=3, slices=24, noise=0.5, audio="pcm_s24le")


def _ffmpeg_global_line(path) -> str | None:
    """FFmpeg's own account of the record: ``global: ver:3.4, ... slices:6x4 ... ec:1 intra:1``."""
    if not shutil.which("ffmpeg"):
        return None
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "debug", "-debug", "pict", "-i", str(path)]
        + ["-frames:v", "1", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"global: (ver:.*)", out.stderr)
    return m.group(1) if m else None


@pytest.mark.parametrize(
    "pix_fmt,slices,slicecrc",
    [("yuv422p10le", 24, 1), ("yuv422p", 16, 1), ("yuv420p", 4, 0), ("yuv444p10le", 6, 1)],
)
def test_record_parsed_as_ffmpeg_reads_it(tmp_path, pix_fmt, slices, slicecrc):
    spec = replace(NTSC, width=360, height=244, frames=1, pix_fmt=pix_fmt, slices=slices)
    spec.slicecrc = slicecrc
    spec.audio = None
    info = make_video(tmp_path / "v.mkv", spec)
    with av.open(str(info.path)) as c:
        cfg = parse_ffv1_config(c.streams.video[0].codec_context.extradata)
    assert (cfg.version, cfg.micro_version) == (3, 4)
    assert cfg.slices == slices and cfg.ec == slicecrc and cfg.intra == 1 and cfg.crc_ok
    assert cfg.bits_per_raw_sample == (10 if "10" in pix_fmt else 8)
    assert cfg.chroma_h_shift == (0 if "444" in pix_fmt else 1)
    assert cfg.chroma_v_shift == (1 if "420" in pix_fmt else 0)
    line = _ffmpeg_global_line(info.path)
    if line is not None:
        assert f"ver:{cfg.version}.{cfg.micro_version}," in line
        assert f"slices:{cfg.num_h_slices}x{cfg.num_v_slices}" in line
        assert f"ec:{cfg.ec}" in line and f"intra:{cfg.intra}" in line
        assert f"bpr:{cfg.bits_per_raw_sample}" in line


def test_damaged_record_is_noticed(tmp_path):
    info = make_video(tmp_path / "v.mkv", replace(NTSC, frames=1, audio=None))
    with av.open(str(info.path)) as c:
        data = bytearray(c.streams.video[0].codec_context.extradata)
    assert _crc_ieee_be(bytes(data)) == 0
    data[-6] ^= 0x01  # inside the record, before its CRC
    try:
        cfg = parse_ffv1_config(bytes(data))
    except ValueError:
        return  # unreadable is noticed too
    assert cfg.crc_ok is False


def test_ntsc_and_pal_masters_conform(tmp_path):
    for name, spec in {
        "ntsc": NTSC,
        "pal": replace(NTSC, height=576, rate=Fraction(25), field_order=2),
    }.items():
        info = make_video(tmp_path / f"{name}.mkv", spec)
        result, events, facts = run_conformance(info.path)
        assert result.status == "pass", result.summary
        assert events == []
        assert facts["ffv1_version"] == "3.4" and facts["slices"] == 24
        assert facts["audio"] == ["pcm_s24le"]


BROKEN = {
    "ffv1_version": dict(level=1),
    "slice_crc": dict(slicecrc=0),
    "slices": dict(slices=4),
    "gop": dict(gop=2, frames=4),
    "pixel_format": dict(pix_fmt="yuv422p12le"),
    "frame_size_rate": dict(width=640, height=480),
    "field_order": dict(field_order=None),
    "audio_pcm": dict(audio="flac"),
    "container": dict(container_format="nut"),
}


@pytest.mark.parametrize("rule", list(BROKEN))
def test_each_broken_rule_fails(tmp_path, rule):
    spec = replace(NTSC, **BROKEN[rule])
    ext = ".nut" if rule == "container" else ".mkv"
    info = make_video(tmp_path / f"m{ext}", spec)
    result, events, facts = run_conformance(info.path)
    assert result.status == "fail", facts
    assert facts["rules"][rule] == "fail"
    # only the broken rule fails (level 1 also has no record, so no slice facts; NUT cannot
    # carry a field order)
    also = ["field_order"] if rule == "container" else []
    assert [r for r, s in facts["rules"].items() if s != "pass"] == [rule, *also]
    assert [e.detail.split(":")[0] for e in events] == [rule, *also]
    assert all(e.severity == "fail" for e in events)


def test_progressive_is_a_warning_and_profile_can_allow_sizes(tmp_path):
    info = make_video(tmp_path / "p.mkv", replace(NTSC, field_order=1, width=360, height=244))
    result, _, facts = run_conformance(info.path)
    assert facts["rules"]["field_order"] == "warn"
    assert facts["rules"]["frame_size_rate"] == "fail"
    result, _, facts = run_conformance(
        info.path, {"standards": "360x244@30000/1001", "require_interlaced": False}
    )
    assert result.status == "pass", result.summary
