"""``batch derive`` and ``batch package`` on a real Dask ``LocalCluster`` of two worker
processes (one cluster for the module), and PREMIS events written once by a task whose worker
was killed after writing them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from headblock.batch.engine import run_batch
from headblock.batch.registry import get_verb
from metadata.catalogue import database as catalogue
from metadata.formats import premis
from metadata.review.verify import verify_package
from qc.signoff import signoff
from tests.batch.helpers import program_wav
from tests.review.takes import make_audio_take, make_video_take

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _events(paths, kind: str) -> list[premis.PremisEvent]:
    return [e for e in premis.read_events(paths.premis) if e.type == kind]


def test_batch_derive_copies_records_once_skips_and_refuses_a_damaged_master(client, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    audio = make_audio_take(lib, "REEL-001")
    video = make_video_take(lib, "VHS-042")
    bad = make_audio_take(lib, "REEL-002")
    master = bad.master("audio")
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x10  # one bit flipped on the shelf: no copy may spread it
    master.write_bytes(bytes(data))
    program_wav(lib / "stray.wav", 1.0, seed=4)  # not a take: nothing to verify it by

    verb = get_verb("derive")
    seen = Counter()
    journal = tmp_path / "j.jsonl"
    result = run_batch(
        verb, [lib], {}, client, journal, on_result=lambda u, o: seen.update([u.path])
    )
    got = {Path(o.path).name: o for o in result.outcomes}
    assert set(got) == {"REEL-001_t01.wav", "VHS-042_t01.mkv", "REEL-002_t01.wav"}
    assert got["REEL-002_t01.wav"].outcome == "failed"
    assert "fails its MD5 verification" in got["REEL-002_t01.wav"].reason
    assert not bad.file(".access.mp3").exists()
    for paths, name in ((audio, "REEL-001_t01.access.mp3"), (video, "VHS-042_t01.access.mp4")):
        copy = paths.directory / name
        out = got[paths.master("audio" if name.endswith("mp3") else "video").name]
        assert out.outcome == "done" and out.reason.startswith(name), out.reason
        assert copy.is_file() and (paths.directory / f"{name}.md5").is_file()
        assert not out.notes, out.notes
        assert len(_events(paths, "creation")) == 1
    assert len({o.worker for o in result.outcomes}) == 2  # both workers took a take
    assert set(seen.values()) == {1}
    rows = catalogue.list_derivatives(library=lib)
    assert sorted(r["take"] for r in rows) == ["REEL-001_t01", "VHS-042_t01"]  # by the client

    again = run_batch(verb, [lib], {}, client, journal)
    outcomes = {Path(o.path).name: o.outcome for o in again.outcomes}
    assert outcomes == {
        "REEL-001_t01.wav": "skipped",
        "VHS-042_t01.mkv": "skipped",
        "REEL-002_t01.wav": "failed",  # not done: tried again
    }
    stamp = (audio.directory / "REEL-001_t01.access.mp3").stat().st_mtime_ns
    forced = run_batch(verb, [audio.directory], {}, client, journal, force=True)
    assert [o.outcome for o in forced.outcomes] == ["done"]
    assert (audio.directory / "REEL-001_t01.access.mp3").stat().st_mtime_ns > stamp
    assert len(_events(audio, "creation")) == 2  # a new copy, a new event
    assert len(catalogue.list_derivatives(library=lib)) == 2


def test_a_worker_killed_after_writing_its_premis_event_records_it_once(client, tmp_path):
    """The issue 14 bug: the task's first try writes the fixity event and its worker dies before
    the result reaches the client; Dask runs it again elsewhere. One event, one catalogue count."""
    from tests.batch.tasks import verify_then_die

    lib = tmp_path / "lib"
    lib.mkdir()
    take = make_audio_take(lib, "REEL-007")
    marker = tmp_path / "died"
    verb = replace(get_verb("verify"), run=verify_then_die)
    result = run_batch(verb, [lib], {"die_marker": str(marker)}, client, tmp_path / "j.jsonl")
    assert marker.exists()  # the first try's worker was killed
    assert int(marker.read_text()) != int(result.outcomes[0].worker.split(":")[1])
    assert [o.outcome for o in result.outcomes] == ["verified"]
    fixity = _events(take, "fixity check")
    assert len(fixity) == 1, [e.identifier for e in fixity]
    assert "-batch-verify-" in fixity[0].identifier
    rows = catalogue.fixity_state(lib)
    assert [(r["identifier"], r["checks"]) for r in rows] == [("REEL-007_t01", 1)]
    client.wait_for_workers(2, timeout=60)

    # the next audit is another run: its event is recorded beside the first
    run_batch(get_verb("verify"), [lib], {}, client, tmp_path / "j.jsonl")
    assert len(_events(take, "fixity check")) == 2


def test_batch_package_from_the_command_line(client, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    a = make_audio_take(lib, "REEL-001")
    v = make_video_take(lib, "VHS-042")
    pending = make_audio_take(lib, "REEL-003")  # no sign-off: left out
    for t in (a, v):
        signoff(t.directory, "S. Upervisor", "approved")
    out = tmp_path / "bags"
    cmd = [
        sys.executable, "-m", "headblock", "batch", "package", str(lib), "--out", str(out),
        "--organization", "Test Archive", "--scheduler", client.scheduler.address,
        "--report", str(tmp_path / "report.html"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert f"LEFT    {pending.stem}: not approved" in run.stdout
    assert "done 2" in run.stdout
    for item, take in (("REEL-001", a), ("VHS-042", v)):
        assert verify_package(out / item).ok
        events = _events(take, "information package creation")
        assert len(events) == 1 and "-batch-package-" in events[0].identifier
    states = {r["identifier"]: r["state"] for r in catalogue.list_takes(lib)}
    assert states["REEL-001_t01"] == states["VHS-042_t01"] == "delivered"
    assert not list(out.glob(".*partial"))

    # again (in this process, on the same cluster): each item is done
    again = run_batch(
        get_verb("package"), [lib], {"out": str(out), "organization": "Test Archive"}, client,
        tmp_path / "j.jsonl",
    )  # fmt: skip
    assert [(Path(o.path).name, o.outcome) for o in again.outcomes] == [
        ("REEL-001", "skipped"),
        ("VHS-042", "skipped"),
    ]
    assert again.outcomes[0].reason == f"packaged already in {out / 'REEL-001'}"
    assert len(_events(a, "information package creation")) == 1
