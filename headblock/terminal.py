"""The terminal's view of a take started from the command line: a status line updated four
times a second, and SIGINT/SIGTERM stopping the take cleanly."""

from __future__ import annotations

import signal
import sys

from capture.take import closing_step


def closing_text(status) -> str:
    """``closing_step`` for a terminal's status line, with how far the read-back is."""
    step = closing_step(status)
    if step is None:
        return ""
    if status.closing < 1.0:
        return f" closing: {step} {status.closing:4.0%} "
    return f" closing: {step} "


def run_until_done(take, status_line) -> None:
    """Wait for a take started from the command line: SIGINT/SIGTERM stop it cleanly, and a
    terminal shows ``status_line(take.status())`` updated four times a second."""

    def on_signal(signum, _frame):
        take.stop(f"signal {signal.Signals(signum).name}")

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread (embedded use): no handlers
            pass
    tty = sys.stderr.isatty()
    said_verdict = False
    try:
        while not take.wait(0.25):
            status = take.status()
            if status.verdict is not None and not said_verdict:
                said_verdict = True
                sys.stderr.write(
                    ("\n" if tty else "") + f"headblock: QC verdict at Stop: {status.verdict} "
                    "(the master is read back for its fixity now)\n"
                )
                sys.stderr.flush()
            if tty:
                sys.stderr.write("\r" + status_line(status) + closing_text(status))
                sys.stderr.flush()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if tty:
            sys.stderr.write("\n")
