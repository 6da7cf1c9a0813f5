"""Walking PATHs (take folders, items, libraries, any folder of media files) into the files a
batch works on, in a stable order, each once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.take.naming import take_number_of

# Files the station writes beside a master or a loose file: never media of their own.
SIDECAR_ENDINGS = (
    ".md5",
    ".framemd5",
    ".pbcore.xml",
    ".premis.xml",
    ".qc.json",
    ".qc.html",
    ".qc.pdf",
    ".log",
    ".envelope.npz",
    ".vstats.npz",
    ".review.json",
    ".signoff.json",
)
REPORT_PREFIX = "headblock-batch-"  # the batch's own report and journal


def is_take_dir(path: Path) -> bool:
    parsed = take_number_of(path.name)
    return parsed is not None and path.parent.name == parsed[0]


def take_dir_of(file: Path) -> Path | None:
    """The take folder a file belongs to (``ITEM/ITEM_tNN/ITEM_tNN.*``), or None."""
    parent = file.parent
    if is_take_dir(parent) and file.name.startswith(parent.name + "."):
        return parent
    return None


def is_sidecar(name: str) -> bool:
    return (
        name.startswith(".")
        or name.startswith(REPORT_PREFIX)
        or name.startswith("catalogue.sqlite")
        or name.endswith(SIDECAR_ENDINGS)
    )


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (FIFOs and other non-regular entries too: they are reported,
    not silently left out), hidden folders excepted, sorted."""
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            yield Path(here) / name


def size_of(path: Path) -> int:
    try:
        st = path.stat()
    except OSError:
        return 0
    return st.st_size if path.is_file() else 0


def existing_paths(paths: list[Path]) -> list[Path]:
    if not paths:
        raise HeadblockError("give at least one PATH")
    for p in paths:
        if not p.exists():
            raise HeadblockError(f"{p} does not exist")
    return [p.resolve() for p in paths]
