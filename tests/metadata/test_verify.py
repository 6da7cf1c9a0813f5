"""`headblock verify`: masters, .md5 files, take folders and libraries; tampering fails."""

from __future__ import annotations

import json
from argparse import Namespace
from fractions import Fraction

import numpy as np
import pytest

from headblock.cli import main
from headblock.verbs.review import cmd_verify
from metadata.errors import HeadblockError
from metadata.formats.bwf import BextInfo, BWFWriter
from metadata.formats.checksums import file_md5, write_md5_file
from metadata.review.verify import collect


def _audio_take(library, item="ITEM1", n=1):
    take = library / item / f"{item}_t{n:02d}"
    take.mkdir(parents=True)
    master = take / f"{item}_t{n:02d}.wav"
    x = (np.arange(4000 * 2, dtype=np.int32).reshape(-1, 2) * 997) << 8
    with BWFWriter(master, 48000, 2, 24, BextInfo(description="t")) as w:
        w.write(x)
    write_md5_file(master, file_md5(master))
    return master


def _video_take(library, item="VID1", n=1):
    import av

    from metadata.formats.framemd5 import compute_framemd5, write_framemd5_lines

    take = library / item / f"{item}_t{n:02d}"
    take.mkdir(parents=True)
    master = take / f"{item}_t{n:02d}.mkv"
    with av.open(str(master), "w") as out:
        s = out.add_stream("ffv1", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 64, 48, "yuv422p10le"
        for i in range(6):
            img = np.full((48, 64, 3), 20 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv422p10le")
            frame.pts = i
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    write_framemd5_lines(compute_framemd5(master), master.with_suffix(".framemd5"))
    write_md5_file(master, file_md5(master))
    return master


def _run(capsys, *paths):
    status = main(["verify", *map(str, paths)])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_kind_of_path_finds_the_master(tmp_path, capsys):
    master = _audio_take(tmp_path / "lib")
    for path in (master, master.with_name(master.name + ".md5"), master.parent, tmp_path / "lib"):
        assert collect([str(path)]) == [(master, master.with_name(master.name + ".md5"))]
    status, out, err = _run(capsys, tmp_path / "lib", master)  # the same master once
    assert status == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("OK") and "ITEM1_t01.wav" in lines[0]
    assert "audio MD5 chunk matches" in lines[0]
    assert lines[-1] == "1 master(s) verified"


def test_tampered_audio_fails_with_the_reason(tmp_path, capsys):
    lib = tmp_path / "lib"
    master = _audio_take(lib)
    good = _audio_take(lib, "ITEM2")
    with open(master, "r+b") as f:
        f.seek(-100, 2)  # inside the audio
        b = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([b[0] ^ 0x01]))
    status, out, err = _run(capsys, lib)
    assert status == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "ITEM1_t01.wav" in failed[0]
    assert "differs from the recorded" in failed[0] and "differs from the MD5 chunk" in failed[0]
    assert any(line.startswith("OK") and good.name in line for line in out.splitlines())
    assert err.strip() == "headblock: 1 of 2 master(s) failed verification"


def test_tampered_sidecar_missing_sidecar_and_malformed_sidecar(tmp_path, capsys):
    lib = tmp_path / "lib"
    m1 = _audio_take(lib, "A")
    m2 = _audio_take(lib, "B")
    m3 = _audio_take(lib, "C")
    md5 = m1.with_name(m1.name + ".md5")
    md5.write_text("0" * 32 + "  " + m1.name + "\n")
    m2.with_name(m2.name + ".md5").unlink()
    m3.with_name(m3.name + ".md5").write_text("garbage\n")
    status, out, _ = _run(capsys, lib)
    assert status == 1
    by_name = {line.split()[1].split("/")[-1].rstrip(":"): line for line in out.splitlines()[:3]}
    assert "differs from the recorded 000" in by_name["A_t01.wav"]
    assert "no B_t01.wav.md5 sidecar" in by_name["B_t01.wav"]
    assert "not in md5sum format" in by_name["C_t01.wav"]


def test_bad_paths_exit_2(tmp_path, capsys):
    status, out, err = _run(capsys, tmp_path / "nope")
    assert status == 2 and err.strip() == f"headblock: {tmp_path / 'nope'} does not exist"
    (tmp_path / "empty").mkdir()
    status, _, err = _run(capsys, tmp_path / "empty")
    assert status == 2 and "holds nothing to verify" in err
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(HeadblockError, match="nothing to verify"):
        cmd_verify(Namespace(paths=[str(tmp_path / "notes.txt")]))


def test_video_master_framemd5(tmp_path, capsys):
    master = _video_take(tmp_path / "lib")
    status, out, err = _run(capsys, master.parent)
    assert status == 0, out + err
    assert "6 frame MD5s match" in out
    sidecar = master.with_suffix(".framemd5")
    lines = sidecar.read_text().splitlines()
    lines[-2] = lines[-2][:-32] + "0" * 32  # one frame's hash changed
    sidecar.write_text("\n".join(lines) + "\n")
    status, out, _ = _run(capsys, master)
    assert status == 1 and "1 frame(s) differ" in out and "first at frame 4" in out


def test_signed_off_take_is_checked(tmp_path, capsys):
    from qc.signoff import signoff

    master = _audio_take(tmp_path / "lib")
    take = master.parent
    qc = take / "ITEM1_t01.qc.json"
    qc.write_text(
        json.dumps(
            {"file": master.name, "kind": "audio", "verdict": "pass", "checks": [], "events": []}
        )
    )
    (take / "ITEM1_t01.qc.html").write_text("<html>report</html>")
    signoff(take, "Grace Hopper", "approved", "fine")
    status, out, err = _run(capsys, take)
    assert status == 0, out + err
    assert "sign-off hashes match" in out
    qc.write_text(qc.read_text().replace("pass", "fail"))
    status, out, _ = _run(capsys, take)
    assert status == 1 and "ITEM1_t01.qc.json changed since the sign-off" in out


def test_each_verification_is_a_premis_fixity_event(tmp_path, capsys):
    from metadata.formats.premis import read_events, write_premis
    from tests.metadata.records import audio_record

    master = _audio_take(tmp_path / "lib")
    premis_path = master.with_name("ITEM1_t01.premis.xml")
    write_premis(audio_record(), None, premis_path)
    assert _run(capsys, master)[0] == 0
    master.write_bytes(master.read_bytes()[:-1] + b"\x01")  # the MD5 chunk's last byte
    assert _run(capsys, master)[0] == 1
    events = read_events(premis_path)
    assert [(e.type, e.outcome) for e in events[-2:]] == [
        ("fixity check", "success"),
        ("fixity check", "failure"),
    ]
    assert "differs from the recorded" in events[-1].outcome_detail
