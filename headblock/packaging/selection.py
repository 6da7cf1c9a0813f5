"""Which takes go into packages: from take folders, item folders or whole libraries.

Only approved takes (the last sign-off decision is ``approved``) unless the caller gives a
reason to include the others; that reason travels in the package's metadata. Takes are
grouped by item: one package per item.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.review.signoff import read_decisions
from metadata.take.log import read_log
from metadata.take.meta import TakeMeta
from metadata.take.naming import TakePaths, iter_take_dirs, paths_for_take_dir, take_number_of

MEDIA_SUFFIXES = (".wav", ".mkv", ".mp4", ".mp3")  # masters and access copies: hard-linked


@dataclass
class SelectedTake:
    paths: TakePaths
    master: Path
    decision: dict | None  # the last sign-off decision, None when there is none

    @property
    def approved(self) -> bool:
        return bool(self.decision) and self.decision.get("decision") == "approved"

    @property
    def identifier(self) -> str:
        return self.paths.stem

    def _take_start(self):
        try:
            return next((e for e in read_log(self.paths.log) if e.event == "take_start"), None)
        except (OSError, ValueError):
            return None

    def meta(self) -> TakeMeta:
        """The item's description as the take recorded it (the capture log's ``take_start``)."""
        ev = self._take_start()
        if ev is not None and isinstance(ev.fields.get("meta"), dict):
            return TakeMeta.from_dict(ev.fields["meta"])
        return TakeMeta()

    def captured_date(self) -> str:
        """``YYYY-MM-DD`` (UTC) of the capture, "" when the log does not say."""
        ev = self._take_start()
        return ev.time[:10] if ev is not None else ""

    def files(self) -> list[Path]:
        """The take folder's files that belong in a package, sorted by name.

        Hidden and lock files are a writer's leftovers; ``.packages.json`` is this package's
        own record, written after it.
        """
        out = []
        for p in sorted(self.paths.directory.iterdir()):
            name = p.name
            if name.startswith(".") or name.endswith((".lock", ".tmp")) or not p.is_file():
                continue
            if name == self.paths.packages_json.name:
                continue
            out.append(p)
        return out


@dataclass
class ItemSelection:
    item: str
    library: Path
    takes: list[SelectedTake] = field(default_factory=list)

    @property
    def unapproved(self) -> list[SelectedTake]:
        return [t for t in self.takes if not t.approved]


def _is_item_dir(path: Path) -> bool:
    return any(
        child.is_dir() and (take_number_of(child.name) or ("", 0))[0] == path.name
        for child in path.iterdir()
    )


def _take_dirs_of(path: Path) -> tuple[list[Path], str]:
    """(take folders, what PATH is: "take" | "item" | "library")."""
    parsed = take_number_of(path.name)
    if parsed and parsed[0] == path.parent.name:
        return [path], "take"
    if _is_item_dir(path):
        return sorted(
            c
            for c in path.iterdir()
            if c.is_dir() and (take_number_of(c.name) or ("", 0))[0] == path.name
        ), "item"
    dirs = list(iter_take_dirs(path))
    if dirs:
        return dirs, "library"
    raise HeadblockError(
        f"{path} is not a take folder, an item folder or a library (LIBRARY/ITEM/ITEM_tNN)"
    )


def _last_decision(take_dir: Path) -> dict | None:
    decisions = read_decisions(take_dir)
    return decisions[-1] if decisions else None


def _why_not(take: SelectedTake) -> str:
    if take.decision:
        return f"its last decision is {take.decision.get('decision')!r}"
    return "it has no sign-off"


def select(
    paths: list[str], include_unapproved: str | None = None, left_out: list[str] | None = None
) -> list[ItemSelection]:
    """Items to package, each with its takes, in a stable order; ``left_out`` (when given)
    receives a line for each take passed over as unapproved.

    A take named on its own, or an item, with no approved take is refused (HeadblockError,
    exit 2) unless ``include_unapproved`` gives the reason; across a whole library, items with
    no approved take are left out (they are still in QC or review), and a library with none at
    all is refused.
    """
    reason = (include_unapproved or "").strip()
    if include_unapproved is not None and not reason:
        raise HeadblockError("--include-unapproved needs a reason")
    items: dict[tuple[Path, str], ItemSelection] = {}
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            raise HeadblockError(
                f"{raw} is not a folder" if p.exists() else f"{raw} does not exist"
            )
        p = Path(os.path.realpath(p))
        take_dirs, kind = _take_dirs_of(p)
        picked = []
        for take_dir in take_dirs:
            if take_dir in seen:
                continue
            paths_ = paths_for_take_dir(take_dir)
            master = paths_.master_if_present()
            if master is None:
                if kind == "library":
                    continue
                raise HeadblockError(f"{paths_.stem} has no master (.wav or .mkv)")
            take = SelectedTake(paths_, master, _last_decision(take_dir))
            if not take.approved and not reason:
                if kind == "take":
                    raise HeadblockError(
                        f"{take.identifier} is not approved ({_why_not(take)}); "
                        "--include-unapproved REASON packages it anyway"
                    )
                if left_out is not None:
                    left_out.append(f"{take.identifier}: not approved ({_why_not(take)})")
                continue
            picked.append(take)
            seen.add(take_dir)
        if not picked:
            if kind == "item":
                raise HeadblockError(
                    f"{p.name} has no approved take; --include-unapproved REASON packages "
                    "its takes anyway"
                )
            if kind == "library":
                raise HeadblockError(f"the library {p} has no approved take")
            continue
        for take in picked:
            library = take.paths.directory.parent.parent
            key = (library, take.paths.item)
            items.setdefault(key, ItemSelection(take.paths.item, library)).takes.append(take)
    out = sorted(items.values(), key=lambda s: (str(s.library), s.item))
    for sel in out:
        sel.takes.sort(key=lambda t: t.paths.take_number)
    return out


def organization_for(given: str | None, selections: list[ItemSelection]) -> str:
    """The archive a package names: ``given``, else the station's settings, else the
    originator the takes recorded; "" when none says."""
    if (given or "").strip():
        return given.strip()
    from metadata.settings import load_settings

    org = load_settings().organization.strip()
    if org:
        return org
    for sel in selections:
        for take in sel.takes:
            if take.meta().originator.strip():
                return take.meta().originator.strip()
    return ""
