"""The batch tests: no station settings or environment URL leaks in."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADBLOCK_CONFIG", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("HEADBLOCK_CATALOGUE_URL", raising=False)
    yield
    from metadata.catalogue import database as catalogue

    catalogue.dispose_all()
