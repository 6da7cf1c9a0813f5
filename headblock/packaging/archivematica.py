"""Archivematica standard transfers of one item (Archivematica's user manual, Transfer:
"Create a transfer with submission documentation" and "with existing checksums"; Import
metadata: metadata.csv).

```
ITEM/
  objects/                          masters, their .md5 sidecars, framemd5, access copies
  metadata/checksum.md5             every file under objects/, `md5sum -c` run in ITEM/
  metadata/metadata.csv             Dublin Core per master (filename column first, objects/…)
  metadata/ITEM_tNN.pbcore.xml …    the take's other records (kept, not transposed)
  metadata/submissionDocumentation/ QC results and reports, review and sign-off records
  logs/
```
Archivematica runs ``md5sum -c --strict metadata/checksum.md5`` in the transfer folder and
wants exactly one line per file under ``objects/``, LF line endings and no byte-order mark.
The take's PREMIS file is not named ``premis.xml``: Archivematica would try to import its
events, whose agents and objects follow the station's, not Archivematica's, conventions.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from headblock.packaging.layout import PACKAGE_RECORD, PackageInfo, PlannedFile
from headblock.packaging.selection import MEDIA_SUFFIXES, SelectedTake
from metadata.review.verify import MasterCheck, verify_package

SUBMISSION = "metadata/submissionDocumentation"
_SUBMISSION_SUFFIXES = (".qc.json", ".qc.html", ".qc.pdf", ".signoff.json", ".review.json")
_OBJECT_SUFFIXES = (*MEDIA_SUFFIXES, *(s + ".md5" for s in MEDIA_SUFFIXES), ".framemd5")
DC_COLUMNS = (
    "filename",
    "dc.title",
    "dc.identifier",
    "dc.description",
    "dc.type",
    "dc.format",
    "dc.date",
    "dc.source",
)
_DC_TYPE = {".wav": "Sound", ".mkv": "MovingImage"}  # DCMI Type Vocabulary
_MIME = {".wav": "audio/x-wav", ".mkv": "video/x-matroska"}


class ArchivematicaLayout:
    name = "archivematica"

    def algorithms(self, planned: PlannedFile) -> tuple[str, ...]:
        return ("md5",)

    def place(self, take: SelectedTake, file: Path) -> str:
        name = file.name
        if name.endswith(_OBJECT_SUFFIXES):
            return f"objects/{name}"
        if name.endswith(_SUBMISSION_SUFFIXES):
            return f"{SUBMISSION}/{name}"
        return f"metadata/{name}"

    def finish(self, root: Path, info: PackageInfo) -> None:
        (root / "logs").mkdir(exist_ok=True)
        (root / SUBMISSION).mkdir(parents=True, exist_ok=True)
        objects = sorted(
            (f for f in info.files if f.rel.startswith("objects/")), key=lambda f: f.rel
        )
        lines = "".join(f"{f.copied.digests['md5']}  {f.rel}\n" for f in objects if f.copied)
        # bytes, not text: no byte-order mark and LF whatever the platform
        (root / "metadata" / "checksum.md5").write_bytes(lines.encode("utf-8"))
        (root / "metadata" / "metadata.csv").write_bytes(dublin_core_csv(info).encode("utf-8"))
        (root / SUBMISSION / PACKAGE_RECORD).write_text(info.record(), encoding="utf-8")

    def validate(self, root: Path) -> MasterCheck:
        return verify_package(root)

    def takes_in(self, root: Path) -> set[str]:
        objects = root / "objects"
        if not objects.is_dir():
            return set()
        return {p.stem for p in objects.iterdir() if p.suffix in _DC_TYPE}


def dublin_core_csv(info: PackageInfo) -> str:
    """One row per master: the item's Dublin Core from the take's description."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DC_COLUMNS)
    for f in sorted(info.files, key=lambda f: f.rel):
        take = f.take
        if f.source != take.master:
            continue
        meta = take.meta()
        source = meta.carrier_label
        if meta.extra.get("carrier_label"):
            source = f"{source} {meta.extra['carrier_label']}".strip()
        suffix = take.master.suffix.lower()
        writer.writerow(
            (
                f.rel,
                meta.title or info.selection.item,
                info.selection.item,
                meta.description,
                _DC_TYPE.get(suffix, ""),
                _MIME.get(suffix, ""),
                take.captured_date(),
                source,
            )
        )
    return out.getvalue()
