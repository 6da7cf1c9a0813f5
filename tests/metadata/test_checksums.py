"""Whole-file MD5 sidecars, checked against the real md5sum."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from metadata.errors import HeadblockError
from metadata.formats.checksums import file_md5, read_md5_file, verify_md5_file, write_md5_file


@pytest.fixture
def master(tmp_path):
    take = tmp_path / "ITEM_t01"
    take.mkdir()
    p = take / "ITEM_t01.wav"
    p.write_bytes(bytes(range(256)) * 40000 + b"tail")  # ~10 MB: several read blocks
    return p


def test_file_md5_matches_hashlib_and_reports_progress(master):
    seen = []
    digest = file_md5(master, progress=lambda f, m: seen.append(f))
    assert digest == hashlib.md5(master.read_bytes()).hexdigest()
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    assert file_md5(p) == hashlib.md5(b"").hexdigest()


@pytest.mark.skipif(shutil.which("md5sum") is None, reason="needs md5sum")
def test_sidecar_passes_the_real_md5sum(master):
    out = write_md5_file(master, file_md5(master))
    assert out.name == "ITEM_t01.wav.md5"
    assert out.read_text() == f"{file_md5(master)}  ITEM_t01.wav\n"
    done = subprocess.run(
        ["md5sum", "-c", out.name], cwd=master.parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify_md5_file(out)[0]
    # and a sidecar written by md5sum itself is read by us
    theirs = subprocess.run(
        ["md5sum", master.name], cwd=master.parent, capture_output=True, text=True
    )
    (master.parent / "theirs.md5").write_text(theirs.stdout)
    assert verify_md5_file(master.parent / "theirs.md5") == (
        True,
        f"ITEM_t01.wav MD5 {file_md5(master)} matches",
    )


def test_tampered_and_missing_master_fail(master):
    out = write_md5_file(master, file_md5(master))
    with open(master, "r+b") as f:
        f.seek(5_000_000)
        f.write(b"\x00")
    ok, message = verify_md5_file(out)
    assert not ok and "ITEM_t01.wav MD5" in message and "!= recorded" in message
    if shutil.which("md5sum"):
        assert (
            subprocess.run(
                ["md5sum", "-c", out.name], cwd=master.parent, capture_output=True
            ).returncode
            == 1
        )
    master.unlink()
    assert verify_md5_file(out) == (False, "ITEM_t01.wav is missing")


def test_malformed_input_is_one_clear_error(tmp_path, master):
    bad = tmp_path / "bad.md5"
    bad.write_text("this is not a checksum line\n")
    with pytest.raises(HeadblockError, match="line 1 is not in md5sum format"):
        read_md5_file(bad)
    (tmp_path / "blank.md5").write_text("\n")
    with pytest.raises(HeadblockError, match="lists no checksum"):
        verify_md5_file(tmp_path / "blank.md5")
    with pytest.raises(HeadblockError, match="does not exist"):
        verify_md5_file(tmp_path / "nope.md5")
    with pytest.raises(HeadblockError, match="not an MD5"):
        write_md5_file(master, "xyz")
    with pytest.raises(HeadblockError, match="does not exist"):
        file_md5(tmp_path / "nope.wav")
