"""Fixtures of the packaging tests: a library of real take folders, signed off."""

from __future__ import annotations

from pathlib import Path

import pytest

from qc.signoff import signoff
from tests.review.takes import make_audio_take, make_video_take


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    # No station settings or environment URL leaks into a test.
    monkeypatch.setenv("HEADBLOCK_CONFIG", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("HEADBLOCK_CATALOGUE_URL", raising=False)
    yield
    from metadata.catalogue import database as catalogue

    catalogue.dispose_all()


@pytest.fixture
def library(tmp_path) -> Path:
    lib = tmp_path / "library"
    lib.mkdir()
    return lib


@pytest.fixture
def approved_audio(library):
    paths = make_audio_take(library, "REEL-001")
    signoff(paths.directory, "S. Upervisor", "approved", "clean transfer")
    return paths


@pytest.fixture
def approved_video(library):
    paths = make_video_take(library, "VHS-042")
    signoff(paths.directory, "S. Upervisor", "approved")
    return paths
