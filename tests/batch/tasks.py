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


def verify_then_die(unit, options):
    """``batch verify``'s run whose worker dies after the PREMIS event is written and before
    the result reaches the client, the first time only (a marker file says it happened): Dask
    then runs the task again on another worker."""
    import os
    import signal

    from headblock.batch.verify import run

    out = run(unit, options)
    marker = Path(options["die_marker"])
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return out
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    return out
