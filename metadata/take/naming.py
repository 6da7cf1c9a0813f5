"""Catalogue identifiers and the take folder layout (``LIBRARY/ITEM/ITEM_tNN/``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from metadata.errors import HeadblockError

ITEM_ID_MAX = 64
_ITEM_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_TAKE_RE = re.compile(r"^(?P<item>.+)_t(?P<num>\d{2,})$")


def item_id_problem(item: str) -> str | None:
    """Why ``item`` is not a valid identifier, or None when it is."""
    if not item:
        return "the item identifier is empty"
    if len(item) > ITEM_ID_MAX:
        return f"the item identifier is {len(item)} characters long (at most {ITEM_ID_MAX})"
    if item[0] in ".-":
        return f"the item identifier {item!r} may not start with '{item[0]}'"
    if not _ITEM_RE.match(item):
        bad = sorted({c for c in item if not (c.isascii() and (c.isalnum() or c in "._-"))})
        shown = " ".join(repr(c) for c in bad)
        return f"the item identifier {item!r} has characters outside letters, digits, '.', '_', '-': {shown}"
    return None


def validate_item_id(item: str) -> str:
    """Return ``item`` unchanged if valid, else raise HeadblockError with the reason."""
    problem = item_id_problem(item)
    if problem:
        raise HeadblockError(problem)
    return item


@dataclass(frozen=True)
class TakePaths:
    """Every file of one take, named as docs/take.md lays them out."""

    directory: Path
    item: str
    take_number: int

    @property
    def stem(self) -> str:
        return f"{self.item}_t{self.take_number:02d}"

    def file(self, suffix: str) -> Path:
        """``suffix`` includes its dot(s), e.g. ``.wav`` or ``.qc.json``."""
        return self.directory / f"{self.stem}{suffix}"

    def master(self, kind: str) -> Path:
        return self.file(".wav" if kind == "audio" else ".mkv")

    @property
    def log(self) -> Path:
        return self.file(".log")

    @property
    def pbcore(self) -> Path:
        return self.file(".pbcore.xml")

    @property
    def premis(self) -> Path:
        return self.file(".premis.xml")

    @property
    def framemd5(self) -> Path:
        return self.file(".framemd5")

    @property
    def qc_json(self) -> Path:
        return self.file(".qc.json")

    @property
    def qc_html(self) -> Path:
        return self.file(".qc.html")

    @property
    def qc_pdf(self) -> Path:
        return self.file(".qc.pdf")

    @property
    def review_json(self) -> Path:
        return self.file(".review.json")

    @property
    def signoff_json(self) -> Path:
        return self.file(".signoff.json")

    @property
    def packages_json(self) -> Path:
        """The packages made of this take (``headblock package``), appended."""
        return self.file(".packages.json")

    def master_if_present(self) -> Path | None:
        for kind in ("audio", "video"):
            p = self.master(kind)
            if p.exists():
                return p
        return None


def take_number_of(name: str) -> tuple[str, int] | None:
    """(item, number) of a take folder or file stem ``ITEM_tNN``, or None."""
    match = _TAKE_RE.match(name)
    if not match:
        return None
    return match.group("item"), int(match.group("num"))


def paths_for_take_dir(take_dir: Path) -> TakePaths:
    """TakePaths of an existing take folder; HeadblockError if it is not one."""
    take_dir = Path(take_dir)
    parsed = take_number_of(take_dir.name)
    if not take_dir.is_dir() or parsed is None:
        raise HeadblockError(f"{take_dir} is not a take folder (expected LIBRARY/ITEM/ITEM_tNN)")
    item, num = parsed
    return TakePaths(take_dir, item, num)


def paths_for_master(master: Path) -> TakePaths:
    """TakePaths for a master file; outside a take folder the sidecars go beside the file."""
    master = Path(master)
    parsed = take_number_of(master.stem)
    if parsed:
        return TakePaths(master.parent, parsed[0], parsed[1])
    # Not named as a take: sidecars use the file's own stem, kept as the "item" with take 0.
    return _LooseTakePaths(master.parent, master.stem, 0)


@dataclass(frozen=True)
class _LooseTakePaths(TakePaths):
    @property
    def stem(self) -> str:
        return self.item


def existing_takes(library: Path, item: str) -> list[int]:
    item_dir = Path(library) / item
    if not item_dir.is_dir():
        return []
    nums = []
    for child in item_dir.iterdir():
        parsed = take_number_of(child.name)
        if parsed and parsed[0] == item and child.is_dir():
            nums.append(parsed[1])
    return sorted(nums)


def next_take_number(library: Path, item: str) -> int:
    takes = existing_takes(library, item)
    return (takes[-1] + 1) if takes else 1


def new_take_dir(library: Path, item: str) -> TakePaths:
    """Create the next take folder atomically; earlier takes are never reused or overwritten."""
    validate_item_id(item)
    library = Path(library)
    if not library.exists():
        try:
            library.mkdir(parents=True)
        except OSError as exc:
            raise HeadblockError(
                f"cannot create the library folder {library}: {exc.strerror}"
            ) from exc
    if not library.is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    if not os.access(library, os.W_OK | os.X_OK):
        raise HeadblockError(f"the library folder {library} is not writable")
    item_dir = library / item
    try:
        item_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise HeadblockError(f"cannot create {item_dir}: {exc.strerror}") from exc
    num = next_take_number(library, item)
    while True:
        paths = TakePaths(item_dir / f"{item}_t{num:02d}", item, num)
        try:
            paths.directory.mkdir()  # fails if another process took this number first
            return paths
        except FileExistsError:
            num += 1
        except OSError as exc:
            raise HeadblockError(f"cannot create {paths.directory}: {exc.strerror}") from exc


def iter_take_dirs(library: Path):
    """Every take folder in a library, sorted by item then take number."""
    library = Path(library)
    if not library.is_dir():
        return
    for item_dir in sorted(p for p in library.iterdir() if p.is_dir()):
        for take_dir in sorted(item_dir.iterdir()):
            parsed = take_number_of(take_dir.name)
            if take_dir.is_dir() and parsed and parsed[0] == item_dir.name:
                yield take_dir
