"""Every way a take ends: a disk another program fills (video; audio whichever of the writer and
the watchdog notices first), ``headblock recover`` on a disk that is still full, a PulseAudio
server killed under an audio take. Each ends with a valid master and its sidecars, the reason
in the log and exit 1 (a take cut short), or one line and exit 2 (recover: nothing changed).

The full disks are real: a 40 MiB tmpfs (root only; skipped with the reason otherwise)."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import soundfile as sf

from capture.audio_take import AudioTake, AudioTakeSettings
from capture.disk_room import RESERVE_FILE
from capture.video.take import VideoTake, VideoTakeSettings
from headblock.cli import main
from metadata.clock import parse_utc
from tests.capture.helpers import (
    REPO,
    ffmpeg_framemd5,
    log_events,
    only_take_dir,
    spawn,
    wait_for,
)
from tests.fixtures.pulse import PrivatePulse, pulseaudio_available

MIB = 1 << 20
SMALL_WITH_SOUND = (
    "lavfi:testsrc2=size=320x240:rate=25,format=yuv422p10le[out0];"
    "sine=frequency=1000:sample_rate=48000[out1]"
)


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    run = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m", f"hb{uuid.uuid4().hex[:6]}", str(mnt)],
        capture_output=True,
    )
    if run.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {run.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(directory: Path, name: str = "filler") -> Path:
    """Another program takes every free byte of the disk."""
    path = directory / name
    block = b"\1" * (1 << 16)
    with open(path, "ab", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return path


def _slow_filler(directory: Path) -> threading.Thread:
    """Another program still writing while the take notices the disk filling up."""

    def run():
        with open(directory / "slow-filler", "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\2" * (1 << 16))
                    time.sleep(0.003)
            except OSError:
                pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _md5sum_ok(take_dir: Path, master: Path) -> None:
    subprocess.run(["md5sum", "-c", f"{master.name}.md5"], cwd=take_dir, check=True)


def _sidecars(take_dir: Path, master: Path) -> None:
    _md5sum_ok(take_dir, master)
    stem = master.stem
    for suffix in (".pbcore.xml", ".premis.xml", ".qc.json"):
        assert (take_dir / f"{stem}{suffix}").exists(), suffix
    assert not (take_dir / RESERVE_FILE).exists()


def _valid_mkv(master: Path) -> None:
    if shutil.which("mediaconch"):
        run = subprocess.run(["mediaconch", str(master)], capture_output=True, text=True)
        assert run.stdout.startswith("pass!"), run.stdout
    assert master.with_suffix(".framemd5").read_bytes() == ffmpeg_framemd5(master)


def test_a_video_take_on_a_disk_another_program_fills_keeps_a_valid_master(small_disk):
    take = VideoTake(
        VideoTakeSettings(device=SMALL_WITH_SOUND, library=small_disk, item="VFULL", seconds=30)
    )
    paths = take.start()
    take._watchdog.free_space = lambda _path: 1 << 50  # only the write itself can find out
    wait_for(lambda: take.status().frames_written >= 25, 30)
    _fill(small_disk)
    assert take.wait(60)
    assert take.error is None, take.error
    result = take.result
    assert result.reason == "disk full" and result.record.outcome == "stopped: disk full"
    assert result.exit_status == 1 and result.fixity_ok and result.qc_verdict is not None
    stop = log_events(paths.directory, "disk_stop")
    assert len(stop) == 1 and "ENOSPC" in stop[0].fields["message"]
    _valid_mkv(paths.master("video"))
    _sidecars(paths.directory, paths.master("video"))
    assert result.record.video.frames >= 25


def test_a_video_take_stopped_by_a_full_disk_exits_1(small_disk):
    # 40 MiB free is below the video take's own reserve: the watchdog stops it at once
    proc = spawn(
        ["capture", "video", "--device", "lavfi:testsrc2=size=64x48:rate=25", "--item", "VWD"]
        + ["--library", str(small_disk), "--seconds", "20", "--audio-device", "none"]
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "cut short: disk full" in err and "Traceback" not in err
    take = only_take_dir(small_disk, "VWD")
    _valid_mkv(take / "VWD_t01.mkv")
    _sidecars(take, take / "VWD_t01.mkv")
    assert log_events(take, "take_stop")[0].fields["outcome"] == "stopped: disk full"


def test_an_audio_take_stopped_by_a_full_disk_exits_1(small_disk):
    # 6 MiB/s against 40 MiB with 32 MiB kept in reserve: the watchdog stops it within a second
    proc = spawn(
        ["capture", "audio", "--device", "demo", "--item", "AWD", "--library", str(small_disk)]
        + ["--rate", "192000", "--bits", "32", "--channels", "8", "--seconds", "20", "--no-qc"]
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "cut short: disk full" in err and "Traceback" not in err
    take = only_take_dir(small_disk, "AWD")
    _md5sum_ok(take, take / "AWD_t01.wav")


@pytest.mark.parametrize("first", ["writer", "watchdog"])
def test_an_audio_take_on_a_filled_disk_ends_the_same_way_whoever_notices_first(small_disk, first):
    free_space = (lambda _path: 1 << 50) if first == "writer" else None
    take = AudioTake(
        AudioTakeSettings(
            device="demo", item="AFULL", library=small_disk, rate_hz=96000, seconds=30,
            header_interval_s=0.25, disk_reserve_bytes=MIB, free_space=free_space,
        )
    )  # fmt: skip
    paths = take.start()
    wait_for(lambda: take.status().frames_written > 48000, 30)
    if first == "writer":
        _fill(small_disk)  # done before the take notices: its next write fails
    else:
        filler = _slow_filler(small_disk)  # still writing when the watchdog stops the take
    assert take.wait(60)
    if first == "watchdog":
        filler.join(30)
    assert take.error is None and take.cut_short is None, take.error
    result = take.result
    assert result.reason == "disk full" and result.exit_status == 1 and result.fixity_ok
    assert log_events(paths.directory, "disk_stop")
    master = paths.master("audio")
    assert sf.info(str(master)).frames == round(result.record.duration_s * 96000) > 48000
    _sidecars(paths.directory, master)


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_recover_on_a_disk_still_full_says_so_and_changes_nothing(small_disk, capsys):
    proc = spawn(
        ["capture", "audio", "--device", "demo", "--item", "CRASH", "--library", str(small_disk)]
        + ["--rate", "48000", "--seconds", "30", "--no-qc"]
    )
    try:
        master = wait_for(lambda: list(small_disk.glob("CRASH/CRASH_t01/CRASH_t01.wav")), 20)[0]
        wait_for(lambda: master.stat().st_size > 300_000, 20)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    take = master.parent
    (take / RESERVE_FILE).unlink(missing_ok=True)  # a take that crashed before its reserve
    filler = _fill(small_disk)
    before = (_digest(master), sorted(p.name for p in take.iterdir()))

    assert main(["recover", str(small_disk)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is full" in err and "free space" in err, err
    assert "Traceback" not in err and "OSError" not in err
    assert (_digest(master), sorted(p.name for p in take.iterdir())) == before

    filler.unlink()
    assert main(["recover", str(small_disk)]) == 0
    _md5sum_ok(take, master)


@pytest.mark.skipif(not pulseaudio_available(), reason="pulseaudio is not installed")
def test_a_lost_pulseaudio_input_is_noticed_at_once_and_its_errors_kept_off_the_terminal(
    tmp_path,
):
    server = PrivatePulse().start()  # our own: this test kills it
    try:
        lib = tmp_path / "lib"
        proc = spawn(
            ["capture", "audio", "--device", "pulse", "--item", "LOST", "--library", str(lib)]
            + ["--seconds", "60", "--no-qc"],
            env=server.env,
        )
        try:
            take = wait_for(lambda: list(lib.glob("LOST/LOST_t01")), 30)[0]
            master = take / "LOST_t01.wav"
            wait_for(lambda: master.exists() and master.stat().st_size > 200_000, 30)
            killed_at = time.time()
            os.kill(server._proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        server.stop()
    assert proc.returncode == 1, err
    assert "cut short: input lost" in err
    assert "Expression" not in err and "pa_linux_alsa" not in err, err  # PortAudio's lines
    assert log_events(take, "device_message"), "PortAudio's lines belong in the log"
    lost = [e for e in log_events(take, "error") if "input lost" in e.fields["error"]]
    assert parse_utc(lost[0].time).timestamp() - killed_at < 2.0
    assert (take / "LOST_t01.pbcore.xml").exists() and (take / "LOST_t01.premis.xml").exists()
    _md5sum_ok(take, master)


def test_library_lines_on_stderr_go_to_the_listener_and_python_keeps_the_terminal():
    code = (
        "import os, sys, time\n"
        "from capture import native_stderr\n"
        "got = []\n"
        "native_stderr.catch(got.append)\n"
        "os.write(2, b'Expression x failed in pa_linux_alsa.c\\npartial')\n"
        "print('headblock: a line of ours', file=sys.stderr)\n"
        "time.sleep(0.2)\n"
        "native_stderr.release(got.append)\n"
        "os.write(2, b'after release\\n')\n"
        "print(got)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['Expression x failed in pa_linux_alsa.c', 'partial']"
    assert run.stderr == "headblock: a line of ours\nafter release\n"


@pytest.mark.parametrize(
    "line, portaudio",
    [
        # as PortAudio printed them when the PulseAudio server was killed under a take
        ("Expression 'alsa_snd_pcm_poll_descriptors_revents( self->pcm, pfds, self->nfds, "
         "&revents )' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3665", True),
        ("Expression 'PaAlsaStream_WaitForFrames( stream, &framesAvail, &xrun )' failed in "
         "'src/hostapi/alsa/pa_linux_alsa.c', line: 4285", True),
        ("ALSA lib pcm.c:2664:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear", True),
        ("qt.qpa.xcb: could not connect to display", False),  # another library's: not hidden
    ],
)  # fmt: skip
def test_which_library_lines_a_portaudio_input_keeps_for_the_log(line, portaudio):
    from capture.audio_input import _PORTAUDIO_LINE

    assert bool(_PORTAUDIO_LINE.search(line)) is portaudio


def _keep_filling(directory: Path, stop: threading.Event) -> threading.Thread:
    """Another program that takes every byte freed on the disk, as soon as it is freed."""

    def run():
        with open(directory / "greedy-filler", "ab", buffering=0) as f:
            while not stop.is_set():
                try:
                    f.write(b"\3" * 4096)
                except OSError:
                    time.sleep(0.0005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_second_full_disk_after_the_reserve_leaves_a_master_recover_finishes(small_disk, capsys):
    take = VideoTake(
        VideoTakeSettings(device=SMALL_WITH_SOUND, library=small_disk, item="V2FULL", seconds=30)
    )
    paths = take.start()
    take._watchdog.free_space = lambda _path: 1 << 50  # only the writes can find out
    wait_for(lambda: take.status().frames_written >= 25, 30)
    stop = threading.Event()
    _fill(small_disk)
    greedy = _keep_filling(small_disk, stop)  # takes the reserve's room as it is given back
    try:
        assert take.wait(60)
    finally:
        stop.set()
        greedy.join(5)
    master = paths.master("video")
    # the second ENOSPC comes while muxing (the master is torn) or once it is closed (no
    # .md5 and sidecars): either way one line that says what to do, and recover finishes it
    assert take.result is None and take.error is not None
    assert "is full" in str(take.error) and "then run headblock recover" in str(take.error)
    assert master.exists() and not (paths.directory / f"{master.name}.md5").exists()
    # the other program's files go; recover finishes the take from what reached the disk
    for name in ("filler", "greedy-filler"):
        (small_disk / name).unlink()
    assert main(["recover", str(small_disk)]) == 0, capsys.readouterr().err
    _valid_mkv(master)
    _sidecars(paths.directory, master)
    frames = len(ffmpeg_framemd5(master).decode().splitlines()) - 6
    assert frames >= 20
    assert log_events(paths.directory, "recovery")
