"""`headblock package --layout archivematica`: the standard transfer layout, file by file, with
`metadata/checksum.md5` as Archivematica checks it (`md5sum -c --strict` in the transfer)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from headblock.cli import main
from tests.packaging.media import add_access_copy


def _tree(root: Path) -> list[str]:
    out = []
    for r, dirs, files in os.walk(root):
        out += [str(Path(r, f).relative_to(root)) for f in files]
        out += [str(Path(r, d).relative_to(root)) + "/" for d in dirs if not os.listdir(Path(r, d))]
    return sorted(out)


def test_transfer_layout_file_by_file(library, approved_audio, approved_video, tmp_path, capsys):
    access = add_access_copy(approved_video)
    out = tmp_path / "transfers"
    assert main(["package", str(library), "--out", str(out), "--layout", "archivematica"]) == 0
    root = out / "VHS-042"
    sd = "metadata/submissionDocumentation"
    assert _tree(root) == sorted(
        [
            "logs/",
            "metadata/VHS-042_t01.log",
            "metadata/VHS-042_t01.premis.xml",
            "metadata/VHS-042_t01.vstats.npz",
            "metadata/checksum.md5",
            "metadata/metadata.csv",
            f"{sd}/VHS-042_t01.qc.html",
            f"{sd}/VHS-042_t01.qc.json",
            f"{sd}/VHS-042_t01.signoff.json",
            f"{sd}/headblock-package.json",
            "objects/VHS-042_t01.access.mp4",
            "objects/VHS-042_t01.access.mp4.md5",
            "objects/VHS-042_t01.mkv",
            "objects/VHS-042_t01.mkv.md5",
        ]
    )
    raw = (root / "metadata" / "checksum.md5").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    objects = sorted(p for p in (root / "objects").iterdir())
    assert raw.decode() == "".join(
        f"{hashlib.md5(p.read_bytes()).hexdigest()}  objects/{p.name}\n" for p in objects
    )
    # the master's line is the MD5 its take recorded
    recorded = (approved_video.directory / "VHS-042_t01.mkv.md5").read_text().split()[0]
    assert f"{recorded}  objects/VHS-042_t01.mkv\n" in raw.decode()
    assert (root / "objects" / access.name).stat().st_ino == access.stat().st_ino
    if shutil.which("md5sum"):  # what Archivematica's "Verify transfer checksums" runs
        run = subprocess.run(
            ["md5sum", "-c", "--strict", "metadata/checksum.md5"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.count(": OK") == len(objects)
    rows = list(csv.reader(io.StringIO((root / "metadata" / "metadata.csv").read_text("utf-8"))))
    assert rows[0][:3] == ["filename", "dc.title", "dc.identifier"]
    assert rows[1:] == [
        [
            "objects/VHS-042_t01.mkv",
            "Home movie",
            "VHS-042",
            "",
            "MovingImage",
            "video/x-matroska",
            rows[1][6],
            "VHS",
        ]
    ]
    assert len(rows[1][6]) == 10 and rows[1][6][4] == "-"  # YYYY-MM-DD
    audio_csv = (out / "REEL-001" / "metadata" / "metadata.csv").read_text("utf-8")
    assert '"Oral history interview, side A",REEL-001,,Sound,audio/x-wav' in audio_csv
    capsys.readouterr()
    assert main(["verify", str(root)]) == 0
    assert "4 object(s) match metadata/checksum.md5" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fault, message",
    [
        ("crlf", "CR line endings"),
        ("bom", "byte-order mark"),
        ("extra", "lists 2 file(s), objects/ holds 3"),
        ("byte", "differ from metadata/checksum.md5"),
    ],
)
def test_verify_transfer_faults(library, approved_audio, tmp_path, capsys, fault, message):
    out = tmp_path / "t"
    args = ["package", str(library), "--out", str(out), "--layout", "archivematica", "--copy"]
    assert main(args) == 0
    root = out / "REEL-001"
    sums = root / "metadata" / "checksum.md5"
    if fault == "crlf":
        sums.write_bytes(sums.read_bytes().replace(b"\n", b"\r\n"))
    elif fault == "bom":
        sums.write_bytes(b"\xef\xbb\xbf" + sums.read_bytes())
    elif fault == "extra":
        (root / "objects" / "stray.txt").write_text("not listed\n")
    else:
        master = root / "objects" / "REEL-001_t01.wav"
        data = bytearray(master.read_bytes())
        data[-10] ^= 0x01
        master.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", str(root)]) == 1
    assert message in capsys.readouterr().out
