"""``batch qc``: QC of every master under the PATHs, and of every media file outside a take
folder (a vendor's delivery: no capture log, no take folder; the container, video and audio
checks all run, the capture-log checks find nothing to read)."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from headblock.batch.discover import (
    existing_paths,
    is_sidecar,
    is_take_dir,
    size_of,
    take_dir_of,
    walk_files,
)
from headblock.batch.outcome import Outcome, Unit
from headblock.batch.registry import BatchVerb, register
from metadata.clock import format_minute, utc_stamp
from metadata.errors import HeadblockError
from metadata.take.naming import paths_for_master, paths_for_take_dir


def collect(paths: list[Path], options: dict) -> list[Unit]:
    found: dict[str, Unit] = {}
    for root in existing_paths(paths):
        if root.is_dir() and is_take_dir(root):
            files = [paths_for_take_dir(root).master_if_present()]
        elif root.is_dir():
            files = list(walk_files(root))
        else:
            files = [root]
        for f in files:
            if f is None:
                continue
            take_dir = take_dir_of(f)
            if take_dir is not None:
                master = paths_for_take_dir(take_dir).master_if_present()
                if master is None or master.name != f.name:
                    continue  # a take's sidecars and derivatives are not QC'd
            elif f != root and is_sidecar(f.name):
                continue
            key = str(f)
            found.setdefault(
                key, Unit(key, size_of(f), str(take_dir) if take_dir is not None else None)
            )
    if not found:
        raise HeadblockError(f"nothing to QC under {', '.join(map(str, paths))}")
    return list(found.values())


def _profile_name(options: dict) -> str:
    from qc.profiles import load_profile

    return load_profile(options.get("profile") or "default").name


def skip(unit: Unit, options: dict) -> str | None:
    """A ``.qc.json`` newer than the master and made with the same profile: done."""
    master = Path(unit.path)
    qc_json = paths_for_master(master).qc_json
    try:
        if qc_json.stat().st_mtime < master.stat().st_mtime:
            return None
        data = json.loads(qc_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("profile") != options["profile_name"]:
        return None
    when = format_minute(utc_stamp_of(qc_json))
    return f"QC done {when} with profile {data.get('profile')}: {data.get('verdict', '?')}"


def utc_stamp_of(path: Path):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def run(unit: Unit, options: dict) -> Outcome:
    """On a worker: QC one file, write its sidecars (not the catalogue: the client does)."""
    from qc.inputs import first_line
    from qc.runner import run_qc

    started = time.perf_counter()
    out = Outcome(unit.path, "error", size_bytes=unit.size_bytes, worker=_worker_name())
    try:
        result = run_qc(Path(unit.path), options.get("profile") or "default", catalogue=False)
    except HeadblockError as exc:
        out.reason = str(exc)
    except Exception as exc:  # a decoder's surprise is this file's error, not the batch's end
        out.reason = f"{type(exc).__name__}: {first_line(exc, 300)}"
    else:
        out.outcome = result.verdict
        flagged = [f"{c.id} {c.status}" for c in result.checks if c.status != "pass"]
        out.reason = "; ".join(
            [f"{len(result.events)} events" if result.events else "no events", *flagged]
        )
        out.notes = list(result.record_failures)
    out.seconds = time.perf_counter() - started
    out.at_utc = utc_stamp()
    return out


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record(unit: Unit, outcome: Outcome, options: dict) -> str | None:
    return sync_catalogue(unit, options)


def sync_catalogue(unit: Unit, options: dict) -> str | None:
    """The catalogue row of the file's take (files outside a take folder have none)."""
    if unit.take_dir is None:
        return None
    from metadata.catalogue.database import sync_take

    if sync_take(Path(unit.take_dir), options.get("catalogue_url")):
        return None
    return "the catalogue was not updated (see the log)"


def fingerprint(options: dict) -> str:
    return f"qc profile={options['profile_name']}"


def prepare(options: dict) -> dict:
    """Options as the workers get them: the profile's name resolved once on the client."""
    return {**options, "profile_name": _profile_name(options)}


VERB = register(
    BatchVerb(
        name="qc",
        title="QC",
        collect=collect,
        run=run,
        skip=skip,
        record=record,
        fingerprint=fingerprint,
        prepare=prepare,
    )
)
