"""Carrier inspection: the condition of a tape or disc before playback and what was done to it.

Conditions come from a fixed vocabulary (CONDITIONS; anything else goes in the note), each
optionally with a detail after a colon (``"splices: 3 in the first 50 m"``). Treatments are
structured: ``"baked 54C 8h"`` (temperature in °C or °F, duration in h, min or days),
``"cleaned <how>"``, ``"repaired <what>"``, ``"rewound <how>"``, ``"rehoused <what>"``.
Each inspection is a row of the catalogue (history kept, never overwritten) and a PREMIS
``metadata modification`` event on every take of the item; ``carry_to_takes`` is idempotent
and also gives takes captured after the inspection their events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from metadata.catalogue.database import _one_line, inspections
from metadata.catalogue.inventory import _engine, _stored_row, item_take_dirs, set_stored_status
from metadata.clock import utc_iso, utc_now
from metadata.errors import HeadblockError
from metadata.formats.premis import PremisEvent, add_event, person_agent, read_events
from metadata.take.naming import paths_for_take_dir

# key -> (label, other spellings)
CONDITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "none": ("No problem found", ("ok", "good", "no problem", "no problems")),
    "mould": ("Mould", ("mold", "mildew", "fungus")),
    "binder_hydrolysis": (
        "Binder hydrolysis (sticky shed)",
        ("sticky shed", "sticky shed syndrome", "sss", "hydrolysis"),
    ),
    "vinegar_syndrome": ("Vinegar syndrome (acetate)", ("vinegar", "acetate decay")),
    "physical_damage": (
        "Physical damage",
        ("damage", "damaged", "creased", "stretched", "torn", "edge damage", "broken"),
    ),
    "pack_problems": (
        "Pack problems",
        ("pack", "poor pack", "popped strands", "cinching", "spoking", "windowing"),
    ),
    "splices": ("Splices", ("splice", "splicing")),
    "label_missing": ("Missing label", ("no label", "missing label", "unlabelled", "unlabeled")),
    "label_wrong": ("Wrong label", ("wrong label", "mislabelled", "mislabeled", "label mismatch")),
}
TREATMENTS = {
    "baked": ("bake", "baked", "baking"),
    "cleaned": ("clean", "cleaned", "cleaning"),
    "repaired": ("repair", "repaired", "spliced", "resplice", "respliced"),
    "rewound": ("rewind", "rewound", "retensioned", "exercised"),
    "rehoused": ("rehouse", "rehoused"),
}
BAKE_RANGE_C = (30.0, 70.0)  # outside this a typo is likelier than a bake (usually 50–57 °C)
BAKE_MAX_H = 14 * 24.0


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[-_]+", " ", text.lower()).split())


_CONDITION_TABLE = {
    _norm(s): key for key, (label, others) in CONDITIONS.items() for s in (key, label, *others)
}
_TREATMENT_TABLE = {s: kind for kind, spellings in TREATMENTS.items() for s in spellings}


def parse_condition(text: str) -> dict:
    """``"mould"`` or ``"mould: spots on the flange"`` → {key, label, detail}."""
    name, _, detail = text.partition(":")
    key = _CONDITION_TABLE.get(_norm(name))
    if key is None:
        raise HeadblockError(
            f"unknown condition {name.strip()!r} (one of {', '.join(CONDITIONS)}; "
            "anything else goes in --note)"
        )
    return {"key": key, "label": CONDITIONS[key][0], "detail": " ".join(detail.split())}


_TEMP = re.compile(r"(\d+(?:[.,]\d+)?)\s*°?\s*([CF])\b", re.IGNORECASE)
_DURATION = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(h|hrs?|hours?|min|mins|minutes?|d|days?)\b", re.IGNORECASE
)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def parse_treatment(text: str) -> dict:
    """``"baked 54C 8h"`` → {kind: baked, temperature_c: 54.0, duration_h: 8.0, detail: ""}."""
    words = text.strip().split(None, 1)
    if not words:
        raise HeadblockError("a treatment is empty (e.g. 'baked 54C 8h', 'cleaned')")
    kind = _TREATMENT_TABLE.get(words[0].lower().rstrip(":,"))
    if kind is None:
        raise HeadblockError(
            f"unknown treatment {words[0]!r} in {text!r} (one of {', '.join(TREATMENTS)}, "
            "e.g. 'baked 54C 8h', 'cleaned pellon wipe')"
        )
    rest = words[1] if len(words) > 1 else ""
    out: dict = {"kind": kind}
    if kind == "baked":
        temp, dur = _TEMP.search(rest), _DURATION.search(rest)
        if not temp or not dur:
            raise HeadblockError(
                f"a bake needs its temperature and duration, e.g. 'baked 54C 8h' (got {text!r})"
            )
        celsius = _number(temp.group(1))
        if temp.group(2).upper() == "F":
            celsius = (celsius - 32.0) * 5.0 / 9.0
        unit = dur.group(2).lower()
        hours = _number(dur.group(1))
        hours = hours / 60.0 if unit.startswith("m") else hours * 24.0 if unit[0] == "d" else hours
        lo, hi = BAKE_RANGE_C
        if not lo <= celsius <= hi:
            raise HeadblockError(
                f"a bake at {celsius:.0f} °C is outside {lo:.0f}–{hi:.0f} °C ({text!r})"
            )
        if not 0 < hours <= BAKE_MAX_H:
            raise HeadblockError(f"a bake of {hours:g} h is not plausible ({text!r})")
        out["temperature_c"] = round(celsius, 1)
        out["duration_h"] = round(hours, 2)
        rest = _DURATION.sub("", _TEMP.sub("", rest, count=1), count=1)
        rest = re.sub(r"\b(at|for)\b", " ", rest, flags=re.IGNORECASE).strip(" ,;")
    out["detail"] = " ".join(rest.split())
    return out


def treatment_text(t: dict) -> str:
    if t["kind"] == "baked":
        base = f"baked at {t['temperature_c']:g} °C for {t['duration_h']:g} h"
    else:
        base = t["kind"]
    return f"{base} ({t['detail']})" if t.get("detail") else base


def condition_text(c: dict) -> str:
    return f"{c['label']}: {c['detail']}" if c.get("detail") else c["label"]


@dataclass
class Inspection:
    item: str
    at_utc: datetime
    by: str = ""
    conditions: list[dict] = field(default_factory=list)
    treatments: list[dict] = field(default_factory=list)
    playable: str = ""  # "yes", "no" or ""
    note: str = ""
    id: int = 0

    def summary(self) -> str:
        parts = [
            "condition: "
            + ("; ".join(condition_text(c) for c in self.conditions) or "not recorded")
        ]
        if self.treatments:
            parts.append("treatment: " + "; ".join(treatment_text(t) for t in self.treatments))
        if self.playable:
            parts.append(f"playable: {self.playable}")
        if self.note:
            parts.append(f"note: {self.note}")
        return ", ".join(parts)

    @classmethod
    def from_row(cls, r) -> Inspection:
        return cls(
            item=r["item"],
            at_utc=r["at_utc"],
            by=r["by"],
            conditions=json.loads(r["conditions"] or "[]"),
            treatments=json.loads(r["treatments"] or "[]"),
            playable=r["playable"],
            note=r["note"],
            id=r["id"],
        )


def make_inspection(
    item: str,
    conditions: list[str],
    treatments: list[str],
    playable: str | None,
    note: str = "",
    by: str = "",
) -> Inspection:
    """Parse every part first: a bad word refuses the whole inspection."""
    parsed = [parse_condition(c) for c in conditions]
    keys = [c["key"] for c in parsed]
    if "none" in keys and len(keys) > 1:
        raise HeadblockError("'none' (no problem found) cannot go with other conditions")
    if len(set(keys)) != len(keys):
        raise HeadblockError("a condition is given twice: put both details in one")
    if playable not in (None, "", "yes", "no"):
        raise HeadblockError(f"--playable is yes or no, not {playable!r}")
    insp = Inspection(
        item=item,
        at_utc=utc_now().replace(microsecond=0),
        by=" ".join(by.split()),
        conditions=parsed,
        treatments=[parse_treatment(t) for t in treatments],
        playable=playable or "",
        note=note.strip(),
    )
    if not (insp.conditions or insp.treatments or insp.playable or insp.note):
        raise HeadblockError("an inspection needs a --condition, --treatment, --playable or --note")
    return insp


def record_inspection(library: Path, insp: Inspection, url: str | None = None) -> Inspection:
    """Store it (a listed item becomes inspected) and add it to the item's takes' PREMIS."""
    eng = _engine(library, url)
    try:
        with eng.begin() as conn:
            row = _stored_row(conn, insp.item)
            result = conn.execute(
                inspections.insert().values(
                    item=insp.item,
                    at_utc=insp.at_utc,
                    by=insp.by,
                    conditions=json.dumps(insp.conditions, ensure_ascii=False),
                    treatments=json.dumps(insp.treatments, ensure_ascii=False),
                    playable=insp.playable,
                    note=insp.note,
                )
            )
            insp.id = int(result.inserted_primary_key[0])
            if row["status"] == "listed":
                set_stored_status(conn, insp.item, "inspected")
    except SQLAlchemyError as exc:
        raise HeadblockError(f"catalogue {eng.url}: {_one_line(exc)}") from exc
    return insp


def history(library: Path, items: list[str] | None = None, url: str | None = None) -> dict:
    """item -> its inspections, oldest first."""
    eng = _engine(library, url)
    q = select(inspections).order_by(inspections.c.item, inspections.c.id)
    if items is not None:
        q = q.where(inspections.c.item.in_(items))
    out: dict[str, list[Inspection]] = {}
    with eng.connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.item, []).append(Inspection.from_row(r._mapping))
    return out


def _marker(insp: Inspection) -> str:
    return f"catalogue inspection {insp.id} of {insp.item}"


def premis_event(insp: Inspection) -> PremisEvent:
    return PremisEvent(
        "metadata modification",
        insp.at_utc,
        f"inspection of the source carrier before transfer ({_marker(insp)}, "
        f"recorded {utc_iso(insp.at_utc)})",
        "success",
        insp.summary(),
    )


def carry_to_takes(library: Path, item: str, url: str | None = None) -> list[str]:
    """Add each of the item's inspections to every take's PREMIS that lacks it (idempotent).

    Returns one line per event added. Takes without a PREMIS document are skipped.
    """
    added = []
    insps = history(library, [item], url).get(item, [])
    if not insps:
        return added
    for take_dir in item_take_dirs(library, item):
        added += _carry(insps, take_dir)
    return added


def carry_to_take(take_dir: Path, url: str | None = None) -> list[str]:
    """The item's inspections added to one take's PREMIS where missing (idempotent): what a
    take captured after an inspection gets at its end. The library is the take's grandparent."""
    take_dir = Path(take_dir)
    item = paths_for_take_dir(take_dir).item
    insps = history(take_dir.parent.parent, [item], url).get(item, [])
    return _carry(insps, take_dir) if insps else []


def _carry(insps: list[Inspection], take_dir: Path) -> list[str]:
    added = []
    premis = paths_for_take_dir(take_dir).premis
    if not premis.is_file():
        return added
    present = " ".join(e.detail for e in read_events(premis))
    for insp in insps:
        if f"({_marker(insp)}," in present:
            continue
        agent = person_agent(insp.by, note="carrier inspection") if insp.by else None
        ev = add_event(premis, premis_event(insp), agent)
        added.append(f"{premis.name}: event {ev.identifier} (inspection {insp.id})")
    return added
