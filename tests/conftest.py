"""Shared fixtures live in tests/fixtures/; each module there is a pytest plugin."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "tests.fixtures.pulse",
    "tests.fixtures.signals",
]
