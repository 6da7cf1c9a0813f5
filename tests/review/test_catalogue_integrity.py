"""The catalogue's ``takes.integrity``: filled from the take folder, and gained by a catalogue
made before the column existed (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from capture.integrity import mark_pending, record_failed
from metadata.catalogue import database as catalogue
from tests.review.takes import make_audio_take


def _old_catalogue(url: str) -> None:
    """The schema as it was before ``takes.integrity``: made whole, then the column dropped."""
    eng = sa.create_engine(url)
    catalogue.md.create_all(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("ALTER TABLE takes DROP COLUMN integrity"))
    with eng.connect() as conn:
        assert "integrity" not in {c["name"] for c in sa.inspect(conn).get_columns("takes")}
    eng.dispose()


def _states(library, url) -> dict:
    return {r["identifier"]: r["integrity"] for r in catalogue.list_takes(library, url)}


def _check(library, url) -> None:
    older = make_audio_take(library)  # a take the job never saw
    take = make_audio_take(library)
    catalogue.dispose_all()
    assert catalogue.rebuild(library, url) == 2  # the old catalogue opens and gains the column
    assert _states(library, url) == {older.stem: "", take.stem: ""}
    mark_pending(take.directory)
    catalogue.sync_take(take.directory, url)
    assert _states(library, url)[take.stem] == "pending"
    take.qc_json.unlink()  # a take without QC: the state comes from its log
    record_failed(take.directory, "the integrity job ended before its result (killed)")
    catalogue.rebuild(library, url)
    assert _states(library, url) == {older.stem: "", take.stem: "failed"}


def test_an_old_sqlite_catalogue_gains_the_column(library):
    url = catalogue.resolve_url(library)
    _old_catalogue(url)
    _check(library, url)


def test_an_old_postgresql_catalogue_gains_the_column(library, postgres_url):
    name = f"integ_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    eng = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    url = postgres_url.replace("/postgres?", f"/{name}?")
    _old_catalogue(url)
    try:
        _check(library, url)
    finally:
        catalogue.dispose_all()


@pytest.fixture(autouse=True)
def _fresh_engines():
    catalogue.dispose_all()
    yield
    catalogue.dispose_all()
