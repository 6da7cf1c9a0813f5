"""Masters made once per session by the real capture verb: an NTSC demo-deck take (FFV1
10-bit 4:2:2, 720x486, bottom field first, 4:3 declared as Matroska DisplayWidth/Height,
PCM in Matroska) and a demo BWF (96 kHz 24-bit), each with its .md5, PBCore and PREMIS.
Tests copy them before changing anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.capture.helpers import REPO, headblock_cmd


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADBLOCK_CONFIG", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("HEADBLOCK_CATALOGUE_URL", raising=False)
    yield
    from metadata.catalogue import database as catalogue

    catalogue.dispose_all()


def _capture(library: Path, *args: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["HEADBLOCK_CONFIG"] = str(library / "no-settings.toml")
    env.pop("HEADBLOCK_CATALOGUE_URL", None)
    run = subprocess.run(
        headblock_cmd("capture", *args, "--library", str(library), "--no-qc"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr


@pytest.fixture(scope="session")
def masters(tmp_path_factory) -> dict[str, Path]:
    """Take folders by name: ``ntsc`` (2 s of video), ``pal`` (1 s), ``bwf`` (4 s of audio)."""
    library = tmp_path_factory.mktemp("masters")
    _capture(library, "video", "--device", "demo:ntsc", "--item", "NTSC", "--seconds", "2")
    _capture(library, "video", "--device", "demo:pal", "--item", "PAL", "--seconds", "1")
    _capture(library, "audio", "--device", "demo", "--item", "BWF", "--seconds", "4")
    return {
        "ntsc": library / "NTSC" / "NTSC_t01",
        "pal": library / "PAL" / "PAL_t01",
        "bwf": library / "BWF" / "BWF_t01",
    }


@pytest.fixture
def take_copy(masters, tmp_path):
    """A copy of one master take inside a fresh library of this test's own."""

    def copy(name: str) -> Path:
        src = masters[name]
        dst = tmp_path / "library" / src.parent.name / src.name
        shutil.copytree(src, dst)
        return dst

    return copy
