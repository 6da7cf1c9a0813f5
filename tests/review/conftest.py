"""Fixtures of the review tests: take folders with known events, and a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.fixtures.library import _isolated_settings, library  # noqa: F401 - fixtures
from tests.review.takes import make_audio_take, make_video_take

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture
def audio_take(library):
    return make_audio_take(library)


@pytest.fixture
def video_take(library):
    return make_video_take(library)


def _pg_user() -> str | None:
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def _as_user(user: str | None, cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", user, "--", *cmd]


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server on a Unix socket (initdb refuses root: run as postgres)."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries not installed ({PG_BIN}/initdb missing)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg (the PostgreSQL driver) is not installed")
    user = _pg_user() if os.geteuid() == 0 else None
    if os.geteuid() == 0 and (user is None or not shutil.which("runuser")):
        pytest.skip("running as root without a non-root user or runuser for initdb")
    base = Path(tempfile.mkdtemp(prefix="hbpg", dir="/tmp"))  # a short socket path
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, user)
    init = subprocess.run(
        _as_user(
            user,
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "headblock",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        ),
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    opts = f"-k {base} -c listen_addresses='' -c fsync=off -c max_connections=40"
    start = subprocess.run(
        _as_user(
            user,
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        ),
        capture_output=True,
        text=True,
    )
    if start.returncode != 0:
        log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {start.stderr} {log[-500:]}")
    url = f"postgresql+psycopg://headblock@/postgres?host={base}"
    try:
        yield url
    finally:
        from metadata.catalogue import database as catalogue

        catalogue.dispose_all()
        subprocess.run(
            _as_user(user, [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request, library):
    """None (SQLite inside the library) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    base_url = request.getfixturevalue("postgres_url")
    import sqlalchemy as sa

    name = f"cat_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    eng = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return base_url.replace("/postgres?", f"/{name}?")
