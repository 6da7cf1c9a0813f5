"""The journal of a batch: one JSON line per finished file, written as each result arrives, so
an interrupted batch resumes where it stopped. Its first line names the verb and the options
its results depend on; a journal of other options is not reused. A batch that completes
removes it. The first line also carries the run's identifier, kept by a resumed run: the PREMIS
events a task writes are named from it (``premis.keyed_events``), so a file done again by the
same batch records its events once."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from headblock.batch.outcome import Outcome
from metadata.clock import utc_stamp
from metadata.errors import HeadblockError


class Journal:
    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.run_id = secrets.token_hex(4)  # an earlier run's, when ``load`` resumes it
        self._fh = None

    def load(self) -> dict[str, Outcome]:
        """Finished results of an earlier run of the same batch, by path."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise HeadblockError(f"cannot read the journal {self.path}: {exc.strerror}") from exc
        if not lines:
            return {}
        try:
            head = json.loads(lines[0])
        except ValueError:
            return {}
        if not isinstance(head, dict) or head.get("journal") != self.fingerprint:
            return {}
        if isinstance(head.get("run"), str) and head["run"]:
            self.run_id = head["run"]
        done: dict[str, Outcome] = {}
        for line in lines[1:]:
            try:
                out = Outcome.from_dict(json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut by the interruption
            out.resumed = True
            done[out.path] = out
        return done

    def open(self, keep: dict[str, Outcome]) -> None:
        """Start writing: the results kept from the earlier run first, then each new one."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8")
        except OSError as exc:
            raise HeadblockError(
                f"cannot write the journal {self.path}: {exc.strerror} (give --report elsewhere)"
            ) from exc
        self._write({"journal": self.fingerprint, "run": self.run_id, "started_utc": utc_stamp()})
        for out in keep.values():
            self._write(out.to_dict())

    def append(self, out: Outcome) -> None:
        self._write(out.to_dict())

    def _write(self, data: dict) -> None:
        # flushed to the OS at once (a killed client loses nothing); not fsynced per line: a
        # power cut costs the last lines, whose files the next run simply does again
        self._fh.write(json.dumps(data, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self, finished: bool) -> None:
        if self._fh is not None:
            if not finished:
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        if finished:
            self.path.unlink(missing_ok=True)
