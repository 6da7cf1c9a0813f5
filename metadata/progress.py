"""Progress reporting shared by long jobs: a callback type and a terminal progress line."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

# Called with a fraction in [0, 1] and a short message; must be cheap and thread-safe.
ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str = "") -> None:
    return None


class TerminalProgress:
    """A single updating line on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, stream=None, min_interval_s: float = 0.1):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, fraction: float, message: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.min_interval_s:
            return
        self._last = now
        fraction = min(max(fraction, 0.0), 1.0)
        width = 30
        filled = int(round(fraction * width))
        elapsed = now - self._started
        eta = (elapsed / fraction - elapsed) if fraction > 0.001 else 0.0
        bar = "#" * filled + "-" * (width - filled)
        line = f"\r{self.label} [{bar}] {fraction * 100:5.1f}%  {message[:40]:<40} eta {eta:5.0f}s"
        self.stream.write(line)
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self(1.0, "done")
            self.stream.write("\n")
            self.stream.flush()
