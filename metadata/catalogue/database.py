"""The library's catalogue: items, takes and their state, review notes and decisions.

The take folder is the source of truth; the catalogue is an index of it that any station can
rebuild. SQLite inside the library by default; any SQLAlchemy URL (a lab points every station
at one PostgreSQL server: ``postgresql+psycopg://user@host/db``).

URL, first found: the ``url`` argument (``--url``), ``HEADBLOCK_CATALOGUE_URL``, the settings
file (``catalogue_url`` or ``[catalogue] url`` in metadata.settings' TOML file),
else ``sqlite:///LIBRARY/catalogue.sqlite``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from metadata.clock import parse_utc
from metadata.errors import HeadblockError
from metadata.take.naming import iter_take_dirs, paths_for_take_dir
from metadata.verdicts import worst_first

log = logging.getLogger(__name__)

STATES = ("captured", "qc_done", "in_review", "signed_off", "rejected", "delivered")
AWAITING_STATES = ("qc_done", "in_review")

md = MetaData()

items = Table(
    "items",
    md,
    Column("item", String(64), primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("carrier", Text, nullable=False, default=""),
    Column("updated_utc", DateTime(timezone=True), nullable=False),
)

takes = Table(
    "takes",
    md,
    Column("identifier", String(80), primary_key=True),  # ITEM_tNN
    Column("item", String(64), ForeignKey("items.item"), nullable=False, index=True),
    Column("take_number", Integer, nullable=False),
    Column("library", Text, nullable=False),
    Column("take_dir", Text, nullable=False),
    Column("kind", String(8), nullable=False, default=""),
    Column("master", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False, index=True),
    Column("verdict", String(8), nullable=False, default=""),
    Column("duration_s", Float),
    Column("events", Integer, nullable=False, default=0),
    Column("qc_json", Text, nullable=False, default=""),
    Column("report", Text, nullable=False, default=""),
    Column("captured_utc", DateTime(timezone=True)),
    Column("qc_utc", DateTime(timezone=True)),
    Column("decided_utc", DateTime(timezone=True)),
    Column("updated_utc", DateTime(timezone=True), nullable=False),
    # the after-take integrity job (capture.integrity): pending | done | failed, "" never run
    Column("integrity", String(8), nullable=False, default="", server_default=""),
    UniqueConstraint("item", "take_number", name="uq_take_item_number"),
)

review_notes = Table(
    "review_notes",
    md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("take", String(80), ForeignKey("takes.identifier", ondelete="CASCADE"), nullable=False),
    Column("event_key", Text, nullable=False),
    Column("mark", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("reviewer", Text, nullable=False),
    Column("at_utc", Text, nullable=False),
    UniqueConstraint("take", "event_key", "at_utc", "reviewer", "mark", name="uq_review_note"),
)

decisions = Table(
    "decisions",
    md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("take", String(80), ForeignKey("takes.identifier", ondelete="CASCADE"), nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("at_utc", Text, nullable=False),
    Column("qc_sha256", String(64), nullable=False, default=""),
    Column("report_sha256", String(64), nullable=False, default=""),
    UniqueConstraint("take", "at_utc", "decided_by", name="uq_decision"),
)

# When each file of a take was last checked for fixity: one row per take and file (the master,
# or a derivative with its own .md5), read from the take's PREMIS ``fixity check`` events so a
# rebuild reproduces it. A table of its own: an older catalogue gains it on first use, where a
# new column of ``takes`` would need a migration.
fixity = Table(
    "fixity",
    md,
    Column("take", String(80), ForeignKey("takes.identifier", ondelete="CASCADE"), nullable=False),
    Column("file", String(255), nullable=False),
    Column("checked_utc", DateTime(timezone=True), nullable=False),  # the last check
    Column("outcome", String(16), nullable=False),  # of the last check: success | failure
    Column("verified_utc", DateTime(timezone=True)),  # the last successful check
    Column("checks", Integer, nullable=False, default=0),
    UniqueConstraint("take", "file", name="uq_fixity_file"),
)


packages = Table(
    "packages",
    md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("take", String(80), ForeignKey("takes.identifier", ondelete="CASCADE"), nullable=False),
    Column("item", String(64), nullable=False, index=True),
    Column("layout", String(16), nullable=False),
    Column("package", Text, nullable=False),  # the package folder where it was written
    Column("at_utc", Text, nullable=False),
    Column("approved", Integer, nullable=False, default=1),
    Column("reason", Text, nullable=False, default=""),  # why an unapproved take went in
    UniqueConstraint("take", "package", "at_utc", name="uq_package"),
)


# ---------------------------------------------------------------------------------------------
# inventory and carrier inspection (metadata.catalogue.inventory)
# New tables rather than new columns of ``items``: create_all adds missing tables to an existing
# catalogue but never columns, and a take's sync rewrites ``items`` from the take's own metadata.

inventory = Table(
    "inventory",
    md,
    Column("item", String(64), primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("carrier", Text, nullable=False, default=""),  # a key of metadata.take.meta.CARRIERS
    Column("collection", Text, nullable=False, default="", index=True),
    Column("date", Text, nullable=False, default=""),  # as the list gives it
    Column("notes", Text, nullable=False, default=""),
    Column("extra", Text, nullable=False, default="{}"),  # JSON: the list's other columns
    Column("status", String(16), nullable=False, default="listed", index=True),  # stored part
    Column("hold_reason", Text, nullable=False, default=""),  # non-empty: on hold
    Column("hold_by", Text, nullable=False, default=""),
    Column("hold_utc", DateTime(timezone=True)),
    Column("source", Text, nullable=False, default=""),  # the file it was last imported from
    Column("imported_utc", DateTime(timezone=True), nullable=False),
    Column("updated_utc", DateTime(timezone=True), nullable=False),
)

inspections = Table(
    "inspections",
    md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item", String(64), ForeignKey("inventory.item"), nullable=False, index=True),
    Column("at_utc", DateTime(timezone=True), nullable=False),
    Column("by", Text, nullable=False, default=""),
    Column("conditions", Text, nullable=False, default="[]"),  # JSON list of {key, detail}
    Column("treatments", Text, nullable=False, default="[]"),  # JSON list of structured steps
    Column("playable", String(3), nullable=False, default=""),  # "yes", "no" or "" (not said)
    Column("note", Text, nullable=False, default=""),
)
# Which station is working on an item (metadata.catalogue.claims): one row per claimed item.
# The primary key makes a claim atomic on SQLite and PostgreSQL alike (an INSERT that finds
# the row taken does nothing). A table of its own, so older catalogues gain it on first use.
claims = Table(
    "claims",
    md,
    Column("item", String(64), primary_key=True),
    Column("station", Text, nullable=False),
    Column("claimed_utc", DateTime(timezone=True), nullable=False),
)
derivatives = Table(
    "derivatives",
    md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("take", String(80), ForeignKey("takes.identifier", ondelete="CASCADE"), nullable=False),
    Column("profile", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("format", String(8), nullable=False),  # "mp4", "mp3", "m4a"
    Column("size_bytes", BigInteger, nullable=False, default=0),
    Column("md5", String(32), nullable=False, default=""),  # from its .md5 sidecar
    Column("created_utc", DateTime(timezone=True)),
    UniqueConstraint("take", "profile", "format", name="uq_derivative"),
)
DERIVATIVE_FORMATS = ("mp4", "mp3", "m4a")


# ---------------------------------------------------------------------------------------------
# connection


def _settings_url() -> str | None:
    """``catalogue_url`` (or ``[catalogue] url``) in the station's settings file."""
    try:
        from metadata.settings import config_path

        data = tomllib.loads(config_path().read_text(encoding="utf-8"))
    except (ImportError, OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    url = data.get("catalogue_url") or (data.get("catalogue") or {}).get("url")
    return str(url) if url else None


def resolve_url(library: Path | None, url: str | None = None) -> str:
    url = url or os.environ.get("HEADBLOCK_CATALOGUE_URL") or _settings_url()
    if url:
        return url
    if library is None:
        raise HeadblockError("no catalogue: give a library folder or a database URL")
    return f"sqlite:///{Path(library).resolve() / 'catalogue.sqlite'}"


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")  # several processes may sync at once
    cur.close()


def engine_for(url: str) -> Engine:
    """One engine per URL per process; the schema is created on first use."""
    with _engines_lock:
        eng = _engines.get(url)
        if eng is not None:
            return eng
        try:
            if url.startswith("sqlite"):
                eng = create_engine(url, connect_args={"timeout": 30})
                event.listen(eng, "connect", _sqlite_pragmas)
            else:
                eng = create_engine(url, pool_pre_ping=True)
            for attempt in range(3):
                try:  # two stations creating the schema at once: the loser finds it made
                    md.create_all(eng, checkfirst=True)
                    _add_missing_columns(eng)
                    break
                except SQLAlchemyError:
                    if attempt == 2:
                        raise
        except ModuleNotFoundError as exc:
            raise HeadblockError(f"the catalogue URL {url!r} needs a driver: {exc.name}") from exc
        except SQLAlchemyError as exc:
            raise HeadblockError(f"cannot open the catalogue {url}: {_one_line(exc)}") from exc
        except Exception as exc:  # malformed URL
            raise HeadblockError(f"cannot open the catalogue {url!r}: {exc}") from exc
        _engines[url] = eng
        return eng


def _add_missing_columns(eng: Engine) -> None:
    """Columns added to a table after a catalogue was made (``takes.integrity``): an older
    catalogue gains them, with their server default, when it is first opened."""
    found = inspect(eng)
    for table in md.sorted_tables:
        if not found.has_table(table.name):
            continue
        have = {c["name"] for c in found.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=eng.dialect)
            default = column.server_default.arg if column.server_default is not None else None
            clause = f" NOT NULL DEFAULT '{default}'" if isinstance(default, str) else ""
            with eng.begin() as conn:
                conn.execute(
                    text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{clause}')
                )


def dispose_all() -> None:
    with _engines_lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


def _one_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


# ---------------------------------------------------------------------------------------------
# reading a take folder


@dataclass
class TakeFacts:
    """What a take folder says about itself (the source of truth)."""

    identifier: str
    item: str
    take_number: int
    library: str
    take_dir: str
    kind: str
    master: str
    state: str
    verdict: str
    duration_s: float | None
    events: int
    qc_json: str
    report: str
    captured_utc: datetime | None
    qc_utc: datetime | None
    decided_utc: datetime | None
    title: str
    carrier: str
    notes: list[dict]
    decisions: list[dict]
    packages: list[dict]
    fixity: list[dict] = field(default_factory=list)
    derivatives: list[dict] = field(default_factory=list)
    integrity: str = ""  # pending | done | failed; "" never checked after the take


_PREMIS_NS = "{http://www.loc.gov/premis/v3}"


def read_fixity_checks(premis_path: Path, stem: str) -> list[dict]:
    """Every ``fixity check`` event of a take's PREMIS record, oldest first, as
    ``{"file", "at_utc", "outcome"}``. The file is the first word of the event's detail that
    names a file of the take (``ITEM_t01.access.mp4``), else the master (``headblock verify``
    writes events about the master alone). Read with lxml here: the catalogue sits beside the
    formats layer, not above it."""
    from lxml import etree

    try:
        root = etree.parse(str(premis_path)).getroot()
    except (OSError, etree.XMLSyntaxError):
        return []
    out = []
    for ev in root.iter(_PREMIS_NS + "event"):
        if (ev.findtext(_PREMIS_NS + "eventType") or "").strip() != "fixity check":
            continue
        at = parse_utc(ev.findtext(_PREMIS_NS + "eventDateTime"))
        if at is None:
            continue
        detail = ev.findtext(f"{_PREMIS_NS}eventDetailInformation/{_PREMIS_NS}eventDetail")
        named = ""
        for word in (detail or "").split():
            word = word.strip(":;,()")
            if word.startswith(stem + "."):
                named = word
                break
        outcome = ""
        for el in ev.iter(_PREMIS_NS + "eventOutcome"):
            outcome = (el.text or "").strip()
            break
        out.append({"file": named, "at_utc": at, "outcome": outcome})
    out.sort(key=lambda c: c["at_utc"])
    return out


def _fixity_rows(checks: list[dict], master_name: str) -> list[dict]:
    """The last check (and the last successful one) per file."""
    rows: dict[str, dict] = {}
    for c in checks:
        name = c["file"] or master_name
        row = rows.setdefault(name, {"file": name, "verified_utc": None, "checks": 0})
        row["checked_utc"], row["outcome"] = c["at_utc"], c["outcome"] or "unknown"
        row["checks"] += 1
        if c["outcome"] == "success":
            row["verified_utc"] = c["at_utc"]
    return list(rows.values())


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _list_of(data, key: str) -> list[dict]:
    if isinstance(data, dict):
        data = data.get(key)
    return [d for d in (data or []) if isinstance(d, dict)] if isinstance(data, list) else []


def _md5_listed(sidecar: Path, name: str) -> str:
    """The MD5 an ``md5sum`` sidecar gives for ``name``; "" when it gives none."""
    try:
        lines = sidecar.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    for line in lines:
        digest, _, listed = line.partition(" ")
        if listed[1:] == name and len(digest) == 32:
            return digest.lower()
    return ""


def _derivatives_of(paths) -> list[dict]:
    """Access copies beside the master: ``ITEM_tNN.<profile>.mp4|mp3|m4a`` (docs/take.md)."""
    found = []
    for fmt in DERIVATIVE_FORMATS:
        for path in sorted(paths.directory.glob(f"{paths.stem}.*.{fmt}")):
            profile = path.name[len(paths.stem) + 1 : -len(fmt) - 1]
            if not profile or "." in profile or not path.is_file():
                continue
            md5 = _md5_listed(path.with_name(path.name + ".md5"), path.name)
            found.append(
                {
                    "profile": profile,
                    "path": str(path.resolve()),
                    "format": fmt,
                    "size_bytes": path.stat().st_size,
                    "md5": md5,
                    "created_utc": _mtime(path),
                }
            )
    return found


def read_take_folder(take_dir: Path) -> TakeFacts:
    paths = paths_for_take_dir(take_dir)
    take_dir = paths.directory.resolve()
    master = paths.master_if_present()
    kind = {".wav": "audio", ".mkv": "video"}.get(master.suffix, "") if master else ""

    title = carrier = ""
    captured = None
    try:
        from metadata.take.log import read_log

        for ev in read_log(paths.log):
            if ev.event == "take_start":
                kind = kind or str(ev.fields.get("kind") or "")
                meta = ev.fields.get("meta") or {}
                if isinstance(meta, dict):
                    title = str(meta.get("title") or "")
                    carrier = str(meta.get("carrier") or "")
                captured = parse_utc(ev.time)
                break
    except Exception as exc:  # a damaged log never stops indexing
        log.warning("catalogue: cannot read %s: %s", paths.log, exc)
    if captured is None and master is not None:
        captured = _mtime(master)

    qc = _read_json(paths.qc_json) if paths.qc_json.exists() else None
    verdict, duration, n_events, qc_utc = "", None, 0, None
    if isinstance(qc, dict):
        verdict = str(qc.get("verdict") or "")
        kind = kind or str(qc.get("kind") or "")
        try:
            duration = float(qc["duration_s"]) if qc.get("duration_s") is not None else None
        except (TypeError, ValueError):
            duration = None
        n_events = len(qc.get("events") or [])
        qc_utc = _mtime(paths.qc_json)

    notes = _list_of(_read_json(paths.review_json), "marks") if paths.review_json.exists() else []
    decs = (
        _list_of(_read_json(paths.signoff_json), "decisions") if paths.signoff_json.exists() else []
    )
    delivered = (
        _list_of(_read_json(paths.packages_json), "packages")
        if paths.packages_json.exists()
        else []
    )
    if delivered:
        state = "delivered"  # handed to a repository: the end of the take's road here
    elif decs:
        last = decs[-1].get("decision")
        state = "signed_off" if last == "approved" else "rejected"
    elif notes:
        state = "in_review"
    elif verdict:
        state = "qc_done"
    else:
        state = "captured"
    report = next((p for p in (paths.qc_html, paths.qc_pdf) if p.exists()), None)
    checks = read_fixity_checks(paths.premis, paths.stem) if paths.premis.exists() else []
    integrity = (qc.get("integrity") if isinstance(qc, dict) else None) or _logged_integrity(paths)
    return TakeFacts(
        identifier=paths.stem,
        item=paths.item,
        take_number=paths.take_number,
        library=str(take_dir.parent.parent),
        take_dir=str(take_dir),
        kind=kind,
        master=str(master) if master else "",
        state=state,
        verdict=verdict,
        duration_s=duration,
        events=n_events,
        qc_json=str(paths.qc_json) if paths.qc_json.exists() else "",
        report=str(report) if report else "",
        captured_utc=captured,
        qc_utc=qc_utc,
        decided_utc=parse_utc(decs[-1].get("at_utc")) if decs else None,
        title=title,
        carrier=carrier,
        notes=notes,
        decisions=decs,
        packages=delivered,
        fixity=_fixity_rows(checks, master.name if master else paths.stem),
        derivatives=_derivatives_of(paths),
        integrity=str(integrity.get("state") or "") if isinstance(integrity, dict) else "",
    )


def _logged_integrity(paths) -> dict | None:
    """The last ``integrity`` line of the take's log (a take whose QC has not run)."""
    try:
        from metadata.take.log import read_log

        found = [ev.fields for ev in read_log(paths.log) if ev.event == "integrity"]
    except Exception:  # a damaged log never stops indexing
        return None
    return found[-1] if found else None


# ---------------------------------------------------------------------------------------------
# writing


def _upsert(conn, table: Table, values: dict, keys: tuple[str, ...]) -> None:
    """INSERT … ON CONFLICT DO UPDATE where the dialect has it, else update-then-insert."""
    name = conn.dialect.name
    update = {k: v for k, v in values.items() if k not in keys}
    if name in ("sqlite", "postgresql"):
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        stmt = dialect_insert(table).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update))
        return
    where = [table.c[k] == values[k] for k in keys]
    if conn.execute(table.update().where(*where).values(**update)).rowcount == 0:
        conn.execute(table.insert().values(**values))


def _write_facts(conn, f: TakeFacts) -> None:
    now = datetime.now(UTC)
    _upsert(
        conn,
        items,
        {"item": f.item, "title": f.title, "carrier": f.carrier, "updated_utc": now},
        ("item",),
    )
    _upsert(
        conn,
        takes,
        {
            "identifier": f.identifier,
            "item": f.item,
            "take_number": f.take_number,
            "library": f.library,
            "take_dir": f.take_dir,
            "kind": f.kind,
            "master": f.master,
            "state": f.state,
            "verdict": f.verdict,
            "duration_s": f.duration_s,
            "events": f.events,
            "qc_json": f.qc_json,
            "report": f.report,
            "captured_utc": f.captured_utc,
            "qc_utc": f.qc_utc,
            "decided_utc": f.decided_utc,
            "updated_utc": now,
            "integrity": f.integrity,
        },
        ("identifier",),
    )
    # The folder's history files are append-only, so replacing the rows mirrors them exactly.
    conn.execute(delete(review_notes).where(review_notes.c.take == f.identifier))
    seen = set()
    for n in f.notes:
        row = {
            "take": f.identifier,
            "event_key": str(n.get("event_key") or ""),
            "mark": str(n.get("mark") or ""),
            "note": str(n.get("note") or ""),
            "reviewer": str(n.get("reviewer") or ""),
            "at_utc": str(n.get("at_utc") or ""),
        }
        key = (row["event_key"], row["at_utc"], row["reviewer"], row["mark"])
        if key not in seen:
            seen.add(key)
            conn.execute(review_notes.insert().values(**row))
    conn.execute(delete(decisions).where(decisions.c.take == f.identifier))
    seen = set()
    for d in f.decisions:
        row = {
            "take": f.identifier,
            "decided_by": str(d.get("by") or ""),
            "decision": str(d.get("decision") or ""),
            "comment": str(d.get("comment") or ""),
            "at_utc": str(d.get("at_utc") or ""),
            "qc_sha256": str((d.get("sha256") or {}).get("qc_json") or ""),
            "report_sha256": str((d.get("sha256") or {}).get("report_html") or ""),
        }
        key = (row["at_utc"], row["decided_by"])
        if key not in seen:
            seen.add(key)
            conn.execute(decisions.insert().values(**row))
    conn.execute(delete(packages).where(packages.c.take == f.identifier))
    seen = set()
    for p in f.packages:
        row = {
            "take": f.identifier,
            "item": f.item,
            "layout": str(p.get("layout") or ""),
            "package": str(p.get("package") or ""),
            "at_utc": str(p.get("at_utc") or ""),
            "approved": 1 if p.get("approved", True) else 0,
            "reason": str(p.get("reason") or ""),
        }
        key = (row["package"], row["at_utc"])
        if key not in seen:
            seen.add(key)
            conn.execute(packages.insert().values(**row))
    conn.execute(delete(fixity).where(fixity.c.take == f.identifier))
    for row in f.fixity:
        conn.execute(fixity.insert().values(take=f.identifier, **row))
    conn.execute(delete(derivatives).where(derivatives.c.take == f.identifier))
    for d in f.derivatives:
        conn.execute(derivatives.insert().values(take=f.identifier, **d))


def _sync(eng: Engine, facts: TakeFacts, attempts: int = 3) -> None:
    for attempt in range(attempts):
        try:
            with eng.begin() as conn:
                _write_facts(conn, facts)
            return
        except SQLAlchemyError:
            # Two stations inserting the same new item at once: the loser retries as an update.
            if attempt == attempts - 1:
                raise


def sync_take(take_dir: Path, url: str | None = None) -> bool:
    """Bring the catalogue in line with one take folder. Never raises: logs and returns False."""
    try:
        take_dir = Path(take_dir)
        facts = read_take_folder(take_dir)
        eng = engine_for(resolve_url(Path(facts.library), url))
        _sync(eng, facts)
        return True
    except Exception as exc:
        log.warning("catalogue: could not index %s: %s", take_dir, exc)
        return False


def rebuild(library: Path, url: str | None = None, progress=None) -> int:
    """Index every take folder of ``library``; drop rows of this library's takes that are gone.

    Returns the number of takes indexed. Raises HeadblockError for a missing library or an
    unreachable database (a command, unlike ``sync_take``, should say so).
    """
    library = Path(library)
    if not library.is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    eng = engine_for(resolve_url(library, url))
    lib_str = str(library.resolve())
    dirs = list(iter_take_dirs(library))
    present = set()
    for i, take_dir in enumerate(dirs):
        try:
            facts = read_take_folder(take_dir)
        except HeadblockError as exc:
            log.warning("catalogue: skipping %s: %s", take_dir, exc)
            continue
        try:
            _sync(eng, facts)
        except SQLAlchemyError as exc:
            raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc
        present.add(facts.identifier)
        if progress:
            progress((i + 1) / len(dirs), facts.identifier)
    with eng.begin() as conn:
        rows = conn.execute(select(takes.c.identifier).where(takes.c.library == lib_str)).scalars()
        gone = [r for r in rows if r not in present]
        for ident in gone:
            conn.execute(delete(review_notes).where(review_notes.c.take == ident))
            conn.execute(delete(decisions).where(decisions.c.take == ident))
            conn.execute(delete(packages).where(packages.c.take == ident))
            conn.execute(delete(fixity).where(fixity.c.take == ident))
            conn.execute(delete(derivatives).where(derivatives.c.take == ident))
            conn.execute(delete(takes).where(takes.c.identifier == ident))
    return len(present)


# ---------------------------------------------------------------------------------------------
# queries


def list_takes(
    library: Path | None = None,
    url: str | None = None,
    states: tuple[str, ...] | None = None,
) -> list[dict]:
    """Takes as dicts (columns of ``takes`` plus ``title``), newest capture first."""
    eng = engine_for(resolve_url(library, url))
    q = select(takes, items.c.title, items.c.carrier).join(items, items.c.item == takes.c.item)
    if library is not None:
        q = q.where(takes.c.library == str(Path(library).resolve()))
    if states:
        q = q.where(takes.c.state.in_(states))
    q = q.order_by(takes.c.item, takes.c.take_number)
    try:
        with eng.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc


def awaiting_signoff(
    library: Path | None = None, url: str | None = None, order: str = "verdict"
) -> list[dict]:
    """Takes whose QC is done and that have no decision yet (the supervisor's queue).

    ``order``: "verdict" (fail first, then oldest capture) or "date" (oldest capture first).
    """
    rows = list_takes(library, url, AWAITING_STATES)

    def when(r):
        dt = r.get("captured_utc")
        return dt.replace(tzinfo=None).timestamp() if isinstance(dt, datetime) else 0.0

    if order == "date":
        rows.sort(key=lambda r: (when(r), r["identifier"]))
    else:
        rows.sort(key=lambda r: (worst_first(r["verdict"]), when(r), r["identifier"]))
    return rows


def list_packages(
    library: Path | None = None, url: str | None = None, item: str | None = None
) -> list[dict]:
    """Packages made of the library's takes (one row per take and package), oldest first."""
    eng = engine_for(resolve_url(library, url))
    q = select(packages).join(takes, takes.c.identifier == packages.c.take)
    if library is not None:
        q = q.where(takes.c.library == str(Path(library).resolve()))
    if item is not None:
        q = q.where(packages.c.item == item)
    q = q.order_by(packages.c.at_utc, packages.c.take)
    try:
        with eng.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc


def list_derivatives(
    identifier: str | None = None, library: Path | None = None, url: str | None = None
) -> list[dict]:
    """Access copies as dicts (columns of ``derivatives``), of one take or of a library."""
    eng = engine_for(resolve_url(library, url))
    q = select(derivatives).join(takes, takes.c.identifier == derivatives.c.take)
    if identifier is not None:
        q = q.where(derivatives.c.take == identifier)
    if library is not None:
        q = q.where(takes.c.library == str(Path(library).resolve()))
    q = q.order_by(derivatives.c.take, derivatives.c.profile, derivatives.c.format)
    try:
        with eng.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc


def fixity_state(library: Path | None = None, url: str | None = None) -> list[dict]:
    """Every take's files with when each was last checked and verified (the audit's state),
    least recently verified first; a take never checked has one row with no dates."""
    eng = engine_for(resolve_url(library, url))
    q = select(
        takes.c.identifier,
        takes.c.master,
        fixity.c.file,
        fixity.c.checked_utc,
        fixity.c.outcome,
        fixity.c.verified_utc,
        fixity.c.checks,
    ).outerjoin(fixity, fixity.c.take == takes.c.identifier)
    if library is not None:
        q = q.where(takes.c.library == str(Path(library).resolve()))
    try:
        with eng.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc

    def when(r):
        dt = r.get("verified_utc")
        return dt.replace(tzinfo=None).timestamp() if isinstance(dt, datetime) else 0.0

    rows.sort(key=lambda r: (when(r), r["identifier"], r["file"] or ""))
    return rows


def take_history(identifier: str, library: Path | None = None, url: str | None = None) -> dict:
    eng = engine_for(resolve_url(library, url))
    with eng.connect() as conn:
        notes = conn.execute(
            select(review_notes)
            .where(review_notes.c.take == identifier)
            .order_by(review_notes.c.id)
        )
        decs = conn.execute(
            select(decisions).where(decisions.c.take == identifier).order_by(decisions.c.id)
        )
        return {
            "notes": [dict(r._mapping) for r in notes],
            "decisions": [dict(r._mapping) for r in decs],
        }


# ---------------------------------------------------------------------------------------------
# command line
