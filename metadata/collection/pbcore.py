"""Collection-level PBCore 2.1: one ``pbcoreDescriptionDocument`` per inventory item.

Per item: its identifier (``source="Headblock item"``), title, collection (a ``pbcoreTitle`` of
type Collection), date, notes (``pbcoreDescription``, which PBCore requires even when empty),
the physical instantiation (the carrier, its latest inspection as annotations) and a digital
instantiation for each master and access copy in its take folders. The list's other columns
are ``pbcoreAnnotation``s typed by their column name, so the document imports back unchanged
(metadata.catalogue.inventory reads it).
"""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from metadata.catalogue.inventory import ITEM_SOURCE, PBCORE_NS, item_take_dirs, list_items
from metadata.clock import utc_iso
from metadata.collection.inspection import condition_text, history, treatment_text
from metadata.formats.pbcore import SCHEMA_LOCATION, XSI_NS, timecode
from metadata.formats.xmlvalidate import write_validated
from metadata.take.meta import CARRIERS, carrier_kind
from metadata.take.naming import paths_for_take_dir

_P = f"{{{PBCORE_NS}}}"
ACCESS_SUFFIXES = {
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
}
MEDIA_TYPES = {"audio": "Sound", "video": "Moving Image"}


def _add(parent, tag: str, text, **attrs):
    el = etree.SubElement(parent, _P + tag, {k: str(v) for k, v in attrs.items() if v})
    if text is not None:
        el.text = str(text)
    return el


def _qc_duration(take_dir: Path) -> float | None:
    try:
        qc = json.loads(paths_for_take_dir(take_dir).qc_json.read_text(encoding="utf-8"))
        return float(qc["duration_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _digital(doc, item: str, take_dir: Path, f: Path, generation: str, mime: str, kind: str):
    inst = _add(doc, "pbcoreInstantiation", None)
    _add(inst, "instantiationIdentifier", f.name, source="File name")
    _add(inst, "instantiationDigital", mime)
    _add(inst, "instantiationLocation", f.relative_to(take_dir.parent.parent).as_posix())
    if kind in MEDIA_TYPES:
        _add(inst, "instantiationMediaType", MEDIA_TYPES[kind])
    _add(inst, "instantiationGenerations", generation)
    _add(inst, "instantiationFileSize", f.stat().st_size, unitsOfMeasure="bytes")
    duration = _qc_duration(take_dir) if generation == "Preservation master" else None
    if duration is not None:
        _add(inst, "instantiationDuration", timecode(duration))
    rel = _add(inst, "instantiationRelation", None)
    _add(rel, "instantiationRelationType", "Is Format Of", source="Dublin Core (dcterms)")
    _add(rel, "instantiationRelationIdentifier", item, source=ITEM_SOURCE)
    _add(inst, "instantiationAnnotation", take_dir.name, annotationType="Take")


def _document(library: Path, row: dict, inspections: list) -> etree._Element:
    item = row["item"]
    doc = etree.Element(_P + "pbcoreDescriptionDocument")
    if row["date"]:
        _add(doc, "pbcoreAssetDate", row["date"])
    _add(doc, "pbcoreIdentifier", item, source=ITEM_SOURCE)
    _add(doc, "pbcoreTitle", row["title"])
    if row["collection"]:
        _add(doc, "pbcoreTitle", row["collection"], titleType="Collection")
    _add(doc, "pbcoreDescription", row["notes"])

    carrier = row["carrier"]
    kind = carrier_kind(carrier) if carrier else "any"
    phys = _add(doc, "pbcoreInstantiation", None)
    _add(phys, "instantiationIdentifier", item, source=ITEM_SOURCE)
    _add(phys, "instantiationPhysical", CARRIERS[carrier][1] if carrier in CARRIERS else "Unknown")
    _add(phys, "instantiationLocation", row["collection"] or "unknown")
    if kind in MEDIA_TYPES:
        _add(phys, "instantiationMediaType", MEDIA_TYPES[kind])
    _add(phys, "instantiationGenerations", "Original")
    if inspections:
        last = inspections[-1]
        notes = [
            ("Inspected", utc_iso(last.at_utc)),
            ("Inspected by", last.by),
            *[("Condition", condition_text(c)) for c in last.conditions],
            *[("Treatment", treatment_text(t)) for t in last.treatments],
            ("Playable", last.playable),
            ("Inspection note", last.note),
            ("Inspections recorded", str(len(inspections))),
        ]
        for kind_, value in notes:
            if value:
                _add(phys, "instantiationAnnotation", value, annotationType=kind_)

    for take_dir in item_take_dirs(library, item):
        paths = paths_for_take_dir(take_dir)
        master = paths.master_if_present()
        if master is not None:
            take_kind = "audio" if master.suffix == ".wav" else "video"
            mime = "audio/x-wav" if take_kind == "audio" else "video/x-matroska"
            _digital(doc, item, take_dir, master, "Preservation master", mime, take_kind)
        for f in sorted(take_dir.rglob("*")):
            mime = ACCESS_SUFFIXES.get(f.suffix.lower())
            if mime and f.is_file():
                _digital(doc, item, take_dir, f, "Access copy", mime, mime.split("/")[0])

    for key, value in sorted(row["extra"].items()):
        _add(doc, "pbcoreAnnotation", value, annotationType=key)
    _add(doc, "pbcoreAnnotation", row["status"], annotationType="Headblock status")
    if row["hold_reason"]:
        _add(doc, "pbcoreAnnotation", row["hold_reason"], annotationType="Hold reason")
    return doc


def build_collection(
    library: Path, only: list[str] | None = None, url: str | None = None
) -> etree._ElementTree:
    rows = list_items(library, url, only=only or None)
    insps = history(library, [r["item"] for r in rows] if only else None, url)
    root = etree.Element(_P + "pbcoreCollection", nsmap={None: PBCORE_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    root.set("collectionSource", "Headblock")
    for row in rows:
        root.append(_document(Path(library), row, insps.get(row["item"], [])))
    return etree.ElementTree(root)


def export_collection(
    library: Path, out: Path, only: list[str] | None = None, url: str | None = None
) -> int:
    """Write the validated collection document; returns the number of items in it."""
    tree = build_collection(library, only, url)
    n = len(tree.getroot())
    if n == 0:
        from metadata.errors import HeadblockError

        raise HeadblockError(f"the inventory of {library} is empty: nothing to export")
    write_validated(tree, out, "pbcore")
    return n
