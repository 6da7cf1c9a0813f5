"""Access copies of real masters, checked with ffprobe, md5sum, pyloudnorm and the schemas."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path

import av
import numpy as np
import psutil
import pyloudnorm
import pytest
import soundfile

from capture.priority import AFTER_TAKE_NICE, thread_nice
from headblock.cli import main
from headblock.delivery.derive import derive_take
from headblock.delivery.transcode import Cancelled, measure_loudness
from metadata.catalogue import database as catalogue
from metadata.formats import premis
from metadata.formats.xmlvalidate import validate
from tests.review.takes import make_video_take

PB = "{http://www.pbcore.org/PBCore/PBCoreNamespace.html}"
P = "{http://www.loc.gov/premis/v3}"


def ffprobe(path: Path) -> dict:
    run = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def top_level_atoms(path: Path) -> list[str]:
    """The MP4's top-level boxes in file order."""
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        atoms.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return atoms


def md5sum_check(md5_path: Path) -> None:
    run = subprocess.run(
        ["md5sum", "-c", md5_path.name], cwd=md5_path.parent, capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip().endswith(": OK"), run.stdout + run.stderr


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """An access copy's sound (planar float) as (samples, channels)."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        chunks = [f.to_ndarray() for f in c.decode(stream)]
        rate = stream.rate
    x = np.concatenate(chunks, axis=1).T  # fltp planes -> (samples, channels)
    return x.astype(np.float64), rate


def test_ntsc_video_becomes_square_pixel_progressive_h264_with_its_records(take_copy):
    take = take_copy("ntsc")
    result = derive_take(take, "access")
    rec = result.record
    copy = take / "NTSC_t01.access.mp4"
    assert rec.path == copy and copy.is_file()
    assert result.record_failures == []

    probe = ffprobe(copy)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    audio = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert video.get("field_order", "progressive") == "progressive"
    assert (video["width"], video["height"]) == (648, 486)  # every line kept, 720 * 9/10
    assert video["sample_aspect_ratio"] == "1:1" and video["display_aspect_ratio"] == "4:3"
    assert video["color_space"] == "smpte170m"  # the master's colour description carried
    assert int(video["nb_frames"]) == 60  # bwdif one frame per frame: 2 s at 29.97
    types = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pict_type"]
        + ["-of", "csv=p=0", str(copy)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [t.rstrip(",") for t in types].count("I") == 1, (
        types
    )  # one GOP: the intra master's frames are not forced I
    assert audio["codec_name"] == "aac" and audio["sample_rate"] == "48000"
    assert abs(float(video["start_time"]) - float(audio["start_time"])) < 0.03  # in sync
    assert abs(float(video["duration"]) - float(audio["duration"])) < 0.05
    assert "mp4" in probe["format"]["format_name"]
    atoms = top_level_atoms(copy)
    assert atoms.index("moov") < atoms.index("mdat")  # faststart

    md5sum_check(take / "NTSC_t01.access.mp4.md5")
    assert (take / "NTSC_t01.access.mp4.md5").read_text().split()[0] == rec.md5

    # PBCore: its own instantiation document, valid, an access copy derived from the master
    pb = validate(take / "NTSC_t01.access.pbcore.xml", "pbcore").getroot()
    assert pb.findtext(PB + "instantiationGenerations") == "Access copy"
    assert pb.findtext(PB + "instantiationDigital") == "video/mp4"
    rel = pb.find(PB + "instantiationRelation")
    assert rel.findtext(PB + "instantiationRelationType") == "Is Derived From"
    assert rel.findtext(PB + "instantiationRelationIdentifier") == "NTSC_t01.mkv"
    notes = {a.get("annotationType"): a.text for a in pb.iter(PB + "essenceTrackAnnotation")}
    assert (
        notes["Deinterlacing"].startswith("bwdif")
        and "bottom field first" in notes["Deinterlacing"]
    )

    # PREMIS: valid; a verification of the master, then the creation linking master and copy
    doc = validate(take / "NTSC_t01.premis.xml", "premis").getroot()
    events = premis.read_events(take / "NTSC_t01.premis.xml")
    assert [e.type for e in events[-2:]] == ["fixity check", "creation"]
    assert events[-2].outcome == "success"
    assert events[-1].linked_objects == [
        ("NTSC_t01.mkv", "source"),
        ("NTSC_t01.access.mp4", "outcome"),
    ]
    objects = doc.findall(P + "object")
    assert len(objects) == 2
    derived = objects[1]
    assert derived.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue") == copy.name
    assert derived.findtext(f".//{P}messageDigest") == rec.md5
    assert derived.findtext(f".//{P}relationshipType") == "derivation"
    assert derived.findtext(f".//{P}relatedObjectIdentifierValue") == "NTSC_t01.mkv"
    assert derived.findtext(f".//{P}relatedEventIdentifierValue") == events[-1].identifier

    # catalogue: the row sync_take wrote, and the same row from a rebuild of the folders
    rows = catalogue.list_derivatives("NTSC_t01", take.parent.parent)
    assert [(r["profile"], r["format"], r["md5"]) for r in rows] == [("access", "mp4", rec.md5)]
    (take.parent.parent / "catalogue.sqlite").unlink()
    catalogue.dispose_all()
    assert catalogue.rebuild(take.parent.parent) == 1
    again = catalogue.list_derivatives("NTSC_t01", take.parent.parent)
    assert [(r["profile"], r["size_bytes"], r["md5"]) for r in again] == [
        ("access", copy.stat().st_size, rec.md5)
    ]


def test_pal_top_field_first_becomes_768x576(take_copy):
    take = take_copy("pal")
    rec = derive_take(take, "web").record
    video = next(s for s in ffprobe(rec.path)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (768, 576)
    assert video["sample_aspect_ratio"] == "1:1" and video["display_aspect_ratio"] == "4:3"
    assert "top field first" in rec.deinterlace


def test_progressive_master_is_not_deinterlaced(tmp_path):
    # 160x120 progressive FFV1 with no declared display aspect: square pixels as they are
    take = make_video_take(tmp_path / "library").directory
    rec = derive_take(take, "access").record
    video = next(s for s in ffprobe(rec.path)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (160, 120)
    assert rec.deinterlace == ""
    assert "deinterlaced" not in rec.process
    assert int(video["nb_frames"]) == 50


def test_bwf_becomes_48k_mp3_at_the_profile_bit_rate(take_copy):
    take = take_copy("bwf")
    rec = derive_take(take, "access").record
    assert rec.path.name == "BWF_t01.access.mp3"
    probe = ffprobe(rec.path)
    (audio,) = probe["streams"]
    assert audio["codec_name"] == "mp3" and audio["sample_rate"] == "48000"
    assert int(audio["bit_rate"]) == 320000
    assert abs(float(probe["format"]["duration"]) - 4.0) < 0.1
    md5sum_check(take / "BWF_t01.access.mp3.md5")
    pb = validate(take / "BWF_t01.access.pbcore.xml", "pbcore").getroot()
    assert pb.findtext(PB + "instantiationDigital") == "audio/mpeg"
    assert pb.findtext(PB + "instantiationGenerations") == "Access copy"
    validate(take / "BWF_t01.premis.xml", "premis")
    rows = catalogue.list_derivatives("BWF_t01", take.parent.parent)
    assert [(r["profile"], r["format"]) for r in rows] == [("access", "mp3")]


def test_web_profile_normalises_to_ebu_r128_within_1_lu(take_copy):
    take = take_copy("bwf")
    master = take / "BWF_t01.wav"
    before = measure_loudness(master).integrated_lufs
    assert abs(before - -23.0) > 2.0, before  # the demo programme is not already at target
    x, rate = soundfile.read(master)
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(x) - before) < 0.5  # same meter
    rec = derive_take(take, "web").record
    assert rec.path.name == "BWF_t01.web.m4a"
    (audio,) = ffprobe(rec.path)["streams"]
    assert audio["codec_name"] == "aac" and audio["sample_rate"] == "48000"
    y, rate = decoded_audio(rec.path)
    after = pyloudnorm.Meter(rate).integrated_loudness(y)
    assert abs(after - -23.0) <= 1.0, after
    assert "EBU R 128" in rec.loudness and f"{before:.1f}" in rec.loudness


def test_derive_again_replaces_the_copy_and_adds_an_event(tmp_path):
    take = make_video_take(tmp_path / "library").directory
    first = derive_take(take, "access").record
    second = derive_take(take, "access").record
    assert first.path == second.path
    doc = validate(take / "VHS-042_t01.premis.xml", "premis").getroot()
    names = [
        o.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue")
        for o in doc.findall(P + "object")
    ]
    assert names == ["VHS-042_t01.mkv", "VHS-042_t01.access.mp4"]  # one object per copy
    creations = [
        e for e in premis.read_events(take / "VHS-042_t01.premis.xml") if e.type == "creation"
    ]
    assert len(creations) == 2
    assert len(catalogue.list_derivatives("VHS-042_t01", take.parent.parent)) == 1


def test_work_runs_in_a_process_of_its_own_at_after_take_priority(tmp_path):
    take = make_video_take(tmp_path / "library").directory
    seen: dict[int, set[int]] = {}

    def progress(fraction, message=""):
        for child in psutil.Process().children():
            if "spawn_main" not in " ".join(child.cmdline()):
                continue  # multiprocessing's resource tracker
            for thread in child.threads():
                seen.setdefault(child.pid, set()).add(os.getpriority(os.PRIO_PROCESS, thread.id))

    caller = thread_nice()
    derive_take(take, "access", progress=progress)
    assert len(seen) == 1, seen  # one derivation process
    (nices,) = seen.values()
    assert nices == {AFTER_TAKE_NICE}  # every one of its threads, the encoder's included
    assert thread_nice() == caller  # the caller (a take's thread, the window) keeps its own


def test_cancel_leaves_nothing(tmp_path):
    take = make_video_take(tmp_path / "library").directory
    before = sorted(p.name for p in take.iterdir())
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        derive_take(take, "access", cancel=stop)
    after = sorted(p.name for p in take.iterdir())
    assert [n for n in after if n not in before] == []


# --------------------------------------------------------------------------- the command line


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("headblock: ")
    return err[0]


def test_cli_derives_several_takes(take_copy, capsys):
    ntsc, bwf = take_copy("ntsc"), take_copy("bwf")
    assert main(["derive", str(ntsc), str(bwf), "--profile", "web"]) == 0
    out = capsys.readouterr().out
    assert "NTSC_t01.web.mp4" in out and "BWF_t01.web.m4a" in out


def test_cli_unknown_profile_and_not_a_take(take_copy, tmp_path, capsys):
    take = take_copy("bwf")
    assert main(["derive", str(take), "--profile", "cinema"]) == 2
    assert "unknown derivative profile 'cinema'" in _one_line(capsys)
    assert main(["derive", str(tmp_path)]) == 2
    assert "is not a take folder" in _one_line(capsys)
    empty = tmp_path / "library" / "X" / "X_t01"
    empty.mkdir(parents=True)
    assert main(["derive", str(empty)]) == 2
    assert "holds no master" in _one_line(capsys)


def test_cli_profile_files_with_bad_or_unavailable_keys(take_copy, tmp_path, capsys):
    take = take_copy("bwf")
    before = sorted(p.name for p in take.iterdir())
    cases = {
        "burn.toml": ('[video]\nburn_in = "yes"\n', "expected true or false"),
        "crf.toml": ("[video]\ncrf = 80\n", "video.crf must be between 0 and 51"),
        "typo.toml": ("[audio]\nbitrate = 128\n", "unknown key audio.bitrate"),
        "broken.toml": ("[audio\n", "not valid TOML"),
    }
    for name, (text, said) in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["derive", str(take), "--profile", str(tmp_path / name)]) == 2
        assert said in _one_line(capsys)
    assert sorted(p.name for p in take.iterdir()) == before


def test_cli_refuses_a_master_that_fails_its_md5(take_copy, capsys):
    take = take_copy("bwf")
    master = take / "BWF_t01.wav"
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit flipped in the audio
    master.write_bytes(bytes(data))
    assert main(["derive", str(take)]) == 1
    line = _one_line(capsys)
    assert "fails its MD5 verification" in line and "BWF_t01.wav" in line
    assert not list(take.glob("BWF_t01.access*")) and not list(take.glob(".BWF_t01*"))
    last = premis.read_events(take / "BWF_t01.premis.xml")[-1]
    assert (last.type, last.outcome) == ("fixity check", "failure")


def test_cli_refuses_a_master_without_md5(take_copy, capsys):
    take = take_copy("bwf")
    (take / "BWF_t01.wav.md5").unlink()
    assert main(["derive", str(take)]) == 1
    assert "no .md5 sidecar" in _one_line(capsys)


def test_cli_master_that_does_not_decode(tmp_path, capsys):
    take = tmp_path / "library" / "BAD" / "BAD_t01"
    take.mkdir(parents=True)
    master = take / "BAD_t01.mkv"
    master.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64)  # an EBML magic, then noise
    (take / "BAD_t01.mkv.md5").write_text(
        f"{hashlib.md5(master.read_bytes()).hexdigest()}  BAD_t01.mkv\n"
    )
    assert main(["derive", str(take)]) == 2
    assert "cannot read the master BAD_t01.mkv" in _one_line(capsys)
    assert sorted(p.name for p in take.iterdir()) == ["BAD_t01.mkv", "BAD_t01.mkv.md5"]


def test_cli_cut_master_is_refused_not_shortened(tmp_path, capsys):
    # half of a 2 s master, its .md5 made to match the cut file: FFmpeg decodes 1 s of it
    take = make_video_take(tmp_path / "library").directory
    master = take / "VHS-042_t01.mkv"
    data = master.read_bytes()
    master.write_bytes(data[: len(data) // 2])
    (take / "VHS-042_t01.mkv.md5").write_text(
        f"{hashlib.md5(data[: len(data) // 2]).hexdigest()}  VHS-042_t01.mkv\n"
    )
    before = sorted(p.name for p in take.iterdir())
    assert main(["derive", str(take)]) == 2
    line = _one_line(capsys)
    assert "decodes to 1.00 s of the 2.00 s it declares" in line, line
    assert sorted(p.name for p in take.iterdir()) == before


def test_a_damaged_premis_leaves_the_copy_and_says_so(tmp_path, capsys):
    take = make_video_take(tmp_path / "library").directory
    (take / "VHS-042_t01.premis.xml").write_text("<premis>cut off")
    assert main(["derive", str(take)]) == 0
    err = capsys.readouterr().err
    assert "the PREMIS record of VHS-042_t01.premis.xml was not written" in err
    assert (take / "VHS-042_t01.access.mp4").is_file()
    md5sum_check(take / "VHS-042_t01.access.mp4.md5")
    log = (take / "VHS-042_t01.log").read_text()
    assert "record_failed" in log and "PREMIS" in log
    assert len(catalogue.list_derivatives("VHS-042_t01", take.parent.parent)) == 1
