"""Fixtures of the packaging tests: a library of real take folders, signed off."""

from __future__ import annotations

import pytest

from qc.signoff import signoff
from tests.fixtures.library import _isolated_settings, library  # noqa: F401 - fixtures
from tests.review.takes import make_audio_take, make_video_take


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
