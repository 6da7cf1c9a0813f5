"""``batch verify``: the fixity audit. Every master is re-hashed against its ``.md5`` (a BWF
also against its ``MD5 `` chunk, a video master decoded against its ``.framemd5``, a signed-off
take's records against their sign-off hashes: ``metadata.review.verify``), and so is every
derivative with an ``.md5`` sidecar (``ITEM_tNN.*.mp4|mp3``). Each check is a PREMIS
``fixity check`` event in the take's record; the catalogue's ``fixity`` table is filled from
those events when the client brings the take in line. ``--older-than`` leaves out files whose
last successful check is more recent."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headblock.batch.discover import existing_paths, size_of, take_dir_of
from headblock.batch.outcome import Outcome, Unit
from headblock.batch.qc import sync_catalogue
from headblock.batch.registry import BatchVerb, register
from metadata.catalogue.database import read_fixity_checks
from metadata.clock import format_minute, utc_stamp
from metadata.errors import HeadblockError
from metadata.review.verify import collect as collect_masters
from metadata.review.verify import is_take_master, record_fixity_event, verify_master
from metadata.take.naming import paths_for_take_dir


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``, ``30m`` (or plain days) as a timedelta; HeadblockError else."""
    text = (text or "").strip().lower()
    units = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "d")
    try:
        value = float(number)
    except ValueError:
        raise HeadblockError(f"--older-than {text!r}: give an age such as 90d, 12h or 2w") from None
    if value < 0:
        raise HeadblockError(f"--older-than {text!r}: an age cannot be negative")
    return timedelta(seconds=value * units[unit])


def collect(paths: list[Path], options: dict) -> list[Unit]:
    roots = existing_paths(paths)
    units = []
    for master, md5 in collect_masters([str(p) for p in roots]):
        take_dir = take_dir_of(master)
        units.append(
            Unit(
                str(master),
                size_of(master),
                str(take_dir) if take_dir is not None else None,
                str(md5) if md5 is not None else None,
            )
        )
    return units


def last_verified(unit: Unit) -> datetime | None:
    """When the file last passed a fixity check, from its take's PREMIS events."""
    if unit.take_dir is None:
        return None
    paths = paths_for_take_dir(Path(unit.take_dir))
    if not paths.premis.exists():
        return None
    name = Path(unit.path).name
    master = paths.master_if_present()
    master_name = master.name if master else ""
    ok = [
        c["at_utc"]
        for c in read_fixity_checks(paths.premis, paths.stem)
        if c["outcome"] == "success" and (c["file"] or master_name) == name
    ]
    return max(ok) if ok else None


def skip(unit: Unit, options: dict) -> str | None:
    age_s = options.get("older_than_s")
    if age_s is None:
        return None
    when = last_verified(unit)
    if when is None or datetime.now(UTC) - when >= timedelta(seconds=age_s):
        return None
    return f"verified {format_minute(when)}, within --older-than"


def run(unit: Unit, options: dict) -> Outcome:
    """On a worker: re-hash one file and append the PREMIS event to its take's record."""
    started = time.perf_counter()
    master = Path(unit.path)
    out = Outcome(
        unit.path,
        "error",
        size_bytes=unit.size_bytes,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
    try:
        check = verify_master(master, Path(unit.sidecar) if unit.sidecar else None)
    except HeadblockError as exc:
        out.reason = str(exc)
    except Exception as exc:  # one unreadable file is one line, not the audit's end
        out.reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        out.outcome = "verified" if check.ok else "failed"
        out.reason = "; ".join(check.notes if check.ok else check.problems)
        note = _record_event(unit, check)
        if note:
            out.notes.append(note)
        out.notes += _record_integrity(check)
    out.seconds = time.perf_counter() - started
    out.at_utc = utc_stamp()
    return out


def _record_integrity(check) -> list[str]:
    """A take master's integrity state, as ``headblock verify`` records it (the catalogue is
    the client's; the report is left as it is: writing it would read the master again)."""
    if not is_take_master(check.master):
        return []
    from capture.integrity import record_verification

    _, failures = record_verification(
        check.master.parent,
        ok=bool(check.integrity_ok),
        fixity_ok=check.fixity_ok,
        frames=check.frames,
        detail="; ".join(check.notes if check.integrity_ok else check.problems[:3]),
        by="headblock batch verify",
        catalogue=False,
        report=False,
    )
    return failures


def _record_event(unit: Unit, check) -> str | None:
    """The master's event as ``headblock verify`` writes it; a derivative's names the file,
    in its take's record (the catalogue reads the name back)."""
    if is_take_master(check.master):
        return record_fixity_event(check)
    if unit.take_dir is None:
        return None
    from metadata.formats import premis
    from metadata.take.record import software_string

    premis_path = paths_for_take_dir(Path(unit.take_dir)).premis
    if not premis_path.exists() or not os.access(premis_path.parent, os.W_OK):
        return None
    try:
        detail = "; ".join(check.notes if check.ok else check.problems)
        event = premis.fixity_check_event(datetime.now(UTC), check.ok, detail, software_string())
        event.detail = f"headblock batch verify: {check.master.name}: {event.detail}"
        premis.add_event(premis_path, event)
    except Exception as exc:  # noqa: BLE001 - the verification result stands without it
        return f"PREMIS event not written: {exc}"
    return None


def record(unit: Unit, outcome: Outcome, options: dict) -> str | None:
    return sync_catalogue(unit, options)


def fingerprint(options: dict) -> str:
    return "verify"


def prepare(options: dict) -> dict:
    older = options.get("older_than")
    return {**options, "older_than_s": parse_age(older).total_seconds() if older else None}


VERB = register(
    BatchVerb(
        name="verify",
        title="Fixity audit",
        collect=collect,
        run=run,
        skip=skip,
        record=record,
        fingerprint=fingerprint,
        prepare=prepare,
    )
)
