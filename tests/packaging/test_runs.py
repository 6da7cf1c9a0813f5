"""How a packaging run meets its world: unapproved takes, a master that fails its MD5, a target
without room, an interrupted run, a finished package, hard links against copies, bad paths."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import bagit
import pytest

from headblock.cli import main
from metadata.catalogue import database as catalogue
from qc.signoff import signoff
from tests.review.takes import make_audio_take

ROOT = Path(__file__).resolve().parents[2]
ORG = ["--organization", "Test Archive"]


def _one_line(err: str) -> bool:
    return err.startswith("headblock: ") and err.count("\n") == 1 and "Traceback" not in err


def test_unapproved_refused_then_included_with_reason(library, tmp_path, capsys):
    unsigned = make_audio_take(library, "REEL-002")
    rejected = make_audio_take(library, "REEL-002")
    signoff(rejected.directory, "S. Upervisor", "rejected", "hum")
    out = tmp_path / "bags"
    # an item with no approved take, a take named on its own, a library with none: exit 2
    for target, words in (
        (library / "REEL-002", "has no approved take"),
        (rejected.directory, "its last decision is 'rejected'"),
        (unsigned.directory, "it has no sign-off"),
        (library, "has no approved take"),
    ):
        assert main(["package", str(target), "--out", str(out), *ORG]) == 2
        err = capsys.readouterr().err
        assert words in err and _one_line(err), err
    assert not out.exists()
    assert main(["package", str(library), "--out", str(out), "--include-unapproved", " "]) == 2
    assert "needs a reason" in capsys.readouterr().err
    reason = "last copy of the tape; the deck is failing"
    args = ["package", str(library / "REEL-002"), "--out", str(out), *ORG]
    assert main([*args, "--include-unapproved", reason]) == 0
    bag = bagit.Bag(str(out / "REEL-002"))
    bag.validate()
    assert bag.info["Headblock-Unapproved-Reason"] == reason
    assert bag.info["Headblock-Unapproved-Takes"] == ["REEL-002_t01", "REEL-002_t02"]
    record = json.loads((out / "REEL-002" / "headblock-package.json").read_text())
    assert record["unapproved_reason"] == reason
    assert [t["approved"] for t in record["takes"]] == [False, False]
    assert record["takes"][1]["decision"]["decision"] == "rejected"
    (entry,) = json.loads(rejected.packages_json.read_text())["packages"]
    assert entry["reason"] == reason and entry["approved"] is False
    (row,) = catalogue.list_packages(library, item="REEL-002")[:1]
    assert row["approved"] == 0 and row["reason"] == reason


def test_approved_takes_only_from_an_item(library, approved_audio, tmp_path, capsys):
    make_audio_take(library, "REEL-001")  # t02: captured after, not signed off
    out = tmp_path / "bags"
    assert main(["package", str(library / "REEL-001"), "--out", str(out), *ORG]) == 0
    assert sorted(p.name for p in (out / "REEL-001" / "data").iterdir()) == ["REEL-001_t01"]
    assert "LEFT    REEL-001_t02: not approved (it has no sign-off)" in capsys.readouterr().out


def test_master_failing_its_md5_is_refused(
    library, approved_audio, approved_video, tmp_path, capsys
):
    master = approved_video.master("video")
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x40  # one bit flipped after its .md5 was written
    master.write_bytes(bytes(data))
    out = tmp_path / "bags"
    assert main(["package", str(library), "--out", str(out), *ORG]) == 1
    captured = capsys.readouterr()
    assert "REFUSED VHS-042: VHS-042_t01: VHS-042_t01.mkv MD5" in captured.out
    assert "differs from its .md5 sidecar" in captured.out
    assert _one_line(captured.err)
    # the other item is packaged; nothing of the refused one is left, finished or not
    assert sorted(p.name for p in out.iterdir()) == ["REEL-001"]
    assert not approved_video.packages_json.exists()
    rows = {r["identifier"]: r["state"] for r in catalogue.list_takes(library)}
    assert rows == {"REEL-001_t01": "delivered", "VHS-042_t01": "signed_off"}


def test_master_without_md5_and_changed_qc_are_refused(library, approved_audio, tmp_path, capsys):
    approved_audio.qc_json.write_text(approved_audio.qc_json.read_text().replace("fail", "pass"))
    (approved_audio.directory / "REEL-001_t01.wav.md5").unlink()
    assert main(["package", str(library), "--out", str(tmp_path / "o"), *ORG]) == 1
    out = capsys.readouterr().out
    assert "no readable REEL-001_t01.wav.md5" in out
    assert "REEL-001_t01.qc.json changed since the sign-off" in out
    assert not any((tmp_path / "o").iterdir())


def test_hard_link_and_copy(library, approved_audio, tmp_path):
    src = approved_audio.master("audio")
    links_before = src.stat().st_nlink
    assert main(["package", str(library), "--out", str(tmp_path / "linked"), *ORG]) == 0
    linked = tmp_path / "linked" / "REEL-001" / "data" / "REEL-001_t01" / src.name
    assert linked.stat().st_ino == src.stat().st_ino
    assert src.stat().st_nlink == links_before + 1
    args = ["package", str(library), "--out", str(tmp_path / "copied"), "--copy", *ORG]
    assert main(args) == 0
    copied = tmp_path / "copied" / "REEL-001" / "data" / "REEL-001_t01" / src.name
    assert copied.stat().st_ino != src.stat().st_ino
    assert copied.read_bytes() == src.read_bytes()
    assert src.stat().st_nlink == links_before + 1


def test_finished_package_is_left_and_other_takes_refused(
    library, approved_audio, tmp_path, capsys
):
    out = tmp_path / "bags"
    assert main(["package", str(library), "--out", str(out), *ORG]) == 0
    manifest = (out / "REEL-001" / "manifest-sha256.txt").read_bytes()
    capsys.readouterr()
    assert main(["package", str(library), "--out", str(out), *ORG]) == 0
    assert "EXISTS" in capsys.readouterr().out
    assert (out / "REEL-001" / "manifest-sha256.txt").read_bytes() == manifest
    assert len(json.loads(approved_audio.packages_json.read_text())["packages"]) == 1
    newer = make_audio_take(library, "REEL-001")
    signoff(newer.directory, "S. Upervisor", "approved")
    assert main(["package", str(library), "--out", str(out), *ORG]) == 2
    err = capsys.readouterr().err
    assert "holds REEL-001_t01, not REEL-001_t01, REEL-001_t02" in err and _one_line(err)


def test_rerun_completes_the_records_a_run_cut_short_after_the_rename(
    library, approved_audio, tmp_path, capsys
):
    out = tmp_path / "bags"
    assert main(["package", str(library), "--out", str(out), *ORG]) == 0
    approved_audio.packages_json.unlink()  # as if the run stopped right after the rename
    catalogue.rebuild(library)
    assert catalogue.list_packages(library) == []
    capsys.readouterr()
    assert main(["package", str(library), "--out", str(out), *ORG]) == 0
    assert "recorded REEL-001_t01's delivery the earlier run left out" in capsys.readouterr().out
    (entry,) = json.loads(approved_audio.packages_json.read_text())["packages"]
    assert entry["package"] == str(out / "REEL-001")
    assert [r["take"] for r in catalogue.list_packages(library)] == ["REEL-001_t01"]


def test_out_inside_the_library_and_paths_outside_any(library, approved_audio, tmp_path, capsys):
    assert main(["package", str(library), "--out", str(library / "bags"), *ORG]) == 2
    err = capsys.readouterr().err
    assert "inside the library" in err and _one_line(err)
    stray = tmp_path / "elsewhere"
    stray.mkdir()
    (stray / "notes.txt").write_text("x")
    for path in (stray, approved_audio.master("audio"), tmp_path / "missing"):
        assert main(["package", str(path), "--out", str(tmp_path / "o"), *ORG]) == 2
        err = capsys.readouterr().err
        assert _one_line(err), err
    assert not (tmp_path / "o").exists()
    assert not (library / "bags").exists()


def _big_take(library: Path, mib: int):
    """An approved take whose master is replaced by ``mib`` MiB (packaging never parses it)."""
    paths = make_audio_take(library, "REEL-BIG")
    master = paths.master("audio")
    block = hashlib.sha256(b"tape").digest() * (1 << 15)  # 1 MiB, not all zeros
    h = hashlib.md5()
    with open(master, "ab") as fh:
        for _ in range(mib):
            fh.write(block)
    with open(master, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    (paths.directory / f"{master.name}.md5").write_text(f"{h.hexdigest()}  {master.name}\n")
    signoff(paths.directory, "S. Upervisor", "approved")
    return paths


def test_interrupted_run_leaves_no_package_and_a_rerun_completes(library, tmp_path, capsys):
    paths = _big_take(library, 128)
    out = tmp_path / "bags"
    cmd = [sys.executable, "-m", "headblock", "package", str(library), "--out", str(out), "--copy"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*cmd, *ORG], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    partial_master = out / ".REEL-BIG.partial" / "data" / "REEL-BIG_t01" / "REEL-BIG_t01.wav"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if partial_master.exists() and partial_master.stat().st_size > (8 << 20):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGKILL)  # a power cut: nothing gets to clean up
    proc.wait()
    assert not (out / "REEL-BIG").exists()  # never mistaken for a finished package
    assert (out / ".REEL-BIG.partial").exists()
    assert not paths.packages_json.exists()
    assert main(["package", str(library), "--out", str(out), "--copy", *ORG]) == 0
    captured = capsys.readouterr().out
    assert "removed the unfinished package an earlier run left" in captured
    assert not (out / ".REEL-BIG.partial").exists()
    bagit.Bag(str(out / "REEL-BIG")).validate()
    assert len(json.loads(paths.packages_json.read_text())["packages"]) == 1


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs, or None where this process may not mount one."""
    mnt = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        yield None
        return
    run = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if run.returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_target_without_room_is_refused_before_writing(
    library, approved_audio, tmp_path, capsys, small_disk, monkeypatch
):
    if small_disk is None:  # no mount here: the file system reports 1 MiB free
        small_disk = tmp_path / "small"
        small_disk.mkdir()
        real = shutil.disk_usage
        monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1 << 20))
    out = small_disk / "bags"
    assert main(["package", str(library), "--out", str(out), *ORG]) == 2
    err = capsys.readouterr().err
    assert "not enough room" in err and "nothing was written" in err and _one_line(err)
    assert list(small_disk.iterdir()) == []  # not even the output folder
    assert not approved_audio.packages_json.exists()
