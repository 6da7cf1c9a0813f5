"""Per-frame statistics against FFmpeg's own signalstats on the same frames, and the sidecar.

Tolerances (stated once, used throughout):
* integer statistics (MIN/LOW/HIGH/MAX of Y, U, V and SATMAX): exactly equal;
* averages (YAVG, UAVG, VAVG, SATAVG, YDIF): within 0.01 — FFmpeg prints them with %g
  (six significant digits), ours are exact;
* shares of pixels or lines (TOUT, VREP, BRNG): within 1e-6 (one pixel is 1e-5 at 360x243).
At 10 bits FFmpeg's TOUT test sees only the low 8 bits of each sample; ours works in the native
depth, and equals FFmpeg's exactly when asked to reproduce that (``tout_ffmpeg_8bit_quirk``).
"""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from metadata.errors import HeadblockError
from qc.video_stats import (
    COL,
    FIELDS,
    AnalysisParams,
    FrameAnalyzer,
    compute_video_stats,
    read_vstats,
    write_vstats,
)
from tests.qc.videogen import Fault, VideoSpec, ffmpeg_signalstats, make_video

INTEGER = [
    "YMIN",
    "YLOW",
    "YHIGH",
    "YMAX",
    "UMIN",
    "ULOW",
    "UHIGH",
    "UMAX",
    "VMIN",
    "VLOW",
    "VHIGH",
    "VMAX",
    "SATMAX",
]
AVERAGES = ["YAVG", "UAVG", "VAVG", "SATAVG", "YDIF"]
SHARES = ["TOUT", "VREP", "BRNG"]

FAULTS = (
    Fault("streak", 3, 2),
    Fault("black_streak", 8, 1),
    Fault("repeat_lines", 11, 2),
    Fault("out_of_range", 14, 2),
    Fault("saturation", 17, 2),
    Fault("black", 20, 2),
    Fault("freeze", 23, 2),
)


def _compare(ours, theirs, skip=()):
    assert len(theirs) == len(ours)
    worst = {}
    for name in INTEGER + AVERAGES + SHARES:
        if name in skip:
            continue
        a = np.array([d[name] for d in theirs])
        b = ours.column(name)
        diff = np.abs(a - b)
        worst[name] = float(diff.max())
        tol = 0.0 if name in INTEGER else (0.01 if name in AVERAGES else 1e-6)
        bad = np.flatnonzero(diff > tol)
        assert bad.size == 0, (
            f"{name} differs at frames {bad[:5]}: ffmpeg {a[bad[:5]]} ours {b[bad[:5]]}"
        )
    return worst


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("vstats")
    out = {}
    out["8bit"] = make_video(
        d / "f8.mkv", VideoSpec(frames=28, pix_fmt="yuv422p", faults=FAULTS, noise=2.5)
    )
    out["10bit"] = make_video(d / "f10.mkv", VideoSpec(frames=28, faults=FAULTS, noise=2.5))
    return out


def test_8bit_422_equals_ffmpeg_signalstats(files):
    path = files["8bit"].path
    ours = compute_video_stats(path)
    worst = _compare(ours, ffmpeg_signalstats(path))
    # the faults really moved the figures we compare (the test can fail)
    assert ours.column("TOUT").max() > 0.001
    assert ours.column("VREP").max() > 0.05
    assert ours.column("BRNG").max() > 0.05
    assert ours.column("SATMAX").max() >= 139
    print("8-bit worst differences:", worst)


def test_10bit_422_equals_ffmpeg_except_native_tout(files):
    path = files["10bit"].path
    theirs = ffmpeg_signalstats(path)
    ours = compute_video_stats(path)
    _compare(ours, theirs, skip=("TOUT",))
    quirk = compute_video_stats(path, AnalysisParams(tout_ffmpeg_8bit_quirk=True))
    _compare(quirk, theirs)
    # native TOUT: the streak frames stand out, clean frames do not (FFmpeg's 8-bit view of
    # 10-bit noise flags wrapped-around samples on every frame)
    tout = ours.column("TOUT")
    streak_frames = [3, 4, 8]
    clean = np.setdiff1d(np.arange(len(tout)), streak_frames)
    assert tout[streak_frames].min() > 5 * max(tout[clean].max(), 1e-5)


@pytest.mark.parametrize(
    "pix_fmt,size",
    [("yuv420p", (181, 121)), ("yuv444p10le", (96, 64)), ("yuv420p10le", (97, 55))],
)
def test_other_subsamplings_and_odd_sizes(tmp_path, pix_fmt, size):
    spec = VideoSpec(
        width=size[0],
        height=size[1],
        frames=8,
        pix_fmt=pix_fmt,
        slices=1,
        faults=(Fault("streak", 2), Fault("out_of_range", 4), Fault("saturation", 5)),
    )
    info = make_video(tmp_path / "v.mkv", spec)
    ours = compute_video_stats(info.path, AnalysisParams(tout_ffmpeg_8bit_quirk=True))
    _compare(ours, ffmpeg_signalstats(info.path))


def test_black_freeze_and_streak_figures(files):
    st = compute_video_stats(files["10bit"].path)
    black = st.column("BLACK")
    assert black[[20, 21]].min() > 0.99 and black[:20].max() < 0.05
    mafd = st.column("MAFD")
    assert mafd[[23, 24]].max() == 0.0  # exact repeats
    assert np.delete(mafd, [0, 21, 23, 24]).min() > 0.002  # noise keeps every other frame apart
    streak = st.column("STREAK")
    assert streak[[3, 4, 8]].min() > 0.15  # a streak covers a sixth to a third of a line
    assert np.delete(streak, [3, 4, 8]).max() < 0.05


def test_analyzer_counts_single_outlier_exactly():
    """A 3-pixel-wide, 1-line-high bright dash in a flat field is exactly 1 TOUT pixel."""
    y = np.full((20, 30), 400, np.uint16)
    y[10, 14:17] = 600
    u = np.full((20, 15), 512, np.uint16)
    a = FrameAnalyzer(30, 20, 10, (1, 0))
    row = a.analyze(y, u, u.copy())
    assert row[COL["TOUT"]] * 600 == pytest.approx(1)
    assert row[COL["STREAK"]] == pytest.approx(1 / 28)
    # the flat field repeats every line 4 above except the 2 lines around the dash
    assert row[COL["VREP"]] * 20 == pytest.approx(20 - 4 - 2)


def test_sidecar_round_trip_and_two_hour_open_time(tmp_path, files):
    st = compute_video_stats(files["8bit"].path)
    p = write_vstats(tmp_path / "x.vstats.npz", st)
    back = read_vstats(p)
    assert np.array_equal(back["pts_s"], st.pts_s)
    for name in FIELDS:
        assert np.allclose(back[name], st.column(name), rtol=1e-6, atol=1e-6), name
    assert back["meta"]["bit_depth"] == 8 and back["meta"]["pix_fmt"] == "yuv422p"

    # two hours at 29.97 fps: opens well under a second
    n = int(2 * 3600 * 30000 / 1001)
    big = st.__class__(
        st.info, np.arange(n) * 1001 / 30000, np.resize(st.table, (n, len(FIELDS))), st.params
    )
    big_path = write_vstats(tmp_path / "big.vstats.npz", big)
    t0 = time.perf_counter()
    data = read_vstats(big_path)
    elapsed = time.perf_counter() - t0
    assert len(data["YAVG"]) == n
    assert elapsed < 1.0, f"reading a two-hour sidecar took {elapsed:.2f} s"


def test_decoder_errors_are_reported_at_their_frame(tmp_path):
    info = make_video(tmp_path / "c.mkv", VideoSpec(frames=20, faults=(Fault("corrupt", 12),)))
    st = compute_video_stats(info.path)
    assert len(st) == 20  # the damaged frame is still decoded (concealed)
    times = sorted({round(i.time_s, 3) for i in st.issues})
    assert times == [round(12 * 1001 / 30000, 3)]
    assert any("CRC" in i.message for i in st.issues)


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100, "truncated"])
def test_bad_input_is_one_clear_error(tmp_path, files, content):
    p = tmp_path / "bad.mkv"
    if content == "truncated":
        p.write_bytes(files["8bit"].path.read_bytes()[:3000])
    else:
        p.write_bytes(content)
    with pytest.raises(HeadblockError) as exc:
        compute_video_stats(p)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("packed", ["uyvy422", "yuyv422"])
def test_packed_yuv_is_measured_as_its_planar_equivalent(tmp_path, packed):
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        pytest.skip("needs the ffmpeg command to write raw packed video")
    info = make_video(
        tmp_path / "p.mkv",
        VideoSpec(width=180, height=122, frames=6, pix_fmt="yuv422p", faults=(Fault("streak", 2),)),
    )
    out = tmp_path / "packed.nut"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-i",
            str(info.path),
            "-c:v",
            "rawvideo",
            "-pix_fmt",
            packed,
            str(out),
        ],
        check=True,
        timeout=60,
    )
    planar = compute_video_stats(info.path)
    converted = compute_video_stats(out)
    assert converted.info.pix_fmt == packed and converted.info.analysed_as == "yuv422p"
    diff = np.abs(planar.table - converted.table).max(axis=0)
    assert not diff.any(), dict(zip(FIELDS, diff, strict=True))
