"""What the collection learns when a take ends: the item's carrier inspections reach the new
take's PREMIS at once (not at the next ``inspect`` or ``export``), and this station's claim on
the item ends (metadata.catalogue.claims).

``after_take(take_dir, event)`` is called once at the end of every take, after the catalogue
sync. It never raises: a record it cannot write is a ``record_failed`` line through ``event``
(the take's log), as every other record of the take; the take itself is already whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _no_event(name: str, level: str = "INFO", **fields) -> None:
    return None


def carry_inspection_to_take(take_dir: Path, url: str | None = None) -> list[str]:
    """The item's inspections as PREMIS events on this take; one line per event added."""
    from metadata.collection.inspection import carry_to_take

    return carry_to_take(Path(take_dir), url)


def release_station_claim(take_dir: Path, url: str | None = None):
    """End this station's claim on the take's item; the claim ended, or None. Another station's
    claim is left alone (``ClaimedElsewhere`` raised, for the log to say)."""
    from metadata.catalogue.claims import release_claim

    take_dir = Path(take_dir)
    return release_claim(take_dir.parent.parent, take_dir.parent.name, url=url)


def after_take(
    take_dir: Path, event: Callable[..., None] | None = None, url: str | None = None
) -> list[str]:
    """Both of the above; returns the lines done. Never raises."""
    event = event or _no_event
    done: list[str] = []
    take_dir = Path(take_dir)
    try:
        for line in carry_inspection_to_take(take_dir, url):
            done.append(f"PREMIS {line}")
            event("inspection_event", "INFO", premis=line)
    except Exception as exc:  # a damaged PREMIS, an unreachable catalogue: said, never fatal
        event(
            "record_failed",
            "ERROR",
            record="PREMIS",
            file=f"{take_dir.name}.premis.xml",
            error=f"carrier inspection not added: {type(exc).__name__}: {exc}",
        )
    try:
        ended = release_station_claim(take_dir, url)
        if ended is not None:
            done.append(f"claim of {ended.item} by station {ended.station} ended")
            event("claim_released", "INFO", item=ended.item, station=ended.station)
    except Exception as exc:
        claim = getattr(exc, "claim", None)
        if claim is not None:  # another station holds the item this station just captured
            event(
                "claim_elsewhere",
                "WARN",
                item=claim.item,
                station=claim.station,
                since=claim.claimed_utc.isoformat(),
            )
        else:
            event("catalogue", "WARN", error=f"claim not released: {type(exc).__name__}: {exc}")
    return done
