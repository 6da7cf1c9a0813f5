"""What every package layout is given and must do (``bagit_writer``, ``archivematica``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from headblock.packaging.copying import CopiedFile
from headblock.packaging.selection import ItemSelection, SelectedTake
from metadata.clock import utc_stamp
from metadata.review.verify import MasterCheck

PACKAGE_RECORD = "headblock-package.json"


@dataclass
class PlannedFile:
    take: SelectedTake
    source: Path
    rel: str  # path inside the package, "/"-separated
    expected_md5: str | None  # from the take's .md5 sidecar, when it has one
    media: bool  # a master or an access copy: hard-linked when it can be
    copied: CopiedFile | None = None


@dataclass
class PackageInfo:
    selection: ItemSelection
    layout: str
    when: datetime
    organization: str
    reason: str  # why unapproved takes are included ("" when all are approved)
    software: str
    files: list[PlannedFile] = field(default_factory=list)

    def record(self) -> str:
        """The package's own account of itself, as JSON (``headblock-package.json``)."""
        masters = {f.take.identifier: f for f in self.files if f.source == f.take.master}
        takes = []
        for t in self.selection.takes:
            d = t.decision or {}
            planned = masters.get(t.identifier)
            takes.append(
                {
                    "take": t.identifier,
                    "master": planned.rel if planned else "",
                    "master_md5": (
                        planned.copied.digests.get("md5", "") if planned and planned.copied else ""
                    ),
                    "approved": t.approved,
                    "decision": {k: d.get(k) for k in ("decision", "by", "at_utc", "comment")}
                    if d
                    else None,
                }
            )
        data = {
            "item": self.selection.item,
            "layout": self.layout,
            "created_utc": utc_stamp(self.when),
            "software": self.software,
            "source_organization": self.organization,
            "unapproved_reason": self.reason if self.selection.unapproved else "",
            "takes": takes,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class Layout(Protocol):
    name: str

    def algorithms(self, planned: PlannedFile) -> tuple[str, ...]:
        """The digests to take while copying this file (MD5 is added when it has a sidecar)."""

    def place(self, take: SelectedTake, file: Path) -> str:
        """Where a take folder's file goes inside the package."""

    def finish(self, root: Path, info: PackageInfo) -> None:
        """Write manifests and metadata once every file is in."""

    def validate(self, root: Path) -> MasterCheck:
        """Check the written package as its repository will."""

    def takes_in(self, root: Path) -> set[str]:
        """The take identifiers a finished package holds."""
