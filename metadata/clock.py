"""UTC time as the station writes it: seconds in XML records, milliseconds in logs and JSON."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_iso(dt: datetime) -> str:
    """``2026-12-01T10:15:17Z``; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.isoformat(timespec="seconds") + "Z"


def utc_stamp(dt: datetime | None = None) -> str:
    """``2026-12-01T10:15:17.042Z`` (now when not given); a naive datetime is local time."""
    dt = (dt or utc_now()).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_utc(text: str | None) -> datetime | None:
    """A time as written by ``utc_iso``/``utc_stamp`` (or any ISO 8601); None when unreadable.
    A time without a zone is taken to be UTC."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def format_minute(dt: datetime | str | None) -> str:
    """``2026-12-01 10:15`` in UTC, for lists and tables; text is shown as it is."""
    if not dt:
        return ""
    if isinstance(dt, datetime):
        return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return str(dt)
