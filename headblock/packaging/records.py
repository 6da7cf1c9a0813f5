"""What a take folder keeps of its packages: ``ITEM_tNN.packages.json`` (appended, the source
the catalogue is rebuilt from), a PREMIS ``information package creation`` event on the master,
and the catalogue row (state ``delivered``)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from headblock.packaging.selection import SelectedTake
from metadata.catalogue.database import sync_take
from metadata.clock import utc_stamp
from metadata.review.journal import add_premis_event, append_entry, read_entries
from metadata.take.record import software_string

log = logging.getLogger(__name__)


def is_recorded(take: SelectedTake, package: Path) -> bool:
    entries = read_entries(take.paths.packages_json, "packages")
    return any(e.get("package") == str(package) for e in entries)


def record_package(
    take: SelectedTake,
    package: Path,
    layout: str,
    when: datetime,
    reason: str,
    master_md5: str,
    files: int,
    catalogue: bool = True,
) -> dict:
    """Append the delivery to the take's sidecar, its PREMIS record and the catalogue.

    The sidecar is the record: a PREMIS file or catalogue that cannot take it is logged (as
    everywhere else in the station) and ``catalogue rebuild`` catches up from the sidecar.
    """
    entry = {
        "package": str(package),
        "layout": layout,
        "at_utc": utc_stamp(when),
        "approved": take.approved,
        "reason": "" if take.approved else reason,
        "decision": dict(take.decision) if take.decision else None,
        "master": take.master.name,
        "master_md5": master_md5,
        "files": files,
        "software": software_string(),
    }
    append_entry(take.paths.packages_json, take.identifier, entry, "packages")
    detail = f"{take.master.name} MD5 {master_md5} verified while packing into {package}"
    if not take.approved:
        detail += f"; not approved, included because: {reason}"

    def make_event(premis):
        return premis.package_event(when, package.name, layout, detail, software_string())

    add_premis_event(take.paths, make_event)
    if catalogue and not sync_take(take.paths.directory):
        log.warning("catalogue not updated for %s", take.identifier)
    return entry
