"""Task functions for the batch tests, light to import on a worker."""

from __future__ import annotations

from pathlib import Path


def run_or_raise(unit, options):
    """A batch verb's run whose engine raises on files named ``bad*`` (as an unguarded decoder
    would): the engine must make that one file's error, not the batch's end."""
    from headblock.batch.outcome import Outcome

    if Path(unit.path).name.startswith("bad"):
        raise RuntimeError(f"decoder blew up on {Path(unit.path).name}")
    return Outcome(unit.path, "pass", "fine", unit.size_bytes)
