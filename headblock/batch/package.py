"""``batch package``: one package per item under the PATHs, as ``headblock package`` writes
them (approved takes unless a reason is given; ``--layout bagit|archivematica``; hard links
unless ``--copy``), each item's package written by a worker into the shared ``--out``.

Everything ``headblock package`` refuses before writing is refused here before the cluster
starts, for the whole batch: an unknown layout, ``--out`` inside a library, a finished package
holding other takes, a bag with no organization, too little room for all the packages. An
item whose package is finished and recorded in its takes' ``.packages.json`` is done. The
worker writes the package, the takes' ``.packages.json`` and PREMIS events; the client brings
the takes' catalogue rows in line (state ``delivered``).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from headblock.batch.discover import existing_paths
from headblock.batch.outcome import Outcome, Unit
from headblock.batch.registry import BatchVerb, register
from metadata.clock import utc_stamp
from metadata.errors import HeadblockError
from metadata.review.journal import read_entries
from metadata.take.naming import paths_for_take_dir

DEFAULT_LAYOUT = "bagit"


def collect(paths: list[Path], options: dict) -> list[Unit]:
    """One unit per item (its folder, the takes chosen, their bytes). Takes passed over as
    unapproved are listed in ``options["left_out"]``; the organization a bag names is settled
    here once for the batch (given, the settings, else the takes' originator)."""
    from headblock.packaging.packager import plan_packages
    from headblock.packaging.selection import organization_for, select

    roots = existing_paths(paths)
    left_out: list[str] = []
    selections = select([str(p) for p in roots], options.get("reason") or None, left_out)
    options["left_out"] = left_out
    options["organization"] = organization_for(options.get("organization"), selections)
    plan_packages(
        selections, Path(options["out"]), options["layout"], options["organization"],
        bool(options.get("copy")),
    )  # fmt: skip
    units = []
    for sel in selections:
        size = sum(f.stat().st_size for take in sel.takes for f in take.files())
        members = tuple(str(take.paths.directory) for take in sel.takes)
        units.append(Unit(str(sel.library / sel.item), size, members=members))
    return units


def _package_of(unit: Unit, options: dict) -> Path:
    return Path(options["out"]) / Path(unit.path).name


def skip(unit: Unit, options: dict) -> str | None:
    """Its package finished, holding these takes, and recorded in each take folder: done."""
    from headblock.packaging.packager import get_layout

    package = _package_of(unit, options)
    if not package.is_dir():
        return None
    wanted = {Path(m).name for m in unit.members}
    try:
        if get_layout(options["layout"]).takes_in(package) != wanted:
            return None  # the worker says why (a package is never rewritten in place)
        for member in unit.members:
            entries = read_entries(paths_for_take_dir(Path(member)).packages_json, "packages")
            if not any(e.get("package") == str(package) for e in entries):
                return None
    except (OSError, ValueError, HeadblockError):
        return None
    return f"packaged already in {package}"


def run(unit: Unit, options: dict) -> Outcome:
    """On a worker: write the item's package and its takes' records (not the catalogue)."""
    from headblock.packaging.packager import write_packages
    from headblock.packaging.selection import select

    started = time.perf_counter()
    out = Outcome(
        unit.path, "error", size_bytes=unit.size_bytes,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )  # fmt: skip
    try:
        selections = select(list(unit.members), options.get("reason") or None)
        results = write_packages(
            selections,
            Path(options["out"]),
            options["layout"],
            organization=options.get("organization", ""),
            reason=options.get("reason") or "",
            copy=bool(options.get("copy")),
            catalogue=False,
            shared=True,
        )
    except HeadblockError as exc:
        out.reason = str(exc)
    except Exception as exc:  # one unreadable take is this item's line, not the batch's end
        out.reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        r = results[0]
        takes = ", ".join(r.takes)
        if r.status == "written":
            linked = f", {r.bytes_linked / 1e6:.1f} MB hard-linked" if r.bytes_linked else ""
            out.outcome = "done"
            out.reason = (
                f"{r.path} ({takes}; {r.files} files, {r.bytes_total / 1e6:.1f} MB{linked})"
            )
        elif r.status == "exists":
            out.outcome = "done"
            out.reason = f"{r.path} ({takes}; packaged already, left as it is)"
        else:
            out.outcome = "failed"
            out.reason = "; ".join(r.problems)
        out.notes = list(r.notes)
    out.seconds = time.perf_counter() - started
    out.at_utc = utc_stamp()
    return out


def record(unit: Unit, outcome: Outcome, options: dict) -> str | None:
    """The catalogue rows of the item's takes (``delivered`` once its package is recorded)."""
    from metadata.catalogue.database import sync_take

    missed = [
        Path(m).name for m in unit.members if not sync_take(Path(m), options.get("catalogue_url"))
    ]
    return (
        f"the catalogue was not updated for {', '.join(missed)} (see the log)" if missed else None
    )


def fingerprint(options: dict) -> str:
    return (
        f"package out={options['out']} layout={options['layout']} copy={bool(options.get('copy'))}"
        f" reason={options.get('reason') or ''}"
    )


def prepare(options: dict) -> dict:
    """--out made absolute and required, the layout known, the reason not blank."""
    from headblock.packaging.packager import get_layout

    if not options.get("out"):
        raise HeadblockError("`batch package` needs --out DIR, the folder packages go into")
    layout = options.get("layout") or DEFAULT_LAYOUT
    get_layout(layout)
    reason = options.get("reason")
    if reason is not None and not str(reason).strip():
        raise HeadblockError("--include-unapproved needs a reason")
    return {
        **options,
        "out": os.path.abspath(options["out"]),
        "layout": layout,
        "reason": str(reason).strip() if reason else None,
    }


VERB = register(
    BatchVerb(
        name="package",
        title="Packages",
        collect=collect,
        run=run,
        skip=skip,
        record=record,
        fingerprint=fingerprint,
        prepare=prepare,
    )
)
