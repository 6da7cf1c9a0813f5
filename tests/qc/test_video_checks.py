"""Video checks on programme-like FFV1 material with faults at known frames, and on clean material.

Recall: every injected fault must be found by its check, overlapping the fault's frames.
False alarms: no event of any video check may lie outside the faults of its kind.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from metadata.take.log import TakeLog
from qc.profiles import profile_from_dict
from qc.video_checks import run_video_checks
from qc.video_stats import read_vstats
from tests.qc.videogen import Fault, VideoSpec, make_video

FRAME_S = 1001 / 30000

# check id -> the fault kinds it must find
CHECK_FAULTS = {
    "video_dropout": ("streak", "black_streak"),
    "line_repetition": ("repeat_lines",),
    "out_of_range": ("out_of_range",),
    "saturation": ("saturation",),
    "black": ("black",),
    "freeze": ("freeze",),
    "frame_drop": ("gap",),
    "decode_error": ("corrupt",),
}

FAULTS = (
    Fault("streak", 10, 2),
    Fault("black_streak", 30, 1),
    Fault("repeat_lines", 45, 3),
    Fault("out_of_range", 55, 4),
    Fault("saturation", 65, 4),
    Fault("black", 75, 5),
    Fault("freeze", 85, 5),
    Fault("gap", 100, 2),
    Fault("corrupt", 110, 1),
)

# faults here last a few frames: the minimum durations are lowered, the detectors are not
SHORT_FAULTS = {
    "out_of_range": {"min_duration_s": 0.1},
    "saturation": {"min_duration_s": 0.1},
    "black": {"min_duration_s": 0.1},
    "freeze": {"min_duration_s": 0.1},
    "conformance": {"enabled": False},
}
SMALL_MASTER = {  # the policy, with this test size allowed
    "conformance": {"standards": "360x243@30000/1001,180x122@30000/1001", "min_slices": 4}
}


def _score(info, events, tolerance_s=1.5 * FRAME_S):
    """(found, expected, false alarms) per check."""
    report = {}
    for check, kinds in CHECK_FAULTS.items():
        spans = [s for k in kinds for s in info.fault_times.get(k, [])]
        evs = [e for e in events if e.check == check]

        def overlaps(e, span):
            return e.start_s <= span[1] + tolerance_s and e.end_s >= span[0] - tolerance_s

        found = sum(any(overlaps(e, sp) for e in evs) for sp in spans)
        false = [e for e in evs if not any(overlaps(e, sp) for sp in spans)]
        report[check] = (found, len(spans), false)
    return report


def _assert_perfect(report):
    lines = []
    for check, (found, expected, false) in report.items():
        lines.append(f"{check}: recall {found}/{expected}, false alarms {len(false)}")
    print("\n".join(lines))
    for check, (found, expected, false) in report.items():
        assert found == expected, f"{check}: found {found} of {expected} faults"
        assert not false, f"{check}: false alarms {false}"


@pytest.mark.parametrize("pix_fmt", ["yuv422p10le", "yuv422p"])
def test_faults_found_where_they_are(tmp_path, pix_fmt):
    info = make_video(
        tmp_path / "f.mkv", VideoSpec(frames=120, pix_fmt=pix_fmt, faults=FAULTS, noise=2.0)
    )
    checks, events, stats, duration_s = run_video_checks(info.path, profile_from_dict(SHORT_FAULTS))
    _assert_perfect(_score(info, events))
    by_id = {c.id: c for c in checks}
    assert by_id["frame_drop"].status == "fail" and stats["frames_lost"] == 2
    assert by_id["decode_error"].status == "fail"
    assert "conformance" not in by_id
    assert duration_s == pytest.approx(120 * FRAME_S, abs=0.01)
    # each fault is one event (neighbouring frames merged), with times in seconds
    for check in ("line_repetition", "out_of_range", "saturation", "black", "freeze"):
        assert len([e for e in events if e.check == check]) == 1, check
    black = next(e for e in events if e.check == "black")
    assert black.start_s == pytest.approx(75 * FRAME_S, abs=0.002)
    assert black.end_s == pytest.approx(80 * FRAME_S, abs=0.002)
    gap = next(e for e in events if e.check == "frame_drop")
    assert gap.value == 2 and gap.start_s == pytest.approx(100 * FRAME_S, abs=0.002)
    sat = next(e for e in events if e.check == "saturation")
    assert sat.value == pytest.approx(560 if pix_fmt.endswith("10le") else 140, abs=1)
    # the sidecar sits beside the master and holds every frame
    vs = read_vstats(tmp_path / "f.vstats.npz")
    assert len(vs["pts_s"]) == 118 and stats["statistics_file"] == "f.vstats.npz"
    json.dumps(stats)  # the stats go into qc.json as they are


@pytest.mark.parametrize(
    "spec",
    [
        VideoSpec(frames=60, pix_fmt="yuv422p", noise=1.0, seed=3),
        VideoSpec(frames=60, pix_fmt="yuv422p10le", noise=4.0, seed=4),
    ],
    ids=["8bit-quiet", "10bit-noisy"],
)
def test_clean_material_raises_nothing(tmp_path, spec):
    info = make_video(tmp_path / "clean.mkv", spec)
    checks, events, stats, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    assert events == [], events
    assert {c.status for c in checks} == {"pass"}, [c for c in checks if c.status != "pass"]
    assert stats["signalstats"]["TOUT_max"] < 0.001


def test_clean_ntsc_master_passes_default_profile(tmp_path):
    spec = VideoSpec(width=720, height=486, frames=12, slices=24, noise=1.5)
    info = make_video(tmp_path / "ITEM_t01.mkv", spec)
    checks, events, stats, _ = run_video_checks(info.path, "default")
    assert events == []
    assert {c.id: c.status for c in checks}["conformance"] == "pass"
    assert stats["conformance"]["ffv1_version"] == "3.4"


def test_default_durations_black_and_freeze(tmp_path):
    """With the table's defaults (2 s), long faults are found and a 0.5 s black is not."""
    faults = (
        Fault("black", 15, 15),  # 0.5 s: below blackdetect's 2 s
        Fault("black", 60, 75),  # 2.5 s
        Fault("freeze", 165, 75),  # 2.5 s
    )
    spec = VideoSpec(width=180, height=122, frames=270, faults=faults, slices=4)
    info = make_video(tmp_path / "long.mkv", spec)
    checks, events, _, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    black = [e for e in events if e.check == "black"]
    freeze = [e for e in events if e.check == "freeze"]
    assert len(black) == 1 and black[0].start_s == pytest.approx(60 * FRAME_S, abs=0.002)
    assert black[0].end_s == pytest.approx(135 * FRAME_S, abs=0.002)
    assert len(freeze) == 1
    # the frozen frames repeat frame 164: the freeze covers it and the 75 repeats
    assert freeze[0].start_s == pytest.approx(164 * FRAME_S, abs=0.002)
    assert freeze[0].end_s == pytest.approx(240 * FRAME_S, abs=0.002)
    assert [e.check for e in events] == ["black", "freeze"]


def test_head_black_reported_only_when_long(tmp_path):
    spec = VideoSpec(width=180, height=122, frames=60, faults=(Fault("black", 0, 20),), slices=4)
    info = make_video(tmp_path / "head.mkv", spec)
    prof = {**SMALL_MASTER, "black": {"min_duration_s": 0.1, "head_tail_warn_s": 1.0}}
    _, events, stats, _ = run_video_checks(info.path, profile_from_dict(prof))
    assert [e.check for e in events] == []  # 0.67 s of head black: leader, not a fault
    assert stats["black_head_tail"][0]["where"] == "head"
    prof["black"]["head_tail_warn_s"] = 0.5
    _, events, _, _ = run_video_checks(info.path, profile_from_dict(prof))
    assert len(events) == 1 and "head" in events[0].detail


def test_frame_drops_from_capture_log_merge_with_timestamp_gaps(tmp_path):
    take = tmp_path / "LIB" / "TAPE1" / "TAPE1_t01"
    take.mkdir(parents=True)
    spec = VideoSpec(width=180, height=122, frames=60, faults=(Fault("gap", 20, 3),), slices=4)
    info = make_video(take / "TAPE1_t01.mkv", spec)
    with TakeLog(take / "TAPE1_t01.log") as log:
        log.write("take_start", kind="video")
        log.write("frame_drop", "WARN", at_s=20 * FRAME_S, frames_lost=3)  # the same gap
        log.write("gap", "WARN", at_s=1.5, frames_lost=2)  # dropped before the encoder
    _, events, stats, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    drops = [e for e in events if e.check == "frame_drop"]
    assert [(round(e.start_s, 3), e.value) for e in drops] == [
        (round(20 * FRAME_S, 3), 3.0),
        (1.5, 2.0),
    ]
    assert "timestamps and capture log" in drops[0].detail
    assert stats["frames_lost"] == 5 and all(e.severity == "fail" for e in drops)


def test_runner_writes_video_events_and_sidecar(tmp_path):
    runner = pytest.importorskip("qc.runner")
    spec = VideoSpec(width=180, height=122, frames=40, faults=(Fault("streak", 12, 2),), slices=4)
    info = make_video(tmp_path / "T_t01.mkv", spec)
    profile = tmp_path / "p.toml"
    profile.write_text('[conformance]\nstandards = "180x122@30000/1001"\nmin_slices = 4\n')
    result = runner.run_qc(info.path, str(profile))
    doc = json.loads((tmp_path / "T_t01.qc.json").read_text())
    assert doc["kind"] == "video" and result.verdict == "warn"
    assert [e["check"] for e in doc["events"]] == ["video_dropout"]
    assert (tmp_path / "T_t01.vstats.npz").exists()


def test_8bit_and_10bit_agree_on_the_same_picture(tmp_path):
    """The same programme at 8 and 10 bits gives the same findings (thresholds scale)."""
    faults = (
        Fault("streak", 3, 1),
        Fault("repeat_lines", 8, 2),
        Fault("out_of_range", 13, 4),
        Fault("saturation", 19, 4),
    )
    found = {}
    for pix_fmt in ("yuv422p", "yuv422p10le"):
        info = make_video(
            tmp_path / f"{pix_fmt}.mkv",
            VideoSpec(width=180, height=122, frames=30, pix_fmt=pix_fmt, slices=4, faults=faults),
        )
        _, events, _, _ = run_video_checks(info.path, profile_from_dict(SHORT_FAULTS))
        found[pix_fmt] = sorted((e.check, round(e.start_s, 2)) for e in events)
    assert found["yuv422p"] == found["yuv422p10le"]
    assert [c for c, _ in found["yuv422p"]] == [
        "line_repetition",
        "out_of_range",
        "saturation",
        "video_dropout",
    ]


def test_copy_of_master_elsewhere_gets_its_own_sidecar(tmp_path):
    spec = VideoSpec(width=180, height=122, frames=10, slices=4)
    info = make_video(tmp_path / "a.mkv", spec)
    other = tmp_path / "sub"
    other.mkdir()
    shutil.copy(info.path, other / "b.mkv")
    run_video_checks(other / "b.mkv", profile_from_dict(SMALL_MASTER))
    assert (other / "b.vstats.npz").exists() and not (tmp_path / "a.vstats.npz").exists()
    vs = read_vstats(other / "b.vstats.npz")
    assert np.all(np.diff(vs["pts_s"]) > 0)


def test_noisy_black_at_legal_level_is_not_out_of_range(tmp_path):
    """Tape noise around code 64 puts half a black frame below 64: black, not out of range;
    a black level set well below 64 is out of range as well."""
    from qc.video_checks import VideoContext, detect_out_of_range
    from qc.video_stats import COL, AnalysisParams, FrameAnalyzer, VideoStats

    rng = np.random.default_rng(5)
    rows = []
    for level in (64, 64, 64, 40, 40, 40):
        y = np.clip(rng.normal(level, 3, (60, 80)), 0, 1023).astype(np.uint16)
        c = np.full((60, 40), 512, np.uint16)
        rows.append(FrameAnalyzer(80, 60, 10, (1, 0), AnalysisParams()).analyze(y, c, c.copy()))
    table = np.array(rows, dtype=np.float32)
    pts = np.arange(6) * FRAME_S
    stats = VideoStats(None, pts, table)
    ctx = VideoContext(None, stats, pts, FRAME_S, 4.0, table[:, COL["BLACK"]] >= 0.98, 0.6)
    assert ctx.black.all() and table[:3, COL["BRNG"]].min() > 0.3
    _, events, _ = detect_out_of_range(
        ctx, {"brng_fraction": 0.03, "fail_brng_fraction": 0.2, "min_duration_s": 0.05}
    )
    assert [(round(e.start_s / FRAME_S), round(e.end_s / FRAME_S)) for e in events] == [(3, 6)]


def test_framemd5_check_compares_every_decoded_frame_with_the_sidecar(tmp_path):
    from metadata.formats.framemd5 import compute_framemd5, write_framemd5_lines

    spec = VideoSpec(frames=60, pix_fmt="yuv422p10le", noise=2.0, seed=7)
    info = make_video(tmp_path / "ITEM_t01.mkv", spec)
    sidecar = tmp_path / "ITEM_t01.framemd5"
    lines = compute_framemd5(info.path)
    write_framemd5_lines(lines, sidecar)
    checks, events, _, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    fmd5 = next(c for c in checks if c.id == "framemd5")
    assert fmd5.status == "pass" and "all 60 decoded frames match" in fmd5.summary
    assert not [e for e in events if e.check == "framemd5"]

    # frames 20 and 21 recorded otherwise at capture, frame 40 never recorded
    tampered = []
    for line in lines:
        parts = line.split(",")
        if not line.startswith("#") and int(parts[2]) in (20, 21):
            line = ",".join(parts[:-1]) + ", " + "0" * 32
        if not line.startswith("#") and int(parts[2]) == 40:
            continue
        tampered.append(line)
    write_framemd5_lines(tampered, sidecar)
    checks, events, _, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    fmd5 = next(c for c in checks if c.id == "framemd5")
    evs = [e for e in events if e.check == "framemd5"]
    assert fmd5.status == "fail" and fmd5.count == 2 and "3 of 60 frames" in fmd5.summary
    assert [(round(e.start_s / FRAME_S), round(e.end_s / FRAME_S)) for e in evs] == [
        (20, 22),
        (40, 41),
    ]
    assert "differs" in evs[0].detail and "not written at capture" in evs[1].detail

    # another picture under the master's name: every frame differs, one event
    write_framemd5_lines(lines, sidecar)
    make_video(info.path, VideoSpec(frames=60, pix_fmt="yuv422p10le", noise=2.0, seed=8))
    checks, events, _, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    evs = [e for e in events if e.check == "framemd5"]
    assert len(evs) == 1 and round(evs[0].end_s / FRAME_S) == 60

    # a sidecar that lists no frame: one line saying so, not sixty false differences
    sidecar.write_bytes(b"\x00\x9f garbage\n#tb 0: 1001/30000\n")
    checks, events, _, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    fmd5 = next(c for c in checks if c.id == "framemd5")
    assert fmd5.status == "warn" and "lists no frames" in fmd5.summary
    assert not [e for e in events if e.check == "framemd5"]


def test_no_framemd5_check_without_a_sidecar(tmp_path):
    info = make_video(tmp_path / "ITEM_t01.mkv", VideoSpec(frames=12, pix_fmt="yuv422p"))
    checks, _, _, _ = run_video_checks(info.path, profile_from_dict(SMALL_MASTER))
    assert "framemd5" not in {c.id for c in checks}
