"""``--device ffmpeg:ARGS``: this machine's ffmpeg with lavfi sources through the real pipe
(NUT, rawvideo, PCM) into the take; an ffmpeg killed mid-take; one that never starts; its
reports (real ``-progress`` dup/drop totals and level-tagged lines) in the take's log."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from capture import backends, ffmpeg_input
from capture.ffmpeg_input import ReportParser, parse_report
from capture.video.take import VideoTake, VideoTakeSettings
from headblock.cli import main
from tests.capture.helpers import ffmpeg_framemd5, log_events, only_take_dir, spawn, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="no ffmpeg on PATH")

NTSC_WITH_SOUND = (
    "ffmpeg:-f lavfi -i testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le "
    "-f lavfi -i sine=frequency=1000:sample_rate=48000"
)
SMALL_WITH_SOUND = (
    "ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=25,format=yuv422p10le "
    "-f lavfi -i sine=frequency=1000:sample_rate=48000"
)


def _ffmpeg_stderr(graph: str, *output: str) -> list[str]:
    """What this machine's ffmpeg prints with the options ``FFmpegSource`` gives it."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "level+warning", "-nostats"]
    cmd += ["-progress", "pipe:2", "-f", "lavfi", "-i", graph, *output, "-f", "null", "-"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stderr.splitlines()


def _totals(lines: list[str]) -> tuple[int, int]:
    last = {}
    for line in lines:
        key, _, value = line.partition("=")
        if key in ("dup_frames", "drop_frames"):
            last[key] = int(value)
    return last.get("dup_frames", 0), last.get("drop_frames", 0)


@pytest.mark.parametrize(
    "graph, rate, kind",
    [
        ("testsrc2=size=64x48:rate=60", "30", "drop"),  # twice the frames asked for
        ("testsrc2=size=64x48:rate=25", "30", "dup"),  # a frame short every fifth
        ("testsrc2=size=64x48:rate=30", "30", None),  # clean: nothing to report
    ],
)
def test_real_dup_and_drop_reports_are_counted(graph, rate, kind):
    lines = _ffmpeg_stderr(graph + ",trim=duration=2", "-fps_mode", "cfr", "-r", rate)
    dup, drop = _totals(lines)
    parser = ReportParser()
    reports = [r for r in map(parser.feed, lines) if r is not None]
    lost = sum(r.frames_lost for r in reports)
    assert lost == dup + drop
    if kind is None:
        assert dup == drop == 0 and reports == []
    else:
        assert (drop if kind == "drop" else dup) >= 8
        assert all(r.level == "WARN" and kind in r.text for r in reports)


def test_level_tagged_lines_as_ffmpeg_prints_them():
    # DeckLink's own messages (libavdevice/decklink_dec.cpp) with -loglevel level+warning
    overrun = parse_report("[decklink @ 0x55d1c0a3c2c0] [warning] Decklink input buffer overrun!")
    assert overrun.level == "WARN" and overrun.frames_lost == 1
    assert overrun.text == "[decklink] Decklink input buffer overrun!"
    no_signal = parse_report(
        "[decklink @ 0x5581] [warning] Frame received (#42) - No input signal detected "
        "- Frames dropped 3"
    )
    assert no_signal.frames_lost == 3
    error = parse_report("[lavfi @ 0x55] [error] No such filter: 'nosuchfilter'")
    assert error.level == "ERROR" and error.frames_lost == 0
    assert parse_report("[fatal] Conversion failed!").level == "ERROR"
    assert parse_report("[info] Input #0, lavfi, from 'testsrc2':") is None
    assert parse_report("frame=12") is None and parse_report("") is None


def _mediaconch_pass(master: Path) -> None:
    if not shutil.which("mediaconch"):
        return
    run = subprocess.run(["mediaconch", str(master)], capture_output=True, text=True)
    assert run.stdout.strip().startswith("pass!"), run.stdout


def _probe(master: Path) -> list[str]:
    run = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,pix_fmt,sample_rate"]
        + ["-of", "csv=p=0", str(master)],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.split()


def test_a_take_through_the_stations_ffmpeg(tmp_path):
    lib = tmp_path / "lib"
    proc = spawn(
        ["capture", "video", "--device", NTSC_WITH_SOUND, "--item", "FFIN"]
        + ["--library", str(lib), "--seconds", "1", "--no-qc"]
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    take = only_take_dir(lib, "FFIN")
    master = take / "FFIN_t01.mkv"
    assert _probe(master) == ["ffv1,yuv422p10le", "pcm_s24le,48000"]
    _mediaconch_pass(master)
    assert (take / "FFIN_t01.framemd5").read_bytes() == ffmpeg_framemd5(master)
    frames = [x for x in (take / "FFIN_t01.framemd5").read_text().splitlines() if x[:1] != "#"]
    assert len(frames) == 30
    subprocess.run(["md5sum", "-c", "FFIN_t01.mkv.md5"], cwd=take, check=True)
    assert log_events(take, "take_stop")[0].fields["outcome"] == "complete"
    assert log_events(take, "take_start")[0].fields["settings"]["standard"] == "NTSC"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_an_ffmpeg_killed_mid_take_leaves_a_valid_master(tmp_path):
    lib = tmp_path / "lib"
    proc = spawn(
        ["capture", "video", "--device", SMALL_WITH_SOUND, "--item", "FFKILL"]
        + ["--library", str(lib), "--seconds", "60", "--no-qc"]
    )
    try:
        take = wait_for(lambda: list((lib / "FFKILL").glob("FFKILL_t*")), 30)[0]
        fmd5 = take / "FFKILL_t01.framemd5"
        wait_for(lambda: fmd5.exists() and len(fmd5.read_text().splitlines()) > 36, 30)
        ffmpeg_pid = wait_for(lambda: _children(proc.pid), 5)[0]
        assert Path(f"/proc/{ffmpeg_pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"ffmpeg")
        subprocess.run(["kill", "-KILL", str(ffmpeg_pid)], check=True)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if line.startswith("headblock:")]
    assert len(lines) == 1 and "killed by SIGKILL" in lines[0] and "Traceback" not in err
    master = take / "FFKILL_t01.mkv"
    _mediaconch_pass(master)
    assert fmd5.read_bytes() == ffmpeg_framemd5(master)
    subprocess.run(["md5sum", "-c", "FFKILL_t01.mkv.md5"], cwd=take, check=True)
    assert (take / "FFKILL_t01.pbcore.xml").exists() and (take / "FFKILL_t01.premis.xml").exists()
    stop = log_events(take, "take_stop")[0].fields
    assert stop["outcome"] == "stopped: input error" and stop["frames"] >= 30
    assert "SIGKILL" in log_events(take, "input_error")[0].fields["error"]


@pytest.mark.parametrize(
    "device, binary, words",
    [
        (SMALL_WITH_SOUND, "/nonexistent/ffmpeg", "is not there"),
        (SMALL_WITH_SOUND, "/bin/false", "could not open its input"),
        ("ffmpeg:-f lavfi -i nosuchfilter=size=64x48", None, "nosuchfilter"),
        ("ffmpeg:-f lavfi -i testsrc2 -nosuchoption 1", None, "Option not found"),
        ("ffmpeg:-f lavfi testsrc2", None, "at least one -i"),
        ("ffmpeg:-i 'unclosed", None, "No closing quotation"),
    ],
)
def test_an_ffmpeg_that_never_starts_is_one_line_and_nothing_made(
    device, binary, words, tmp_path, monkeypatch, capsys
):
    if binary:
        monkeypatch.setenv(ffmpeg_input.FFMPEG_ENV, binary)
    lib = tmp_path / "lib"
    argv = ["capture", "video", "--device", device, "--item", "NEVER", "--library", str(lib)]
    assert main([*argv, "--seconds", "2", "--no-qc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err, err
    assert not (lib / "NEVER").exists()


def test_devices_lists_the_ffmpeg_backend_when_its_binary_exists(monkeypatch):
    listed = [d for d in backends.video_inputs() if d.get("format") == "ffmpeg"]
    assert listed and listed[0]["device"].startswith("ffmpeg:")
    assert backends.parse_video_device(listed[0]["device"]).kind == "ffmpeg"
    monkeypatch.setenv(ffmpeg_input.FFMPEG_ENV, "/nonexistent/ffmpeg")
    assert not ffmpeg_input.available()
    assert not [d for d in backends.video_inputs() if d.get("format") == "ffmpeg"]


def test_ffmpegs_own_reports_reach_the_log_and_count_as_device_drops(tmp_path):
    events = []
    # 25 frames a second asked for at 30 with a constant rate: FFmpeg duplicates every fifth
    settings = VideoTakeSettings(
        device="ffmpeg:-f lavfi -i testsrc2=size=64x48:rate=25 -fps_mode cfr -r 30",
        library=tmp_path / "lib",
        item="FFDUP",
        seconds=1.5,
        run_qc=False,
        audio_device="none",
        on_event=lambda name, fields: events.append((name, fields)),
    )
    take = VideoTake(settings)
    take.start()
    assert take.wait(60)
    drops = [
        e for e in log_events(take.paths.directory, "frame_drop") if e.fields["source"] == "device"
    ]
    assert drops and all("duplicated" in e.fields["detail"] for e in drops)
    lost = sum(e.fields["frames_lost"] for e in drops)
    assert lost >= 4 and take.status().device_drops == lost
    assert [f for name, f in events if name == "frame_drop"]
    assert take.result.record.video.frames == 45 and take.fixity_ok


def test_stopping_a_take_stops_its_ffmpeg(tmp_path):
    settings = VideoTakeSettings(
        device=SMALL_WITH_SOUND, library=tmp_path / "lib", item="FFSTOP", run_qc=False
    )
    take = VideoTake(settings)
    take.start()
    source = take._source
    wait_for(lambda: take.status().frames_written >= 5, 30)
    started = time.monotonic()
    take.stop("user")
    assert take.wait(60)
    assert source.proc.poll() is not None and time.monotonic() - started < 15
    assert source.proc.returncode != -signal.SIGKILL  # it ended on SIGTERM, not killed
    assert take.result.reason == "user" and take.result.exit_status == 0
