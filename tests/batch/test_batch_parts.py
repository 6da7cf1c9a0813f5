"""The batch layer's parts without a cluster: what a walk finds, the journal, ages, the
catalogue left to the client, and the fixity rows read back from PREMIS."""

from __future__ import annotations

import json

import pytest

from headblock.batch.journal import Journal
from headblock.batch.outcome import Outcome, Unit
from headblock.batch.registry import get_verb
from headblock.batch.verify import parse_age
from metadata.catalogue.database import read_fixity_checks
from metadata.errors import HeadblockError
from tests.batch.helpers import make_take, program_wav


def test_qc_collects_masters_of_takes_and_media_beside_them_not_sidecars(tmp_path):
    lib = tmp_path / "lib"
    t1 = make_take(lib, "REEL-001", 1.0)
    (t1.directory / "REEL-001_t01.access.mp3").write_bytes(b"ID3")  # a derivative: not QC'd
    loose = tmp_path / "lib" / "stray.wav"
    program_wav(loose, 1.0, seed=3)
    (tmp_path / "lib" / "stray.qc.json").write_text("{}")
    (tmp_path / "lib" / ".DS_Store").write_text("")
    (tmp_path / "lib" / "headblock-batch-qc-20261201T000000Z.html").write_text("")
    units = get_verb("qc").collect([lib, t1.directory, t1.master("audio")], {})
    assert [u.path for u in units] == [str(loose), str(t1.master("audio"))]  # each once
    assert units[1].take_dir == str(t1.directory) and units[0].take_dir is None
    assert units[1].size_bytes == t1.master("audio").stat().st_size
    with pytest.raises(HeadblockError, match="does not exist"):
        get_verb("qc").collect([tmp_path / "nope"], {})
    with pytest.raises(HeadblockError, match="nothing to QC"):
        (tmp_path / "empty").mkdir()
        get_verb("qc").collect([tmp_path / "empty"], {})
    with pytest.raises(HeadblockError, match="no batch verb"):
        get_verb("transcode")


def test_journal_resumes_only_the_same_batch_and_survives_a_cut_line(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path, "qc profile=default paths=['/a']")
    j.open({})
    j.append(Outcome("/a/1.wav", "pass", "no events"))
    j.append(Outcome("/a/2.wav", "error", "truncated"))
    j.close(finished=False)
    with open(path, "a") as fh:
        fh.write('{"path": "/a/3.wav", "outc')  # the line being written when it stopped
    done = Journal(path, "qc profile=default paths=['/a']").load()
    assert {p: (o.outcome, o.resumed) for p, o in done.items()} == {
        "/a/1.wav": ("pass", True),
        "/a/2.wav": ("error", True),
    }
    assert Journal(path, "qc profile=strict paths=['/a']").load() == {}
    j2 = Journal(path, "qc profile=default paths=['/a']")
    j2.open(done)
    j2.close(finished=True)
    assert not path.exists()
    path.write_text(json.dumps({"journal": "x"}) + "\n")
    assert Journal(path, "y").load() == {}


def test_ages():
    assert parse_age("90d").days == 90
    assert parse_age("2w").days == 14
    assert parse_age("12h").total_seconds() == 12 * 3600
    assert parse_age("30").days == 30
    for bad in ("soon", "-3d", "d"):
        with pytest.raises(HeadblockError, match="--older-than"):
            parse_age(bad)


def test_run_qc_on_a_worker_leaves_the_catalogue_to_the_client(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    take = make_take(lib, "REEL-009", 1.0)
    unit = Unit(str(take.master("audio")), 1, str(take.directory))
    out = get_verb("qc").run(unit, {"profile": "default"})
    assert out.outcome in ("pass", "warn") and take.qc_json.exists()
    assert not (lib / "catalogue.sqlite").exists()


def test_verify_on_a_worker_records_the_integrity_state_not_the_catalogue(tmp_path):
    from metadata.take.log import read_log

    lib = tmp_path / "lib"
    take = make_take(lib, "REEL-010", 1.0)
    unit = Unit(
        str(take.master("audio")), 1, str(take.directory), str(take.master("audio")) + ".md5"
    )
    out = get_verb("verify").run(unit, {})
    assert out.outcome == "verified", out.reason
    states = [
        (e.fields["state"], e.fields["by"]) for e in read_log(take.log) if e.event == "integrity"
    ]
    assert states == [("done", "headblock batch verify")]
    take.master("audio").write_bytes(take.master("audio").read_bytes()[:-2] + b"\x00\x01")
    out = get_verb("verify").run(unit, {})
    assert out.outcome == "failed"
    last = [e for e in read_log(take.log) if e.event == "integrity"][-1]
    assert (
        last.level == "ERROR"
        and last.fields["state"] == "failed"
        and last.fields["fixity"] == "fail"
    )
    assert "differs from the recorded" in last.fields["detail"]
    assert not (lib / "catalogue.sqlite").exists()


def test_fixity_rows_name_the_file_from_the_event_detail(tmp_path):
    from metadata.formats import premis
    from tests.review.takes import make_audio_take

    take = make_audio_take(tmp_path / "lib")
    for ok, detail in (
        (True, "headblock verify: MD5 of the master re-computed"),
        (False, "headblock batch verify: REEL-001_t01.access.mp4: MD5 re-computed"),
    ):
        ev = premis.fixity_check_event(
            None, ok, "3 frame(s) differ from REEL-001_t01.framemd5", "t"
        )
        ev.detail = detail
        premis.add_event(take.premis, ev)
    checks = read_fixity_checks(take.premis, take.stem)
    assert [(c["file"], c["outcome"]) for c in checks] == [
        ("", "success"),
        ("REEL-001_t01.access.mp4", "failure"),
    ]
