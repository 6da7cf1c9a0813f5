"""`headblock package --layout bagit`: BagIt 1.0 bags of approved takes, valid per the bagit
library and its own command line, hard-linked masters, records in the take folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from headblock.cli import main
from metadata.catalogue import database as catalogue
from metadata.formats import premis
from metadata.formats.xmlvalidate import validate
from tests.packaging.media import add_access_copy


def _sha(path: Path, alg: str) -> str:
    return hashlib.new(alg, path.read_bytes()).hexdigest()


def test_bag_of_approved_takes_is_valid_and_recorded(
    library, approved_audio, approved_video, tmp_path, capsys
):
    access = add_access_copy(approved_audio)
    out = tmp_path / "bags"
    status = main(["package", str(library), "--out", str(out), "--organization", "Test Archive"])
    assert status == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["REEL-001", "VHS-042"]  # one bag per item
    bag_dir = out / "REEL-001"
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # raises on any fault
    assert bag.version_info == (1, 0)
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert (bag_dir / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    info = bag.info
    assert info["Source-Organization"] == "Test Archive"
    assert info["External-Identifier"] == "REEL-001"
    assert info["Bagging-Date"] == catalogue.datetime.now(catalogue.UTC).strftime("%Y-%m-%d")
    payload = sorted(Path(bag_dir, p) for p in bag.payload_entries())
    oxum = f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"
    assert info["Payload-Oxum"] == oxum
    # the whole take folder is the payload: master, its MD5 sidecar, records, the access copy
    data = bag_dir / "data" / "REEL-001_t01"
    master = data / "REEL-001_t01.wav"
    for name in (
        "REEL-001_t01.wav",
        "REEL-001_t01.wav.md5",
        "REEL-001_t01.qc.json",
        "REEL-001_t01.qc.html",
        "REEL-001_t01.signoff.json",
        "REEL-001_t01.premis.xml",
        "REEL-001_t01.access.mp4",
        "REEL-001_t01.access.mp4.md5",
    ):
        assert (data / name).is_file(), name
    assert not (data / "REEL-001_t01.packages.json").exists()
    manifest = (bag_dir / "manifest-sha512.txt").read_text()
    assert f"{_sha(master, 'sha512')}  data/REEL-001_t01/REEL-001_t01.wav\n" in manifest
    # masters and access copies are hard links (same file system); records are copies
    src_master = approved_audio.master("audio")
    assert master.stat().st_ino == src_master.stat().st_ino
    assert (data / access.name).stat().st_ino == access.stat().st_ino
    assert (data / "REEL-001_t01.qc.json").stat().st_ino != approved_audio.qc_json.stat().st_ino
    # the bag's own account, and bagit.py's command line agrees it is valid
    record = json.loads((bag_dir / "headblock-package.json").read_text())
    assert record["takes"][0]["approved"] and record["takes"][0]["decision"]["by"] == "S. Upervisor"
    assert record["unapproved_reason"] == ""
    cli = shutil.which("bagit.py") or str(Path(sys.executable).with_name("bagit.py"))
    if Path(cli).exists():
        run = subprocess.run([cli, "--validate", str(bag_dir)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "is valid" in run.stderr
    # after: a PREMIS event per master naming the package, valid against the schema
    validate(premis._parse(approved_audio.premis), "premis")
    (ev,) = [e for e in premis.read_events(approved_audio.premis) if e.type.startswith("inform")]
    assert ev.type == "information package creation" and "REEL-001" in ev.detail
    assert "bagit" in ev.detail and ev.outcome == "success"
    # the take folder's sidecar and the catalogue: delivered, and rebuilt from the folders
    (entry,) = json.loads(approved_audio.packages_json.read_text())["packages"]
    assert entry["package"] == str(bag_dir) and entry["layout"] == "bagit" and entry["approved"]
    rows = {r["identifier"]: r for r in catalogue.list_takes(library)}
    assert rows["REEL-001_t01"]["state"] == "delivered"
    assert rows["VHS-042_t01"]["state"] == "delivered"
    catalogue.dispose_all()
    (library / "catalogue.sqlite").unlink()
    assert main(["catalogue", "rebuild", str(library)]) == 0
    pkgs = catalogue.list_packages(library, item="REEL-001")
    assert [(p["take"], p["layout"], p["package"]) for p in pkgs] == [
        ("REEL-001_t01", "bagit", str(bag_dir))
    ]


def test_verify_bag_valid_then_one_tampered_byte(library, approved_audio, tmp_path, capsys):
    out = tmp_path / "bags"
    args = ["package", str(approved_audio.directory), "--out", str(out), "--copy"]
    assert main([*args, "--organization", "Test Archive"]) == 0
    bag_dir = out / "REEL-001"
    capsys.readouterr()
    assert main(["verify", str(bag_dir)]) == 0
    assert "OK" in capsys.readouterr().out
    # --copy: the bag's master is its own file; change one byte of it
    master = bag_dir / "data" / "REEL-001_t01" / "REEL-001_t01.wav"
    assert master.stat().st_ino != approved_audio.master("audio").stat().st_ino
    with open(master, "r+b") as fh:
        fh.seek(5000)
        byte = fh.read(1)
        fh.seek(5000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert main(["verify", str(bag_dir)]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "REEL-001_t01.wav" in captured.out
    assert "checksum validation failed" in captured.out
    assert captured.err.strip().count("\n") == 0
    # a folder of bags is walked: each bag validated, not its masters one by one
    assert main(["verify", str(out)]) == 1
    assert "0 master(s) and 1 package(s)" in capsys.readouterr().err


def test_bag_needs_an_organization(library, approved_audio, tmp_path, capsys):
    out = tmp_path / "bags"
    assert main(["package", str(library), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Source-Organization" in err and err.count("\n") == 1
    assert not out.exists()
    # the station's settings name it
    Path(os.environ["HEADBLOCK_CONFIG"]).write_text('version = 2\norganization = "Lab A"\n')
    assert main(["package", str(library), "--out", str(out)]) == 0
    assert bagit.Bag(str(out / "REEL-001")).info["Source-Organization"] == "Lab A"


@pytest.mark.parametrize("layout", ["zip", "BAGIT"])
def test_unknown_layout_is_refused(library, approved_audio, tmp_path, capsys, layout):
    out = tmp_path / "o"
    assert main(["package", str(library), "--out", str(out), "--layout", layout]) == 2
    err = capsys.readouterr().err
    assert "unknown layout" in err and err.count("\n") == 1
    assert not out.exists()
