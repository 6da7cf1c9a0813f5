"""The check table is the one list of checks: every row names a detector that runs, and every
detector in qc has a row."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import qc
from metadata.formats.framemd5 import compute_framemd5, write_framemd5_lines
from metadata.take.log import TakeLog
from qc.runner import run_qc
from qc.table import CHECKS, KINDS
from tests.fixtures import signals as S
from tests.qc.videogen import VideoSpec, make_video


def _detector_functions() -> dict[str, object]:
    """Every function named ``detect_*`` defined in a module of the qc package."""
    found = {}
    for info in pkgutil.walk_packages(qc.__path__, "qc."):
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("detect_") and fn.__module__ == module.__name__:
                found[f"{module.__name__}:{name}"] = fn
    return found


def test_every_row_names_a_detector_and_every_detector_has_a_row():
    detectors = _detector_functions()
    named = {spec.detector_name for spec in CHECKS.values()}
    assert set(detectors) == named
    for spec in CHECKS.values():
        assert spec.kind in KINDS and spec.title and spec.colour.startswith("#")
        assert spec.detector is detectors[spec.detector_name]
        assert list(inspect.signature(spec.detector).parameters)[1] == "thresholds"


@pytest.fixture
def video_take(tmp_path):
    d = tmp_path / "LIB" / "TAPE-1" / "TAPE-1_t01"
    d.mkdir(parents=True)
    info = make_video(
        d / "TAPE-1_t01.mkv",
        VideoSpec(width=180, height=122, frames=30, slices=4, audio="pcm_s24le"),
    )
    write_framemd5_lines(compute_framemd5(info.path), d / "TAPE-1_t01.framemd5")
    TakeLog(d / "TAPE-1_t01.log").write("take_start", settings={"rate_hz": 48000})
    return info.path


def test_every_detector_runs_through_the_runner(video_take, tmp_path):
    """A video take with audio, a framemd5 and a capture log runs every row of the table."""
    result = run_qc(video_take)
    assert [c.id for c in result.checks] == list(CHECKS)
    audio = tmp_path / "a.wav"
    S.write_wav(audio, S.program(4, 48000, 2, seed=1), 48000)
    ran = [c.id for c in run_qc(audio).checks]
    assert ran == [spec.id for spec in CHECKS.values() if spec.applies_to("audio")]


def test_a_take_without_audio_runs_the_capture_log_check(tmp_path):
    d = tmp_path / "LIB" / "TAPE-2" / "TAPE-2_t01"
    d.mkdir(parents=True)
    info = make_video(d / "TAPE-2_t01.mkv", VideoSpec(width=180, height=122, frames=10, slices=4))
    TakeLog(d / "TAPE-2_t01.log").write("overflow", at_s=0.1, frames_lost=3)
    result = run_qc(info.path)
    overflow = result.check("overflow")
    assert overflow.status == "fail" and overflow.count == 1
    assert not any(c.id == "clipping" for c in result.checks)
