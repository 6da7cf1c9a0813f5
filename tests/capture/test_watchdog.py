"""The disk watchdog: estimates, warnings, a clean stop before the disk fills, and ENOSPC."""

import os
import subprocess
import uuid

import pytest
import soundfile as sf

from capture.audio_take import AudioTake, AudioTakeSettings
from capture.watchdog import DiskCheck, DiskWatchdog, log_disk_check
from tests.capture.helpers import log_events

MIB = 1 << 20


def test_disk_events_have_one_set_of_fields_and_old_logs_still_read():
    logged = []

    def event(name, level, **fields):
        logged.append((name, level, fields))

    log_disk_check(event, DiskCheck(5 * MIB, 90.04, "warn", "about 1 min left"), at_s=12.3456)
    log_disk_check(event, DiskCheck(MIB, 1.0, "stop", "disk nearly full"), at_s=20.0)
    log_disk_check(event, DiskCheck(MIB, 1e6, "ok"), at_s=21.0)
    assert [(name, level) for name, level, _ in logged] == [
        ("disk_warning", "WARN"),
        ("disk_stop", "ERROR"),
    ]
    assert logged[0][2] == {
        "message": "about 1 min left", "free_bytes": 5 * MIB, "time_left_s": 90.0, "at_s": 12.346,
    }  # fmt: skip
    assert {tuple(fields) for _, _, fields in logged} == {tuple(logged[0][2])}


def test_estimate_warn_once_then_stop():
    free = {"bytes": 100 * MIB}
    wd = DiskWatchdog(
        "/", bytes_per_s=1 * MIB, reserve_bytes=10 * MIB, warn_s=(60.0, 20.0),
        free_space=lambda p: free["bytes"],
    )  # fmt: skip
    c = wd.check()
    assert c.action == "ok" and c.time_left_s == pytest.approx(90.0)
    free["bytes"] = 60 * MIB  # 50 s left: below 60 s
    assert wd.check().action == "warn"
    assert wd.check().action == "ok"  # warned once per threshold
    free["bytes"] = 25 * MIB  # 15 s left: below 20 s
    c = wd.check()
    assert c.action == "warn" and "15 s" in c.message
    free["bytes"] = 11 * MIB + MIB // 2  # 1.5 s above the reserve: stop
    assert wd.check().action == "stop"


def test_take_stops_before_injected_disk_fills(tmp_path):
    rate_bytes = 96000 * 2 * 3
    start = {"free": None}

    def free_space(path):
        # a disk with 3 s of audio left above the reserve when the take starts
        written = sum(f.stat().st_size for f in path.iterdir() if f.suffix == ".wav")
        if start["free"] is None:
            start["free"] = 4 * MIB + 3 * rate_bytes
        return start["free"] - written

    take = AudioTake(
        AudioTakeSettings(
            device="demo", item="FULL", library=tmp_path, qc=False, seconds=30,
            disk_reserve_bytes=4 * MIB, free_space=free_space, header_interval_s=0.25,
        )
    )  # fmt: skip
    paths = take.start()
    assert take.wait(30)
    stop = log_events(paths.directory, "disk_stop")
    assert stop, log_events(paths.directory)
    assert log_events(paths.directory, "disk_warning")
    frames = sf.info(str(paths.master("audio"))).frames
    assert 0.5 * 96000 < frames < 2.6 * 96000  # stopped with the margin left
    assert take.result.fixity_ok and take.result.record.outcome.startswith("stopped: disk")
    assert take.status().disk_time_left_s is not None


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", f"hb{uuid.uuid4().hex[:6]}", str(mnt)],
        capture_output=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fast_take(lib, item, **kw):
    # 192 kHz / 32-bit / 8 ch = 6 MiB/s: a 16 MiB disk fills in under 3 s
    return AudioTake(
        AudioTakeSettings(
            device="demo", item=item, library=lib, rate_hz=192000, bits=32, channels=8,
            qc=False, seconds=20, header_interval_s=0.25, **kw,
        )
    )  # fmt: skip


def test_real_small_disk_watchdog_stops_cleanly(small_disk):
    take = _fast_take(small_disk, "TMPFS", disk_reserve_bytes=MIB, disk_stop_margin_s=0.5)
    paths = take.start()
    assert take.wait(30)
    assert log_events(paths.directory, "disk_stop")
    assert take.result.fixity_ok
    info = sf.info(str(paths.master("audio")))
    assert info.frames == round(take.result.record.duration_s * 192000) > 192000 * 0.5
    assert paths.file(".wav.md5").exists() and paths.premis.exists()
    assert os.statvfs(small_disk).f_bavail > 0


def test_real_small_disk_enospc_keeps_everything_written(small_disk):
    # the watchdog told there is always room: only ENOSPC can end this take
    take = _fast_take(small_disk, "ENOSPC", disk_reserve_bytes=0, free_space=lambda p: 1 << 50)
    paths = take.start()
    assert take.wait(30)
    stop = log_events(paths.directory, "disk_stop")
    assert stop and "ENOSPC" in stop[0].fields["message"]
    rec = take.result.record
    assert rec.outcome == "stopped: disk full"
    info = sf.info(str(paths.master("audio")))
    assert info.frames == round(rec.duration_s * 192000) > 192000
    # all but the last part-written block of 16 MiB made it into the file
    assert info.frames * 32 > 13 * MIB
    assert take.result.fixity_ok
    r = subprocess.run(["md5sum", "-c", paths.file(".wav.md5").name], cwd=paths.directory)
    assert r.returncode == 0
