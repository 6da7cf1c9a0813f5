"""A video take killed with SIGKILL is recovered; SIGINT stops a take cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from capture.video_recover import repair_mkv
from metadata.errors import HeadblockError
from metadata.formats.framemd5 import read_framemd5
from metadata.take.log import read_log
from tests.capture.helpers import ffmpeg_framemd5

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffprobe") and shutil.which("ffmpeg")), reason="needs ffmpeg and ffprobe"
)
ROOT = Path(__file__).resolve().parents[2]
DEVICE = "lavfi:testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le[out0];sine=frequency=1000:sample_rate=48000[out1]"


def start_capture(library: Path, seconds: float) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "headblock", "capture", "video", "--device", DEVICE,
           "--item", "CUT1", "--library", str(library), "--seconds", str(seconds), "--no-qc"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def wait_for_frames(take_dir: Path, frames: int, timeout_s: float = 30.0) -> None:
    fmd5 = take_dir / f"{take_dir.name}.framemd5"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (
            fmd5.exists()
            and sum(1 for ln in read_framemd5(fmd5) if not ln.startswith("#")) >= frames
        ):
            return
        time.sleep(0.05)
    raise AssertionError("the capture did not reach the frames expected")


def interrupted_take(library: Path, sig, settle_s: float = 0.0):
    """A 30 s capture sent ``sig`` once 30 frames are on disk: (process, take folder)."""
    proc = start_capture(library, 30)
    take_dir = library / "CUT1" / "CUT1_t01"
    try:
        wait_for_frames(take_dir, 30)  # the framemd5 is flushed every 30 frames
        time.sleep(settle_s)
    finally:
        proc.send_signal(sig)
    return proc, take_dir


def decodable_frames(path: Path) -> int:
    n = 0
    with av.open(str(path)) as c:
        try:
            for _ in c.decode(video=0):
                n += 1
        except av.error.FFmpegError:
            pass
    return n


def test_sigkill_take_is_recovered(tmp_path):
    proc, take_dir = interrupted_take(tmp_path / "lib", signal.SIGKILL, settle_s=0.4)
    proc.wait()
    master = take_dir / "CUT1_t01.mkv"
    on_disk = decodable_frames(master)
    assert on_disk >= 30
    info = repair_mkv(master)
    assert info["frames"] == decodable_frames(master) >= on_disk - 1
    # a valid file: cues, display aspect, field order, and every frame listed
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
         "stream=display_aspect_ratio,field_order,pix_fmt", "-of", "default=nw=1", str(master)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "display_aspect_ratio=4:3" in r.stdout and "field_order=bt" in r.stdout
    assert r.stderr == ""
    assert b"\x1c\x53\xbb\x6b" in master.read_bytes()[-100000:]  # Cues
    assert (take_dir / "CUT1_t01.framemd5").read_bytes() == ffmpeg_framemd5(master)
    assert info["audio_samples"] > 0 and info["audio"]["codec"] == "pcm_s24le"
    assert abs(info["duration_s"] - info["frames"] * 1001 / 30000) < 1e-3
    assert not list(take_dir.glob(".*recovering"))


def test_repair_refuses_a_file_without_video(tmp_path):
    bad = tmp_path / "X_t01.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3" + os.urandom(2000))
    with pytest.raises(HeadblockError):
        repair_mkv(bad)


def test_sigint_stops_cleanly(tmp_path):
    proc, take_dir = interrupted_take(tmp_path / "lib", signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stop = [e for e in read_log(take_dir / "CUT1_t01.log") if e.event == "take_stop"][-1].fields
    assert stop["reason"] == "signal SIGINT" and stop["frames"] >= 30
    master = take_dir / "CUT1_t01.mkv"
    assert (take_dir / "CUT1_t01.framemd5").read_bytes() == ffmpeg_framemd5(master)
    assert (take_dir / "CUT1_t01.mkv.md5").exists()


def test_killed_take_recovered_says_how_and_its_frames_check_out(tmp_path):
    from capture.recover import find_open_takes, recover_take
    from qc.runner import run_qc

    lib = tmp_path / "lib"
    proc, _ = interrupted_take(lib, signal.SIGKILL)
    proc.wait()
    [paths] = find_open_takes(lib)
    rec = recover_take(paths)
    assert rec.ok and not find_open_takes(lib)
    # PREMIS says what the fixity of a rebuilt master rests on, not a comparison never made
    premis = paths.premis.read_text()
    assert "no digest from the capture survives" in premis
    # the rebuilt framemd5 and master agree frame by frame in QC's decode
    check = run_qc(paths.master("video")).check("framemd5")
    assert check is not None and check.status == "pass", check
