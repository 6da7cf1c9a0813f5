"""Batch QC and the fixity audit on a real Dask ``LocalCluster`` of two worker processes (one
cluster for the module): results, the catalogue, skipping, --force, a worker killed in the
middle of a batch, and an interrupted batch resumed from its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from headblock.batch.engine import run_batch
from headblock.batch.registry import get_verb
from metadata.catalogue import database as catalogue
from metadata.formats import premis
from metadata.formats.checksums import file_md5, write_md5_file
from tests.batch.helpers import make_library
from tests.review.conftest import postgres_url  # noqa: F401 - the real PostgreSQL fixture
from tests.review.takes import make_audio_take

ROOT = Path(__file__).resolve().parents[2]
GOOD = ("pass", "warn")


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


def _qc(client, paths, journal, **kw):
    options = kw.pop("options", {})
    return run_batch(get_verb("qc"), paths, options, client, journal, **kw)


def test_library_qc_records_each_take_once_then_skips_then_force(client, tmp_path):
    lib = tmp_path / "lib"
    takes = make_library(lib, 4)
    journal = tmp_path / "batch.journal.jsonl"
    seen = Counter()
    result = _qc(client, [lib], journal, on_result=lambda u, o: seen.update([u.path]))
    assert [o.outcome in GOOD for o in result.outcomes] == [True] * 4, result.outcomes
    assert set(seen.values()) == {1} and len(seen) == 4
    workers = {o.worker for o in result.outcomes}
    assert len(workers) == 2, workers  # both worker processes took files
    for t in takes:
        assert t.qc_json.exists() and t.file(".envelope.npz").exists()  # written by a worker
    rows = catalogue.list_takes(lib)
    assert sorted(r["identifier"] for r in rows) == [t.stem for t in takes]
    assert {r["state"] for r in rows} == {"qc_done"}  # synced by the client
    assert not journal.exists()  # a finished batch leaves no journal

    stamps = [t.qc_json.stat().st_mtime_ns for t in takes]
    again = _qc(client, [lib], journal)
    assert [o.outcome for o in again.outcomes] == ["skipped"] * 4
    assert "with profile default" in again.outcomes[0].reason
    assert [t.qc_json.stat().st_mtime_ns for t in takes] == stamps
    # another profile is not the same QC
    strict = _qc(client, [takes[0].directory], journal, options={"profile": "strict"})
    assert strict.outcomes[0].outcome in ("pass", "warn", "fail")
    forced = _qc(client, [lib], journal, force=True)
    assert all(o.outcome in GOOD for o in forced.outcomes)
    assert all(t.qc_json.stat().st_mtime_ns > s for t, s in zip(takes, stamps, strict=True))


def test_a_worker_killed_mid_batch_still_completes_and_records_once(client, tmp_path):
    lib = tmp_path / "lib"
    make_library(lib, 6, seconds=20.0)
    journal = tmp_path / "j.jsonl"
    seen = Counter()
    killed: list[int] = []

    def on_result(unit, out):
        seen[unit.path] += 1
        if killed:
            return
        busy = [addr for addr, keys in client.processing().items() if keys]
        pids = client.run(os.getpid)
        pid = pids[busy[0]]
        os.kill(pid, signal.SIGKILL)  # a worker dies in the middle of its file
        killed.append(pid)

    result = _qc(client, [lib], journal, on_result=on_result)
    assert killed
    assert len(result.outcomes) == 6
    assert all(o.outcome in GOOD for o in result.outcomes), [
        (o.outcome, o.reason) for o in result.outcomes
    ]
    assert set(seen.values()) == {1}, seen  # one result, one record per file
    rows = catalogue.list_takes(lib)
    assert len(rows) == 6 and {r["state"] for r in rows} == {"qc_done"}
    client.wait_for_workers(2, timeout=60)  # the nanny brought it back for the next tests
    assert killed[0] not in client.run(os.getpid).values()


def _fixity_events(paths) -> list[premis.PremisEvent]:
    return [e for e in premis.read_events(paths.premis) if e.type == "fixity check"]


def test_fixity_audit_failures_first_premis_catalogue_and_older_than(client, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    good = make_audio_take(lib, "REEL-001")
    bad = make_audio_take(lib, "REEL-002")
    access = good.file(".access.mp3")  # a derivative with its own .md5
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(good.master("audio")),
            "-c:a",
            "libmp3lame",
            str(access),
        ],
        check=True,
    )
    write_md5_file(access, file_md5(access))
    master = bad.master("audio")
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x40  # one bit of the audio flipped on the shelf
    master.write_bytes(bytes(data))

    verb = get_verb("verify")
    result = run_batch(verb, [lib], {}, client, tmp_path / "j.jsonl")
    assert [(Path(o.path).name, o.outcome) for o in result.outcomes] == [
        ("REEL-002_t01.wav", "failed"),
        ("REEL-001_t01.access.mp3", "verified"),
        ("REEL-001_t01.wav", "verified"),
    ]
    assert "differs from the recorded" in result.outcomes[0].reason
    assert [e.outcome for e in _fixity_events(good)] == ["success", "success"]
    assert [e.outcome for e in _fixity_events(bad)] == ["failure"]

    def state():
        return {
            (r["identifier"], r["file"]): (r["outcome"], r["verified_utc"] is not None)
            for r in catalogue.fixity_state(lib)
        }

    expected = {
        ("REEL-001_t01", "REEL-001_t01.wav"): ("success", True),
        ("REEL-001_t01", "REEL-001_t01.access.mp3"): ("success", True),
        ("REEL-002_t01", "REEL-002_t01.wav"): ("failure", False),
    }
    assert state() == expected
    assert (
        next(iter(catalogue.fixity_state(lib)))["identifier"] == "REEL-002_t01"
    )  # never verified first
    catalogue.dispose_all()
    (lib / "catalogue.sqlite").unlink()
    catalogue.rebuild(lib)
    assert state() == expected  # a rebuild reproduces it from the PREMIS events

    recent = run_batch(verb, [lib], {"older_than": "90d"}, client, tmp_path / "j.jsonl")
    assert sorted((Path(o.path).name, o.outcome) for o in recent.outcomes) == [
        ("REEL-001_t01.access.mp3", "skipped"),
        ("REEL-001_t01.wav", "skipped"),
        ("REEL-002_t01.wav", "failed"),  # never verified: checked again
    ]
    assert len(_fixity_events(good)) == 2 and len(_fixity_events(bad)) == 2


def test_fixity_audit_updates_a_postgresql_catalogue(client, tmp_path, postgres_url):  # noqa: F811
    lib = tmp_path / "lib"
    lib.mkdir()
    takes = [make_audio_take(lib, f"PG-{i}") for i in range(3)]
    result = run_batch(
        get_verb("verify"), [lib], {"catalogue_url": postgres_url}, client, tmp_path / "j.jsonl"
    )
    assert [o.outcome for o in result.outcomes] == ["verified"] * 3
    assert not any(o.notes for o in result.outcomes)
    rows = catalogue.fixity_state(lib, postgres_url)
    assert sorted((r["identifier"], r["outcome"], r["checks"]) for r in rows) == [
        (t.stem, "success", 1) for t in takes
    ]


def _journal_results(path: Path) -> list[dict]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines[1:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_an_interrupted_batch_resumes_from_its_journal(client, tmp_path):
    lib = tmp_path / "lib"
    takes = make_library(lib, 10, seconds=15.0)
    report = tmp_path / "out" / "audit.html"
    report.parent.mkdir()
    journal = report.parent / ".headblock-batch-qc.journal.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "headblock",
        "batch",
        "qc",
        str(lib),
        "--scheduler",
        client.scheduler.address,
        "--report",
        str(report),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_journal_results(journal)) < 1 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    done = {r["path"] for r in _journal_results(journal)}
    assert 1 <= len(done) < 10
    stamps = {
        t.qc_json: t.qc_json.stat().st_mtime_ns for t in takes if str(t.master("audio")) in done
    }

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"resumed {len(done)}" in again.stdout
    html = report.read_text()
    assert html.count("(resumed)") == len(done)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not QC'd twice
    assert all(t.qc_json.exists() for t in takes)
    assert not journal.exists()
    assert len(catalogue.list_takes(lib)) == 10


def test_a_task_that_raises_is_one_error_line_and_the_rest_complete(client, tmp_path):
    from dataclasses import replace

    from tests.batch.tasks import run_or_raise

    folder = tmp_path / "delivery"
    folder.mkdir()
    for name in ("a.wav", "bad.wav", "c.wav"):
        (folder / name).write_bytes(b"RIFF")
    verb = replace(get_verb("qc"), name="qc-raising", run=run_or_raise)
    result = run_batch(verb, [folder], {}, client, tmp_path / "j.jsonl")
    assert [(Path(o.path).name, o.outcome) for o in result.outcomes] == [
        ("bad.wav", "error"),
        ("a.wav", "pass"),
        ("c.wav", "pass"),
    ]
    assert "RuntimeError: decoder blew up on bad.wav" in result.outcomes[0].reason
