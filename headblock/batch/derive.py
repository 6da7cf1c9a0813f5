"""``batch derive``: the access copy of every take under the PATHs, by one profile, as
``headblock derive`` makes it (the master verified first; the copy, its MD5, PBCore and PREMIS
written by the worker; the catalogue's ``derivatives`` row by the client). Only masters of
take folders are derived: a loose file has no ``.md5`` to verify it by and no record to join.
A take whose copy by the profile is there, with its ``.md5``, and newer than the master is done.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from headblock.batch.discover import existing_paths, is_take_dir, size_of, take_dir_of, walk_files
from headblock.batch.outcome import Outcome, Unit
from headblock.batch.qc import sync_catalogue
from headblock.batch.registry import BatchVerb, register
from metadata.clock import format_minute, utc_stamp
from metadata.errors import HeadblockError, VerificationFailed
from metadata.take.naming import paths_for_take_dir

DEFAULT_PROFILE = "access"


def _master_of(take_dir: Path) -> Path | None:
    return paths_for_take_dir(take_dir).master_if_present()


def collect(paths: list[Path], options: dict) -> list[Unit]:
    found: dict[str, Unit] = {}
    for root in existing_paths(paths):
        if root.is_dir() and is_take_dir(root):
            take_dirs = [root]
        elif root.is_dir():
            take_dirs = sorted({d for f in walk_files(root) if (d := take_dir_of(f)) is not None})
        else:
            take_dirs = [d] if (d := take_dir_of(root)) is not None else []
        for take_dir in take_dirs:
            master = _master_of(take_dir)
            if master is not None:
                found.setdefault(str(master), Unit(str(master), size_of(master), str(take_dir)))
    if not found:
        raise HeadblockError(
            f"nothing to derive under {', '.join(map(str, paths))}: access copies are made of "
            "the masters of take folders (LIBRARY/ITEM/ITEM_tNN)"
        )
    return sorted(found.values(), key=lambda u: u.path)


def _copy_of(unit: Unit, options: dict) -> Path:
    master = Path(unit.path)
    kind = "video" if master.suffix.lower() == ".mkv" else "audio"
    return paths_for_take_dir(Path(unit.take_dir)).file(options["suffixes"][kind])


def skip(unit: Unit, options: dict) -> str | None:
    """The profile's copy with its ``.md5``, newer than the master: done."""
    copy = _copy_of(unit, options)
    md5 = copy.with_name(copy.name + ".md5")
    try:
        made = copy.stat().st_mtime
        if not md5.exists() or made < Path(unit.path).stat().st_mtime:
            return None
    except OSError:
        return None
    when = format_minute(datetime.fromtimestamp(made, UTC))
    return f"{copy.name} made {when} with profile {options['profile_name']}"


def run(unit: Unit, options: dict) -> Outcome:
    """On a worker: one take's copy and its sidecars (not the catalogue: the client's)."""
    from headblock.delivery.derive import derive_take

    started = time.perf_counter()
    out = Outcome(
        unit.path,
        "error",
        size_bytes=unit.size_bytes,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
    try:
        result = derive_take(unit.take_dir, options["derive_profile"], catalogue=False)
    except VerificationFailed as exc:
        out.outcome, out.reason = "failed", str(exc)
    except HeadblockError as exc:
        out.reason = str(exc)
    except Exception as exc:  # one undecodable master is one line, not the batch's end
        out.reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        rec = result.record
        out.outcome = "done"
        out.reason = (
            f"{rec.path.name}: {rec.duration_s:.1f} s, {rec.size_bytes / 1e6:.1f} MB, MD5 {rec.md5}"
        )
        out.notes = list(result.record_failures)
    out.seconds = time.perf_counter() - started
    out.at_utc = utc_stamp()
    return out


def record(unit: Unit, outcome: Outcome, options: dict) -> str | None:
    """The take's catalogue row and its ``derivatives`` rows, from the folder."""
    return sync_catalogue(unit, options)


def fingerprint(options: dict) -> str:
    return f"derive profile={options['profile_name']}"


def prepare(options: dict) -> dict:
    """The profile loaded once on the client and handed to the workers whole (a lab's own
    profile file need not be on their storage); an unknown one is refused here."""
    from headblock.delivery.profiles import load_derive_profile

    profile = options.get("derive_profile") or load_derive_profile(
        options.get("profile") or DEFAULT_PROFILE
    )
    return {
        **options,
        "derive_profile": profile,
        "profile_name": profile.name,
        "suffixes": {"audio": profile.suffix("audio"), "video": profile.suffix("video")},
    }


VERB = register(
    BatchVerb(
        name="derive",
        title="Access copies",
        collect=collect,
        run=run,
        skip=skip,
        record=record,
        fingerprint=fingerprint,
        prepare=prepare,
    )
)
