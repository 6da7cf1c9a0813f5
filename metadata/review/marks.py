"""Reviewer marks on QC events, kept beside the take in ``ITEM_tNN.review.json``.

The file is an append-only history: ``{"take": ..., "marks": [mark, ...]}``; the latest mark
of an event is its current state. Each mark is also a PREMIS event and reaches the catalogue.
An event is identified by its check id, start time (ms) and channel, so a mark survives a
re-run of QC that finds the same fault.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from metadata.catalogue.database import sync_take
from metadata.clock import utc_stamp
from metadata.errors import HeadblockError
from metadata.review.journal import add_premis_event, append_entry, read_entries
from metadata.take.naming import TakePaths, paths_for_master, paths_for_take_dir

log = logging.getLogger(__name__)

MARKS = ("confirmed", "false_alarm", "note")
MARK_LABELS = {"confirmed": "confirmed", "false_alarm": "false alarm", "note": "note"}


def event_key(event: dict) -> str:
    """Stable identity of a QC event: ``check@start_ms#channel`` (channel ``-`` when none)."""
    start_ms = int(round(float(event.get("start_s") or 0.0) * 1000))
    channel = event.get("channel")
    return f"{event.get('check', '?')}@{start_ms}#{channel if channel is not None else '-'}"


@dataclass
class ReviewMark:
    event_key: str
    check: str
    start_s: float
    channel: int | None
    mark: str  # one of MARKS
    reviewer: str
    at_utc: str  # ISO 8601, Z
    note: str = ""


def take_paths(path: Path) -> TakePaths:
    """TakePaths for a take folder or a master file (a loose WAV/MKV keeps sidecars beside it)."""
    path = Path(path)
    if path.is_dir():
        return paths_for_take_dir(path)
    return paths_for_master(path)


def read_marks(path: Path) -> list[dict]:
    """Every mark ever made (oldest first); ``path`` is a take folder, master or review.json."""
    path = Path(path)
    file = path if path.name.endswith(".review.json") else take_paths(path).review_json
    return read_entries(file, "marks")


def current_marks(path: Path) -> dict[str, dict]:
    """The latest mark of each event, by event key. A ``note`` keeps the earlier verdict."""
    out: dict[str, dict] = {}
    for m in read_marks(path):
        key = m.get("event_key", "")
        prev = out.get(key)
        if m.get("mark") == "note" and prev and prev.get("mark") in ("confirmed", "false_alarm"):
            merged = dict(prev)
            merged["note"] = m.get("note", "")
            merged["at_utc"] = m.get("at_utc", prev.get("at_utc"))
            out[key] = merged
        else:
            out[key] = dict(m)
    return out


def add_mark(
    path: Path,
    event: dict,
    mark: str,
    reviewer: str,
    note: str = "",
    now: datetime | None = None,
) -> dict:
    """Record a reviewer's mark on one QC event; returns the mark as saved."""
    if mark not in MARKS:
        raise HeadblockError(f"unknown mark {mark!r} (expected one of {', '.join(MARKS)})")
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise HeadblockError("a mark needs the reviewer's name")
    if mark == "note" and not note.strip():
        raise HeadblockError("a note needs some text")
    paths = take_paths(path)
    channel = event.get("channel")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    mark_entry = ReviewMark(
        event_key=event_key(event),
        check=str(event.get("check", "")),
        start_s=round(float(event.get("start_s") or 0.0), 6),
        channel=int(channel) if channel is not None else None,
        mark=mark,
        reviewer=reviewer,
        at_utc=utc_stamp(when),
        note=note.strip(),
    )
    entry = asdict(mark_entry)
    append_entry(paths.review_json, paths.stem, entry, "marks")
    where = f"{mark_entry.check} at {mark_entry.start_s:.3f} s" + (
        f", channel {mark_entry.channel}" if mark_entry.channel else ""
    )
    detail = f"{MARK_LABELS[mark]}: {where} [{mark_entry.event_key}]" + (
        f" — {mark_entry.note}" if mark_entry.note else ""
    )
    add_premis_event(paths, lambda premis: premis.review_event(when, reviewer, detail))
    if paths.take_number:
        sync_take(paths.directory)
    return entry
