"""The batch tests: no station settings or environment URL leaks in."""

from tests.fixtures.library import _isolated_settings  # noqa: F401 - fixture
