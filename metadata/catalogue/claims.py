"""Several stations, one catalogue: which station is working on an item.

A claim is one row of the ``claims`` table, keyed by the item. Claiming inserts the row with
``INSERT … ON CONFLICT DO NOTHING``: the database's primary key decides, so when two stations
pick the same item at once exactly one insert lands (PostgreSQL makes the second wait for the
first's commit, SQLite serialises writers) and the other is told who holds it and since when.
A station claiming an item it already holds keeps its claim (and its time).

A claim ends when the station releases it (``headblock inventory unclaim``, the window), when
a take of the item ends at that station (``metadata.collection.after_take``), or when another
station takes it over (``--take-over``): a compare-and-swap on the holder and its time, so two
stations taking over at once still leave one holder. Claims older than STALE_AFTER are shown as
stale (a station that crashed or was switched off keeps its claims until someone acts).

The station's name: ``--station``, else ``station`` in the settings file, else the host name.
"""

from __future__ import annotations

import socket
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from metadata.catalogue.database import _one_line, claims, engine_for, inventory, resolve_url
from metadata.clock import format_minute, utc_now
from metadata.errors import HeadblockError

STALE_AFTER = timedelta(hours=12)
MAX_STATION_CHARS = 64


class ClaimedElsewhere(HeadblockError):
    """The item is held by another station: exit 1, the holder named."""

    exit_status = 1

    def __init__(self, claim: Claim):
        self.claim = claim
        super().__init__(f"{claim.item} is held by station {claim.station} {claim.since_text()}")


@dataclass(frozen=True)
class Claim:
    item: str
    station: str
    claimed_utc: datetime

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utc_now()) - self.claimed_utc

    def stale(self, now: datetime | None = None) -> bool:
        return self.age(now) >= STALE_AFTER

    def since_text(self, now: datetime | None = None) -> str:
        """``since 2026-12-01 10:15 UTC (2 h 5 min ago)``, ``stale`` past STALE_AFTER."""
        minutes = max(int(self.age(now).total_seconds() // 60), 0)
        ago = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
        text = f"since {format_minute(self.claimed_utc)} UTC ({ago} ago)"
        return text + (", stale" if self.stale(now) else "")


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def _claim(row) -> Claim:
    return Claim(row.item, row.station, _aware(row.claimed_utc))


def station_name(given: str | None = None) -> str:
    """``given``, else ``station`` in the settings file, else the host name."""
    name = " ".join((given or "").split())
    if not name:
        try:
            from metadata.settings import config_path

            data = tomllib.loads(config_path().read_text(encoding="utf-8"))
            name = " ".join(str(data.get("station") or "").split())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            name = ""
    name = name or socket.gethostname() or "station"
    if len(name) > MAX_STATION_CHARS:
        raise HeadblockError(f"a station name has at most {MAX_STATION_CHARS} characters")
    return name


def _engine(library: Path | None, url: str | None):
    if library is not None and not Path(library).is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    return engine_for(resolve_url(library, url))


def _check_listed(conn, item: str) -> None:
    if conn.execute(select(inventory.c.item).where(inventory.c.item == item)).first() is None:
        raise HeadblockError(f"{item!r} is not in the inventory (import a list first)")


def _insert_if_free(conn, item: str, station: str, now: datetime) -> bool:
    values = {"item": item, "station": station, "claimed_utc": now}
    if conn.dialect.name in ("postgresql", "sqlite"):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(claims).values(**values).on_conflict_do_nothing(index_elements=["item"])
        return conn.execute(stmt).rowcount == 1
    try:  # another database: the key refuses the second insert, inside a savepoint
        with conn.begin_nested():
            conn.execute(claims.insert().values(**values))
        return True
    except IntegrityError:
        return False


def claim_item(
    library: Path | None,
    item: str,
    station: str | None = None,
    url: str | None = None,
    take_over: bool = False,
) -> tuple[Claim, Claim | None]:
    """Claim ``item`` for ``station``. Returns (the claim now held, the claim taken over or
    None). Raises ClaimedElsewhere when another station holds it and ``take_over`` is not set.
    """
    station = station_name(station)
    eng = _engine(library, url)
    try:
        for _attempt in range(5):  # the holder may release between our insert and our read
            with eng.begin() as conn:
                _check_listed(conn, item)
                now = utc_now()
                if _insert_if_free(conn, item, station, now):
                    return Claim(item, station, now), None
                row = conn.execute(select(claims).where(claims.c.item == item)).first()
                if row is None:
                    continue
                held = _claim(row)
                if held.station == station:
                    return held, None
                if not take_over:
                    raise ClaimedElsewhere(held)
                # compare-and-swap: only if the holder and its time are still those we read
                swapped = conn.execute(
                    update(claims)
                    .where(
                        claims.c.item == item,
                        claims.c.station == row.station,
                        claims.c.claimed_utc == row.claimed_utc,
                    )
                    .values(station=station, claimed_utc=now)
                ).rowcount
                if swapped == 1:
                    return Claim(item, station, now), held
        raise HeadblockError(f"{item}: the claim kept changing hands; try again")
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc


def release_claim(
    library: Path | None,
    item: str,
    station: str | None = None,
    url: str | None = None,
    force: bool = False,
) -> Claim | None:
    """End ``station``'s claim on ``item`` (``force``: whoever holds it). Returns the claim
    ended, None when there was none. Another station's claim without ``force`` is refused."""
    station = station_name(station)
    eng = _engine(library, url)
    try:
        with eng.begin() as conn:
            row = conn.execute(select(claims).where(claims.c.item == item)).first()
            if row is None:
                return None
            held = _claim(row)
            if held.station != station and not force:
                raise ClaimedElsewhere(held)
            conn.execute(
                delete(claims).where(claims.c.item == item, claims.c.station == row.station)
            )
            return held
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc


def claim_of(library: Path | None, item: str, url: str | None = None) -> Claim | None:
    eng = _engine(library, url)
    try:
        with eng.connect() as conn:
            row = conn.execute(select(claims).where(claims.c.item == item)).first()
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc
    return _claim(row) if row is not None else None


def list_claims(library: Path | None, url: str | None = None) -> list[Claim]:
    """Every claim, oldest first (stale ones lead)."""
    eng = _engine(library, url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(select(claims).order_by(claims.c.claimed_utc, claims.c.item))
            return [_claim(r) for r in rows]
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc
