"""The take's review journals (``review.json``, ``signoff.json``): JSON lists that are only
ever appended to, under a lock, and replaced atomically, so history is never rewritten. Each
entry is also a PREMIS event when the take has a PREMIS file."""

from __future__ import annotations

import fcntl
import json
import logging
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.files import write_atomic
from metadata.formats import premis
from metadata.take.naming import TakePaths

log = logging.getLogger(__name__)


def read_entries(file: Path, list_key: str) -> list[dict]:
    """The entries of a journal, oldest first; none when it does not exist."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise HeadblockError(f"{file.name} is not readable: {exc}") from exc
    entries = data.get(list_key) if isinstance(data, dict) else None
    return [e for e in (entries or []) if isinstance(e, dict)]


def append_entry(file: Path, take: str, entry: dict, list_key: str) -> None:
    """Append under an exclusive lock and replace atomically: history is never rewritten."""
    lock_path = file.with_name(file.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = {"take": take, list_key: []}
            if file.exists():
                try:
                    data = json.loads(file.read_text(encoding="utf-8"))
                except ValueError as exc:
                    raise HeadblockError(f"{file.name} is damaged; not appending: {exc}") from exc
                if not isinstance(data, dict) or not isinstance(data.get(list_key), list):
                    raise HeadblockError(f"{file.name} has no '{list_key}' list; not appending")
            data[list_key].append(entry)
            write_atomic(file, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        lock_path.unlink()
    except OSError:
        pass


def add_premis_event(paths: TakePaths, make_event) -> bool:
    """Append ``make_event(premis_module)`` to the take's PREMIS file; False when skipped.

    A take without a PREMIS file (a loose master) keeps its history in the JSON sidecar only.
    A PREMIS file that cannot take the event is logged, never fatal: the JSON sidecar holds
    the record and ``headblock verify`` reads it.
    """
    if not paths.premis.exists():
        return False
    try:
        premis.add_event(paths.premis, make_event(premis))
        return True
    except Exception as exc:
        log.warning("PREMIS event not written to %s: %s", paths.premis.name, exc)
        return False
