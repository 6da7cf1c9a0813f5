"""Fresh settings for every GUI test, and no thread left running after it."""

import threading
import time

import pytest


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path, monkeypatch):
    path = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("HEADBLOCK_CONFIG", str(path))
    return path


@pytest.fixture(autouse=True)
def no_leftover_threads():
    before = {t.ident for t in threading.enumerate()}
    yield
    # Python threads the test started (demo deck, writer, encoder, workers) must all end;
    # Qt pool threads that ran Python show up as "Dummy-N" and expire within two seconds.
    deadline = time.monotonic() + 8.0
    while True:
        extra = [
            t
            for t in threading.enumerate()
            if t.ident not in before
            and t.is_alive()
            and not t.name.startswith(("Dummy", "engine-starter"))  # one per process
        ]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not extra, f"threads left running: {[t.name for t in extra]}"
