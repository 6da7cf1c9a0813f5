"""A supervisor's decision on a take, tamper-evident.

Each decision (who, when in UTC, approved/rejected, comment, SHA-256 of the QC result and of
the report files) is appended to ``ITEM_tNN.signoff.json``, written as a PREMIS event and
indexed in the catalogue. Decisions are appended, never rewritten; a rejected take is
re-captured as a new take. ``verify_signoff`` re-hashes the files the last decision named.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from metadata.catalogue.database import sync_take
from metadata.clock import utc_stamp
from metadata.errors import HeadblockError
from metadata.review.journal import add_premis_event, append_entry, read_entries
from metadata.take.naming import TakePaths, paths_for_take_dir

log = logging.getLogger(__name__)

DECISIONS = ("approved", "rejected")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _hashed_files(paths: TakePaths) -> dict[str, Path]:
    """The files a decision vouches for, by key; the PDF only when it exists."""
    files = {"qc_json": paths.qc_json, "report_html": paths.qc_html}
    if paths.qc_pdf.exists():
        files["report_pdf"] = paths.qc_pdf
    return files


def read_decisions(take_dir: Path) -> list[dict]:
    return read_entries(paths_for_take_dir(take_dir).signoff_json, "decisions")


def record_signoff(
    take_dir: Path,
    by: str,
    decision: str,
    comment: str = "",
    now: datetime | None = None,
) -> dict:
    """Record a decision on a take whose QC result and report exist; returns it as saved.

    ``qc.signoff.signoff`` writes a missing report first: that is the supervisor's verb.
    """
    paths = paths_for_take_dir(Path(take_dir))
    by = (by or "").strip()
    if not by:
        raise HeadblockError("a sign-off needs the supervisor's name (--by)")
    if decision not in DECISIONS:
        raise HeadblockError(f"decision must be approved or rejected, not {decision!r}")
    if not paths.qc_json.exists():
        raise HeadblockError(
            f"{paths.stem} has no QC result ({paths.qc_json.name}); run `headblock qc` first"
        )
    if not paths.qc_html.exists():
        raise HeadblockError(
            f"{paths.stem} has no QC report ({paths.qc_html.name}); run `headblock report` first"
        )
    hashes = {key: sha256_file(p) for key, p in _hashed_files(paths).items()}
    try:
        verdict = json.loads(paths.qc_json.read_text(encoding="utf-8")).get("verdict", "")
    except (OSError, ValueError, AttributeError):
        verdict = ""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    entry = {
        "by": by,
        "at_utc": utc_stamp(when),
        "decision": decision,
        "comment": (comment or "").strip(),
        "qc_verdict": verdict,
        "sha256": hashes,
        "files": {key: p.name for key, p in _hashed_files(paths).items()},
    }
    append_entry(paths.signoff_json, paths.stem, entry, "decisions")
    hash_text = "; ".join(f"{entry['files'][k]} sha256:{v}" for k, v in hashes.items())

    def make_event(premis):
        ev = premis.signoff_event(when, by, decision, entry["comment"])
        note = f"comment: {entry['comment']}; " if entry["comment"] else ""
        ev.outcome_detail = f"{note}QC verdict {verdict or 'unknown'}; {hash_text}"
        return ev

    add_premis_event(paths, make_event)
    sync_take(paths.directory)
    return entry


def verify_signoff(take_dir: Path) -> list[str]:
    """Problems with a signed-off take's QC result and report; empty when none (or unsigned).

    Each problem names the file that changed or went missing since the last decision.
    """
    paths = paths_for_take_dir(Path(take_dir))
    if not paths.signoff_json.exists():
        return []
    try:
        decs = read_decisions(paths.directory)
    except HeadblockError as exc:
        return [str(exc)]
    if not decs:
        return [f"{paths.signoff_json.name} holds no decision"]
    last = decs[-1]
    recorded = last.get("sha256")
    names = last.get("files") or {}
    if not isinstance(recorded, dict) or not recorded:
        return [f"{paths.signoff_json.name}: the last decision records no hashes"]
    who = f"{last.get('decision', '?')} by {last.get('by', '?')} at {last.get('at_utc', '?')}"
    problems = []
    for key, digest in recorded.items():
        name = names.get(key) or _hashed_files(paths).get(key, Path(key)).name
        file = paths.directory / name
        if not file.exists():
            problems.append(f"{file.name} is missing (signed off: {who})")
            continue
        actual = sha256_file(file)
        if actual != digest:
            problems.append(
                f"{file.name} changed since the sign-off ({who}): "
                f"sha256 {actual[:16]}… ≠ recorded {str(digest)[:16]}…"
            )
    return problems
