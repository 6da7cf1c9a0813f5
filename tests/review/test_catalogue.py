"""The catalogue, rebuilt from take folders, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import shutil
import threading

from headblock.cli import main
from metadata.catalogue import database as catalogue
from metadata.review.marks import add_mark
from qc.signoff import signoff
from tests.review.takes import AUDIO_EVENTS, make_audio_take, make_video_take


def _states(library, url):
    return {r["identifier"]: r["state"] for r in catalogue.list_takes(library, url)}


def test_rebuild_follows_the_take_folders(library, catalogue_url):
    a1 = make_audio_take(library)
    a2 = make_audio_take(library)
    v1 = make_video_take(library)
    (library / "NOTAKE").mkdir()  # an item folder with no take is not an error
    assert catalogue.rebuild(library, catalogue_url) == 3
    rows = {r["identifier"]: r for r in catalogue.list_takes(library, catalogue_url)}
    assert set(rows) == {"REEL-001_t01", "REEL-001_t02", "VHS-042_t01"}
    assert rows["VHS-042_t01"]["kind"] == "video" and rows["VHS-042_t01"]["verdict"] == "fail"
    assert rows["REEL-001_t01"]["duration_s"] == 4.0 and rows["REEL-001_t01"]["events"] == 3
    assert rows["REEL-001_t01"]["title"] == "Oral history interview, side A"
    assert rows["REEL-001_t01"]["carrier"] == "open_reel"
    assert rows["REEL-001_t01"]["state"] == "qc_done"

    # review and sign-off change state in the folder; sync and rebuild mirror it
    add_mark(a1.directory, AUDIO_EVENTS[0], "confirmed", "R. Viewer")
    signoff(v1.directory, "S. Upervisor", "rejected", "dropouts")
    assert catalogue.sync_take(a1.directory, catalogue_url)
    assert catalogue.sync_take(v1.directory, catalogue_url)
    assert _states(library, catalogue_url) == {
        "REEL-001_t01": "in_review",
        "REEL-001_t02": "qc_done",
        "VHS-042_t01": "rejected",
    }
    queue = catalogue.awaiting_signoff(library, catalogue_url)
    assert [r["identifier"] for r in queue] == ["REEL-001_t01", "REEL-001_t02"]
    by_date = catalogue.awaiting_signoff(library, catalogue_url, order="date")
    assert [r["identifier"] for r in by_date] == ["REEL-001_t01", "REEL-001_t02"]
    hist = catalogue.take_history("REEL-001_t01", library, catalogue_url)
    assert [(n["mark"], n["reviewer"]) for n in hist["notes"]] == [("confirmed", "R. Viewer")]

    # the folder is the truth: a lost database and a removed take are both rebuilt
    shutil.rmtree(a2.directory)
    assert catalogue.rebuild(library, catalogue_url) == 2
    assert set(_states(library, catalogue_url)) == {"REEL-001_t01", "VHS-042_t01"}
    if catalogue_url is None:
        catalogue.dispose_all()
        (library / "catalogue.sqlite").unlink()
        assert catalogue.rebuild(library) == 2
        assert _states(library, None)["VHS-042_t01"] == "rejected"
        assert len(catalogue.take_history("REEL-001_t01", library)["notes"]) == 1


def test_damaged_files_never_stop_indexing(library):
    take = make_audio_take(library)
    take.qc_json.write_text("{not json")
    take.log.write_text("garbage line\n")
    take.signoff_json.write_text("[]")
    assert catalogue.rebuild(library) == 1
    (row,) = catalogue.list_takes(library)
    assert row["state"] == "captured" and row["verdict"] == "" and row["kind"] == "audio"


def test_concurrent_stations_do_not_collide(library, catalogue_url):
    takes = [make_audio_take(library, "SHARED") for _ in range(6)]
    barrier = threading.Barrier(len(takes))
    results = []

    def station(take):
        barrier.wait()
        results.append(catalogue.sync_take(take.directory, catalogue_url))

    threads = [threading.Thread(target=station, args=(t,)) for t in takes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [True] * len(takes)
    assert len(catalogue.list_takes(library, catalogue_url)) == len(takes)
    # syncing again is an update, not a duplicate
    assert catalogue.sync_take(takes[0].directory, catalogue_url)
    assert len(catalogue.list_takes(library, catalogue_url)) == len(takes)


def test_catalogue_command(library, catalogue_url, capsys):
    make_audio_take(library)
    url_args = ["--url", catalogue_url] if catalogue_url else []
    assert main(["catalogue", "rebuild", str(library), *url_args]) == 0
    assert "1 take(s) indexed" in capsys.readouterr().out
    assert main(["catalogue", "list", str(library), *url_args]) == 0
    out = capsys.readouterr().out
    assert "REEL-001_t01" in out and "qc_done" in out and "4.0s" in out
    if catalogue_url is None:
        assert (library / "catalogue.sqlite").exists()


def test_bad_catalogue_input(library, tmp_path, capsys, monkeypatch):
    assert main(["catalogue", "list", str(tmp_path / "missing")]) == 2
    assert main(["catalogue", "rebuild", str(library), "--url", "nosuchdb://x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err
    # the environment URL is used; a capture's sync never raises on a dead server
    take = make_audio_take(library)
    monkeypatch.setenv("HEADBLOCK_CATALOGUE_URL", "postgresql+psycopg://u@/db?host=/nonexistent")
    assert catalogue.sync_take(take.directory) is False
    monkeypatch.setenv("HEADBLOCK_CATALOGUE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert catalogue.sync_take(take.directory) is True
    assert (tmp_path / "env.sqlite").exists()


def test_several_stations_rebuild_at_once(library, catalogue_url):
    """Separate processes (stations) create the schema and index the same takes together."""
    import subprocess
    import sys

    for _ in range(3):
        make_audio_take(library, "LAB")
    url_args = ["--url", catalogue_url] if catalogue_url else []
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "headblock", "catalogue", "rebuild", str(library), *url_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "3 take(s) indexed" in out
    assert sorted(r["identifier"] for r in catalogue.list_takes(library, catalogue_url)) == [
        "LAB_t01",
        "LAB_t02",
        "LAB_t03",
    ]


def test_packages_are_indexed_and_rebuilt(library, catalogue_url, tmp_path, monkeypatch):
    """A package's take-folder record makes the take `delivered`; rebuild reproduces it."""
    from headblock.packaging.packager import write_packages
    from headblock.packaging.selection import select

    if catalogue_url:
        monkeypatch.setenv("HEADBLOCK_CATALOGUE_URL", catalogue_url)
    take = make_audio_take(library)
    signoff(take.directory, "S. Upervisor", "approved")
    (result,) = write_packages(select([str(library)]), tmp_path / "out", "archivematica")
    assert result.status == "written"
    assert _states(library, catalogue_url) == {"REEL-001_t01": "delivered"}
    (row,) = catalogue.list_packages(library, catalogue_url)
    assert (row["take"], row["item"], row["layout"], row["package"]) == (
        "REEL-001_t01",
        "REEL-001",
        "archivematica",
        str(tmp_path / "out" / "REEL-001"),
    )
    with catalogue.engine_for(catalogue.resolve_url(library, catalogue_url)).begin() as conn:
        conn.execute(catalogue.delete(catalogue.packages))
    assert catalogue.list_packages(library, catalogue_url) == []
    assert catalogue.rebuild(library, catalogue_url) == 1
    assert [r["package"] for r in catalogue.list_packages(library, catalogue_url)] == [
        row["package"]
    ]
    shutil.rmtree(take.directory)  # a take that is gone takes its package rows with it
    assert catalogue.rebuild(library, catalogue_url) == 0
    assert catalogue.list_packages(library, catalogue_url) == []
