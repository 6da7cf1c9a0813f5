"""The capture log ``ITEM_tNN.log``: one line per event, readable by people and by QC.

Line format: ``2026-11-22T14:55:00.123Z WARN  overflow {"at_s": 12.3, "frames_lost": 4800}``
"""

from __future__ import annotations

import errno
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from metadata.clock import utc_now, utc_stamp  # noqa: F401 - utc_now: the takes' clock

LEVELS = ("INFO", "WARN", "ERROR")


@dataclass
class LogEvent:
    time: str
    level: str
    event: str
    fields: dict


class TakeLog:
    """Append-only, flushed per line so a crash keeps everything written so far.

    Not for the audio callback: call from writer/control threads only.
    """

    def __init__(self, path: Path, on_full=None):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        # on a full disk: called once; True when it made room (the take's reserve), and the
        # line is flushed again rather than lost
        self._on_full = on_full

    def write(self, event: str, level: str = "INFO", **fields) -> None:
        if level not in LEVELS:
            raise ValueError(level)
        line = f"{utc_stamp()} {level:<5} {event} {json.dumps(fields, default=str)}\n"
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(line)
            try:
                self._fh.flush()
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not (
                    self._on_full and self._on_full()
                ):
                    raise
                self._fh.flush()

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_log(path: Path) -> list[LogEvent]:
    """Events of a capture log; lines that do not parse are kept as ``unparsed`` events."""
    events = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return events
    for raw in text.splitlines():
        parts = raw.split(" ", 3)
        if len(parts) < 3:
            continue
        time, level = parts[0], parts[1]
        rest = raw[len(time) + 1 :].lstrip()[len(level) :].lstrip()
        name, _, payload = rest.partition(" ")
        try:
            fields = json.loads(payload) if payload else {}
        except json.JSONDecodeError:
            fields = {"text": payload}
        events.append(LogEvent(time, level, name, fields))
    return events


def say_record_failures(
    log_path: Path, failures: list[tuple[str, str, str]], verb: str = "written"
) -> list[str]:
    """Sentences for records that could not be written (``(record, file, why)``), each also a
    ``record_failed`` line in the take's log when it has one: a failed record is never silent."""
    said = []
    for record, name, why in failures:
        said.append(f"the {record} record of {name} was not {verb}: {why}")
        if log_path.exists():
            try:
                with TakeLog(log_path) as take_log:
                    take_log.write("record_failed", "ERROR", record=record, file=name, error=why)
            except OSError as exc:
                said.append(f"the take's log {log_path.name} was not written: {exc.strerror}")
    return said
