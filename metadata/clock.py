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
