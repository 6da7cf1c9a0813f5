"""The collection's inventory: importing an item list (CSV or PBCore 2.x), item status, holds.

An import checks every row before it writes anything: each bad row becomes one line naming its
row (CSV: the spreadsheet row, the header being row 1; PBCore: the description document and its
line) and the whole file is refused. A good file is written in one transaction; items already
in the inventory are updated by identifier and the changes are reported, never duplicated.
Items missing from a later list are left alone.

Status: ``listed → inspected → captured → qc_done → reviewed → signed_off → delivered``, or
``on_hold`` with a reason. The take folders say captured / qc_done / reviewed / signed_off (the
furthest take of the item counts); the catalogue alone knows listed, inspected, delivered and a
hold, which overrides everything until released.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from metadata.catalogue.database import (
    _one_line,
    claims,
    engine_for,
    inventory,
    items,
    resolve_url,
)
from metadata.clock import utc_now
from metadata.errors import HeadblockError
from metadata.take.meta import CARRIERS
from metadata.take.naming import TakePaths, item_id_problem, take_number_of

PBCORE_NS = "http://www.pbcore.org/PBCore/PBCoreNamespace.html"
_P = f"{{{PBCORE_NS}}}"
ITEM_SOURCE = "Headblock item"  # pbcoreIdentifier@source of the identifier we write and prefer
# pbcoreAnnotation types the exporter writes that are not columns of the list
RESERVED_ANNOTATIONS = ("Headblock status", "Hold reason")

STATUSES = (
    "listed",
    "inspected",
    "captured",
    "qc_done",
    "reviewed",
    "signed_off",
    "delivered",
    "on_hold",
)
_RANK = {s: i for i, s in enumerate(STATUSES[:-1])}
FIELDS = ("title", "carrier", "collection", "date", "notes")
MAX_PROBLEMS_SHOWN = 20

# normalised header -> field (case, spaces, underscores, hyphens and dots do not count)
HEADER_ALIASES = {
    "identifier": "item",
    "id": "item",
    "item": "item",
    "itemid": "item",
    "itemidentifier": "item",
    "localidentifier": "item",
    "objectid": "item",
    "callnumber": "item",
    "title": "title",
    "itemtitle": "title",
    "name": "title",
    "carrier": "carrier",
    "format": "carrier",
    "carrierformat": "carrier",
    "physicalformat": "carrier",
    "instantiationphysical": "carrier",
    "collection": "collection",
    "collectiontitle": "collection",
    "collectionname": "collection",
    "date": "date",
    "datecreated": "date",
    "recordingdate": "date",
    "notes": "notes",
    "note": "notes",
    "comments": "notes",
    "remarks": "notes",
}

_CARRIER_SPELLINGS = {
    "open_reel": (
        "1/4 inch audio tape",
        "1/4 inch open reel",
        "1/4 inch reel",
        "1/4 inch audio reel",
        "quarter inch audio tape",
        "quarter inch tape",
        "open reel",
        "open reel audio tape",
        "reel to reel",
        "audio reel",
    ),
    "cassette": (
        "audio cassette",
        "audiocassette",
        "cassette",
        "compact cassette",
        "cassette tape",
        "audio cassette tape",
    ),
    "dat": ("r-dat", "digital audio tape"),
    "disc": ("vinyl", "vinyl disc", "lp", "acetate disc", "instantaneous disc", "78 rpm disc"),
    "vhs": ("1/2 inch vhs", "1/2 inch videotape: vhs", "vhs tape", "vhs cassette"),
    "svhs": ("svhs", "super vhs", "1/2 inch videotape: s-vhs"),
    "umatic": (
        "umatic",
        "u-matic sp",
        "3/4 inch u-matic",
        "3/4 inch umatic",
        "3/4 inch videotape",
        "3/4 inch videotape: u-matic",
    ),
    "betacam_sp": ("beta sp", "betasp", "1/2 inch videotape: betacam sp"),
    "betacam": ("1/2 inch videotape: betacam",),
    "hi8": ("hi-8", "8mm videotape: hi8"),
    "": ("unknown", "not known"),
}


def _norm_carrier(text: str) -> str:
    text = text.lower()
    for inch in ('"', "”", "″", "''"):
        text = text.replace(inch, "inch")
    return re.sub(r"[^a-z0-9/:]+", "", text)


def _carrier_table() -> dict[str, str]:
    table: dict[str, str] = {"": ""}  # none given: found at inspection
    for key, (label, physical, _kind) in CARRIERS.items():
        for spelling in (key, label, physical):
            table[_norm_carrier(spelling)] = key
    for key, spellings in _CARRIER_SPELLINGS.items():
        for spelling in spellings:
            table[_norm_carrier(spelling)] = key
    return table


_CARRIER_TABLE = _carrier_table()


def carrier_key(text: str) -> str | None:
    """The CARRIERS key a list's spelling names ("" for none given), or None if unknown."""
    norm = _norm_carrier(text)
    if norm in _CARRIER_TABLE:
        return _CARRIER_TABLE[norm]
    if ":" in norm:  # PBCore's "3/4 inch videotape: U-matic" style
        return _CARRIER_TABLE.get(norm.rsplit(":", 1)[1])
    return None


def known_carriers() -> str:
    return ", ".join(f"{k} ({v[0]})" for k, v in CARRIERS.items())


class InventoryError(HeadblockError):
    """A list refused as a whole; ``problems`` holds one line per bad row."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


@dataclass
class Entry:
    """One item of a list, as read."""

    item: str
    where: str  # "row 12" or "document 3 (line 40)"
    order: int = 0  # the row or document number, to list problems in file order
    values: dict[str, str] = field(default_factory=dict)  # FIELDS present in the source
    extra: dict[str, str] = field(default_factory=dict)  # other columns ("" clears)


@dataclass
class ImportResult:
    source: str
    rows: int
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # item -> what changed
    unchanged: int = 0
    dry_run: bool = False


# ---------------------------------------------------------------------------------------------
# reading a list


def read_list(path: Path) -> list[Entry]:
    """Entries of a CSV or PBCore 2.x file; InventoryError naming every bad row."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HeadblockError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HeadblockError(f"{path} is UTF-16 text: save it as UTF-8 (with or without BOM)")
    if raw.startswith(b"PK\x03\x04"):
        raise HeadblockError(f"{path} is a workbook (.xlsx or .ods): save it as CSV, UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise HeadblockError(f"{path} is empty: no header and no rows")
    if raw.lstrip().startswith(b"<"):
        entries, problems = _read_pbcore(path, raw), []
    else:
        entries, problems = _read_csv(path, raw)
    problems = sorted(problems + _check(entries))  # every row's problem, in file order
    if problems:
        raise _problem_error(path, [text for _, text in problems])
    return entries


def _problem_error(path: Path, problems: list[str]) -> InventoryError:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return InventoryError(
        f"{path}: {len(problems)} problem(s); nothing imported",
        [f"{path.name}: {p}" for p in shown],
    )


def _norm_header(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", text.replace("\ufeff", "").lower())


def _delimiter(text: str) -> str:
    """``;`` or ``,`` (or a tab): whichever the header line holds most of, outside quotes."""
    line = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _bad_bytes(value: str) -> str | None:
    """The first undecodable byte of a value read with surrogateescape, as 0xNN."""
    for ch in value:
        if "\udc80" <= ch <= "\udcff":
            return f"0x{ord(ch) - 0xDC00:02X}"
    return None


def _read_csv(path: Path, raw: bytes) -> tuple[list[Entry], list[tuple[int, str]]]:
    # surrogateescape keeps reading past a stray Latin-1 byte so every such row is named
    text = raw.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    problems: list[tuple[int, str]] = []  # (row, line)
    header: list[str] | None = None
    columns: list[tuple[str, str]] = []  # (field or "", original header) per column
    entries: list[Entry] = []
    row_number = 0
    try:
        for row_number, cells in enumerate(reader, 1):
            if header is None:
                if not any(c.strip() for c in cells):
                    continue
                header = [c.replace("\ufeff", "").strip() for c in cells]
                seen: set[str] = set()
                for i, name in enumerate(header):
                    bad = _bad_bytes(name)
                    if bad:
                        raise HeadblockError(
                            f"{path}: row {row_number}: the header is not UTF-8 text (byte {bad})"
                        )
                    target = HEADER_ALIASES.get(_norm_header(name), "")
                    if target in seen:
                        target = ""  # a second "format" column is kept as a note
                    seen.add(target)
                    columns.append((target, name or f"column {i + 1}"))
                if "item" not in seen:
                    raise HeadblockError(
                        f"{path}: no identifier column in the header "
                        f"({', '.join(header) or 'empty'}); expected one named e.g. 'identifier'"
                    )
                continue
            if not any(c.strip() for c in cells):
                continue
            where = f"row {row_number}"
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                problems.append(
                    (
                        row_number,
                        f"{where}: {len(cells)} fields where the header has {len(columns)} "
                        "(a delimiter inside an unquoted value?)",
                    )
                )
                continue
            entry = Entry(item="", where=where, order=row_number)
            for (target, name), value in zip(columns, cells, strict=False):
                bad = _bad_bytes(value)
                if bad:
                    problems.append(
                        (
                            row_number,
                            f"{where}: column {name!r} is not UTF-8 text (byte {bad}); "
                            "the file mixes encodings: save it as UTF-8",
                        )
                    )
                    break
                value = value.strip()
                if target == "item":
                    entry.item = value
                elif target:
                    entry.values[target] = value
                else:
                    entry.extra[name] = value
            else:
                for target, name in columns[len(cells) :]:  # a short row: the rest are empty
                    if target and target != "item":
                        entry.values[target] = ""
                    elif not target:
                        entry.extra[name] = ""
                entries.append(entry)
    except csv.Error as exc:
        problems.append((row_number + 1, f"row {row_number + 1}: unreadable CSV ({exc})"))
    if header is None:
        raise HeadblockError(f"{path} is empty: no header and no rows")
    if not entries and not problems:
        raise HeadblockError(f"{path} has a header but no rows")
    return entries, problems


def _text(el) -> str:
    return (el.text or "").strip() if el is not None else ""


def _read_pbcore(path: Path, raw: bytes) -> list[Entry]:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise HeadblockError(f"{path} is not well-formed XML: {exc}") from exc
    qname = etree.QName(root)
    if qname.localname in ("PBCoreDescriptionDocument", "PBCoreCollection"):
        raise HeadblockError(
            f"{path} is a PBCore 1.x document (root {qname.localname}); "
            "export it as PBCore 2.x (pbcoreCollection or pbcoreDescriptionDocument)"
        )
    if qname.namespace != PBCORE_NS or qname.localname not in (
        "pbcoreCollection",
        "pbcoreDescriptionDocument",
    ):
        raise HeadblockError(
            f"{path}: the root element is {qname.localname!r}"
            f"{f' in {qname.namespace}' if qname.namespace != PBCORE_NS else ''}; "
            "expected PBCore 2.x pbcoreCollection or pbcoreDescriptionDocument"
        )
    location = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation") or ""
    # some writers put version="2.1" on the root, most only name the XSD in schemaLocation
    declared = root.get("version") or ""
    version = re.match(r"\s*(\d+)(?:\.(\d+))?", declared) or re.search(
        r"pbcore[-_ ]?(\d+)\.(\d+)", location, re.IGNORECASE
    )
    if version and version.group(1) != "2":
        shown = ".".join(g for g in version.groups() if g)
        raise HeadblockError(f"{path} declares PBCore {shown}; this reads PBCore 2.x")
    docs = [root] if qname.localname == "pbcoreDescriptionDocument" else list(root)
    docs = [d for d in docs if d.tag == _P + "pbcoreDescriptionDocument"]
    if not docs:
        raise HeadblockError(f"{path}: the pbcoreCollection holds no pbcoreDescriptionDocument")
    entries = [_pbcore_entry(doc, n) for n, doc in enumerate(docs, 1)]
    whole = (root.get("collectionTitle") or "").strip()  # the collection's own title, if any
    for e in entries:
        e.values["collection"] = e.values["collection"] or whole
    return entries


def _pbcore_entry(doc, number: int) -> Entry:
    idents = doc.findall(_P + "pbcoreIdentifier")
    ours = [i for i in idents if i.get("source") == ITEM_SOURCE]
    ident = _text((ours or idents or [None])[0])
    titles = doc.findall(_P + "pbcoreTitle")
    main = [t for t in titles if (t.get("titleType") or "").lower() in ("", "main", "program")]
    coll = [t for t in titles if (t.get("titleType") or "").lower() == "collection"]
    coll = coll or [t for t in titles if (t.get("titleType") or "").lower() == "series"]
    notes = [
        (d.text or "").strip()
        for d in doc.findall(_P + "pbcoreDescription")
        if (d.text or "").strip()
    ]
    physical = ""
    for inst in doc.findall(_P + "pbcoreInstantiation"):
        el = inst.find(_P + "instantiationPhysical")
        if el is not None and _text(el):
            physical = _text(el)
            break
    extra = {}
    for ann in doc.findall(_P + "pbcoreAnnotation"):
        kind = ann.get("annotationType") or "Annotation"
        if kind not in RESERVED_ANNOTATIONS:
            extra[kind] = (ann.text or "").strip()
    return Entry(
        item=ident,
        where=f"document {number} (line {doc.sourceline})",
        order=number,
        values={
            "title": _text((main or titles or [None])[0]),
            "carrier": physical,
            "collection": _text((coll or [None])[0]),
            "date": _text(doc.find(_P + "pbcoreAssetDate")),
            "notes": "\n\n".join(notes),
        },
        extra=extra,
    )


def _check(entries: list[Entry]) -> list[tuple[int, str]]:
    """Identifier, duplicate and carrier of every entry; carriers become CARRIERS keys."""
    problems = []
    first_seen: dict[str, str] = {}
    for e in entries:
        problem = item_id_problem(e.item)
        if problem:
            problems.append((e.order, f"{e.where}: {problem}"))
            continue
        if e.item in first_seen:
            problems.append(
                (
                    e.order,
                    f"{e.where}: the identifier {e.item!r} is already on {first_seen[e.item]}",
                )
            )
            continue
        first_seen[e.item] = e.where
        if "carrier" in e.values:
            key = carrier_key(e.values["carrier"])
            if key is None:
                problems.append(
                    (
                        e.order,
                        f"{e.where}: unknown carrier {e.values['carrier']!r} "
                        f"(known: {known_carriers()})",
                    )
                )
                continue
            e.values["carrier"] = key
    return problems


# ---------------------------------------------------------------------------------------------
# writing


def _engine(library: Path, url: str | None):
    library = Path(library)
    if not library.is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    return engine_for(resolve_url(library, url))


def _changes(old: dict, e: Entry) -> tuple[dict, list[str]]:
    """The new column values and a line per change (nothing for an unchanged item)."""
    new = {f: e.values[f] for f in FIELDS if f in e.values and e.values[f] != old[f]}
    lines = [f"{f} {old[f]!r} → {new[f]!r}" for f in new]
    extra = json.loads(old["extra"] or "{}")
    merged = dict(extra)
    for k, v in e.extra.items():
        if v:
            merged[k] = v
        else:
            merged.pop(k, None)
    if merged != extra:
        new["extra"] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
        for k in sorted(set(extra) | set(merged)):
            if extra.get(k) != merged.get(k):
                lines.append(f"{k} {extra.get(k, '')!r} → {merged.get(k, '')!r}")
    return new, lines


def import_list(
    library: Path,
    path: Path,
    url: str | None = None,
    dry_run: bool = False,
    progress=None,
) -> ImportResult:
    """Read, check and (unless ``dry_run``) write a list in one transaction."""
    entries = read_list(Path(path))
    eng = _engine(library, url)
    result = ImportResult(source=str(path), rows=len(entries), dry_run=dry_run)
    now = utc_now()
    try:
        with eng.begin() as conn:
            existing = {
                r.item: dict(r._mapping)
                for r in conn.execute(
                    select(inventory.c.item, *[inventory.c[f] for f in FIELDS], inventory.c.extra)
                )
            }
            have_items = set(conn.execute(select(items.c.item)).scalars())
            new_rows, item_rows, updates = [], [], []
            for n, e in enumerate(entries, 1):
                old = existing.get(e.item)
                if old is None:
                    row = {f: e.values.get(f, "") for f in FIELDS}
                    extra = {k: v for k, v in e.extra.items() if v}
                    row.update(
                        item=e.item,
                        extra=json.dumps(extra, ensure_ascii=False, sort_keys=True),
                        status="listed",
                        hold_reason="",
                        hold_by="",
                        source=Path(path).name,
                        imported_utc=now,
                        updated_utc=now,
                    )
                    new_rows.append(row)
                    result.added.append(e.item)
                    if e.item not in have_items:
                        item_rows.append(
                            {
                                "item": e.item,
                                "title": row["title"],
                                "carrier": row["carrier"],
                                "updated_utc": now,
                            }
                        )
                else:
                    new, lines = _changes(old, e)
                    if lines:
                        result.changed[e.item] = lines
                        updates.append({**old, **new, "_item": e.item})
                    else:
                        result.unchanged += 1
                if progress and n % 1000 == 0:
                    progress(n / len(entries), e.item)
            if dry_run:
                return result
            if new_rows:
                conn.execute(inventory.insert(), new_rows)
            if item_rows:
                conn.execute(items.insert(), item_rows)
            if updates:
                values = {f: bindparam(f) for f in (*FIELDS, "extra")}
                stmt = (
                    inventory.update()
                    .where(inventory.c.item == bindparam("_item"))
                    .values(**values, source=Path(path).name, updated_utc=now)
                )
                conn.execute(
                    stmt, [{k: u[k] for k in (*FIELDS, "extra", "_item")} for u in updates]
                )
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}; nothing imported") from exc
    if progress:
        progress(1.0, "done")
    return result


# ---------------------------------------------------------------------------------------------
# status


def take_state(take_dir: Path) -> str | None:
    """What one take folder says of its item: captured, qc_done, reviewed or signed_off.

    One directory listing per take (a dashboard reads thousands): sidecars by name only, the
    sign-off file read for its last decision."""
    parsed = take_number_of(Path(take_dir).name)
    if parsed is None:
        return None
    paths = TakePaths(Path(take_dir), *parsed)
    stem = paths.stem
    try:
        names = set(os.listdir(take_dir))
    except OSError:
        return None
    if f"{stem}.signoff.json" in names:
        try:
            decisions = json.loads(paths.signoff_json.read_text(encoding="utf-8"))
            decisions = decisions.get("decisions") if isinstance(decisions, dict) else decisions
            last = decisions[-1].get("decision") if decisions else ""
        except (OSError, ValueError, AttributeError, IndexError, TypeError):
            last = ""
        # a rejected take was reviewed and decided on; the item waits for a new take
        return "signed_off" if last == "approved" else "reviewed"
    if f"{stem}.review.json" in names:
        return "reviewed"
    if f"{stem}.qc.json" in names:
        return "qc_done"
    if f"{stem}.wav" in names or f"{stem}.mkv" in names:
        return "captured"
    return None


def item_take_dirs(library: Path, item: str) -> list[Path]:
    out = []
    try:
        with os.scandir(Path(library) / item) as entries:
            for child in entries:
                parsed = take_number_of(child.name)
                if parsed and parsed[0] == item and child.is_dir():
                    out.append((parsed[1], Path(child.path)))
    except OSError:  # no folder: no takes
        return []
    return [p for _, p in sorted(out)]


def derived_state(library: Path, item: str) -> tuple[str | None, int]:
    """The furthest state of the item's takes, and how many takes it has."""
    best, dirs = None, item_take_dirs(library, item)
    for d in dirs:
        state = take_state(d)
        if state and (best is None or _RANK[state] > _RANK[best]):
            best = state
    return best, len(dirs)


def status_of(row: dict, taken: str | None) -> str:
    if row.get("hold_reason"):
        return "on_hold"
    stored = row.get("status") or "listed"
    if stored == "delivered":
        return stored
    return taken or stored


def list_items(
    library: Path,
    url: str | None = None,
    status: str | None = None,
    only: Iterable[str] | None = None,
) -> list[dict]:
    """Inventory rows (``extra`` as a dict) with ``status`` and ``takes``, by identifier."""
    if status and status not in STATUSES:
        raise HeadblockError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    library = Path(library)
    eng = _engine(library, url)
    q = select(inventory).order_by(inventory.c.item)
    wanted = set(only) if only is not None else None
    try:
        with eng.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
            held = {c.item: c for c in conn.execute(select(claims))}
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc
    for r in rows:  # which station is working on it (metadata.catalogue.claims)
        c = held.get(r["item"])
        r["claimed_by"] = c.station if c is not None else ""
        r["claimed_utc"] = (
            (c.claimed_utc if c.claimed_utc.tzinfo else c.claimed_utc.replace(tzinfo=UTC))
            if c is not None
            else None
        )
    if wanted is not None:
        missing = sorted(wanted - {r["item"] for r in rows})
        if missing:
            raise HeadblockError(f"not in the inventory of {library}: {', '.join(missing)}")
        rows = [r for r in rows if r["item"] in wanted]
    with_takes = {p.name for p in library.iterdir() if p.is_dir()}
    out = []
    for r in rows:
        taken, n = derived_state(library, r["item"]) if r["item"] in with_takes else (None, 0)
        r["status"] = status_of(r, taken)
        r["takes"] = n
        r["extra"] = json.loads(r["extra"] or "{}")
        if status is None or r["status"] == status:
            out.append(r)
    return out


def _stored_row(conn, item: str) -> dict:
    row = conn.execute(select(inventory).where(inventory.c.item == item)).first()
    if row is None:
        raise HeadblockError(f"{item!r} is not in the inventory (import a list first)")
    return dict(row._mapping)


def hold(library: Path, item: str, reason: str, by: str = "", url: str | None = None) -> dict:
    reason = " ".join(reason.split())
    if not reason:
        raise HeadblockError("a hold needs a reason (--reason TEXT)")
    eng = _engine(library, url)
    with eng.begin() as conn:
        row = _stored_row(conn, item)
        conn.execute(
            inventory.update()
            .where(inventory.c.item == item)
            .values(hold_reason=reason, hold_by=by, hold_utc=utc_now(), updated_utc=utc_now())
        )
    return {**row, "hold_reason": reason, "hold_by": by}


def release(library: Path, item: str, url: str | None = None) -> str:
    """Lift a hold; returns the status the item is back to."""
    eng = _engine(library, url)
    with eng.begin() as conn:
        row = _stored_row(conn, item)
        if not row["hold_reason"]:
            raise HeadblockError(f"{item} is not on hold")
        conn.execute(
            inventory.update()
            .where(inventory.c.item == item)
            .values(hold_reason="", hold_by="", hold_utc=None, updated_utc=utc_now())
        )
    row["hold_reason"] = ""
    return status_of(row, derived_state(library, item)[0])


def set_stored_status(conn, item: str, status: str) -> None:
    """Move the catalogue-held part of the status (listed → inspected, → delivered)."""
    conn.execute(
        inventory.update()
        .where(inventory.c.item == item)
        .values(status=status, updated_utc=utc_now())
    )


def as_json_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        d = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
        out.append(d)
    return out
