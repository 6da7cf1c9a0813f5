"""Whole-file MD5 fixity: streaming hashes and ``md5sum -c`` sidecars (``HEX  NAME``)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.files import write_atomic
from metadata.progress import ProgressFn

BLOCK_BYTES = 4 << 20  # large reads: hashing runs at disk speed, hashlib releases the GIL
_LINE_RE = re.compile(r"^(?P<hex>[0-9a-fA-F]{32}) (?P<mode>[ *])(?P<name>.+)$")


def file_md5(path: str | os.PathLike, progress: ProgressFn | None = None) -> str:
    """Hex MD5 of a whole file, read in large blocks; ``progress(fraction, message)``."""
    path = Path(path)
    h = hashlib.md5()
    try:
        total = path.stat().st_size
        done = 0
        with open(path, "rb") as f:
            while True:
                block = f.read(BLOCK_BYTES)
                if not block:
                    break
                h.update(block)
                done += len(block)
                if progress:
                    progress(done / total if total else 1.0, path.name)
    except FileNotFoundError as exc:
        raise HeadblockError(f"{path} does not exist") from exc
    except OSError as exc:
        raise HeadblockError(f"cannot read {path}: {exc.strerror}") from exc
    if progress and total == 0:
        progress(1.0, path.name)
    return h.hexdigest()


def md5_path_for(master: str | os.PathLike) -> Path:
    """``ITEM_tNN.wav`` -> ``ITEM_tNN.wav.md5``."""
    master = Path(master)
    return master.with_name(master.name + ".md5")


def write_md5_file(master: str | os.PathLike, hexdigest: str) -> Path:
    """Write ``MASTER.md5`` beside the master in ``md5sum -c`` form with the bare file name."""
    master = Path(master)
    if not re.fullmatch(r"[0-9a-fA-F]{32}", hexdigest or ""):
        raise HeadblockError(f"not an MD5 digest: {hexdigest!r}")
    if "\n" in master.name or "\\" in master.name:
        raise HeadblockError(f"file name {master.name!r} cannot be written in md5sum format")
    out = md5_path_for(master)
    return write_atomic(out, f"{hexdigest.lower()}  {master.name}\n")


def read_md5_file(md5_path: str | os.PathLike) -> list[tuple[str, str]]:
    """(hex, name) pairs of an ``md5sum`` file; HeadblockError if it is not one."""
    md5_path = Path(md5_path)
    try:
        text = md5_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise HeadblockError(f"{md5_path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise HeadblockError(f"cannot read {md5_path}: {exc}") from exc
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE_RE.match(line)
        if not match:
            raise HeadblockError(f"{md5_path} line {number} is not in md5sum format")
        entries.append((match.group("hex").lower(), match.group("name")))
    if not entries:
        raise HeadblockError(f"{md5_path} lists no checksum")
    return entries


def verify_md5_file(
    md5_path: str | os.PathLike, progress: ProgressFn | None = None
) -> tuple[bool, str]:
    """Re-hash every file an ``.md5`` lists (names relative to its folder).

    Returns (ok, message); a missing or changed file is a failure, not an exception.
    A malformed ``.md5`` raises HeadblockError.
    """
    md5_path = Path(md5_path)
    entries = read_md5_file(md5_path)
    problems = []
    for expected, name in entries:
        target = md5_path.parent / name
        if not target.is_file():
            problems.append(f"{name} is missing")
            continue
        actual = file_md5(target, progress)
        if actual != expected:
            problems.append(f"{name} MD5 {actual} != recorded {expected}")
    if problems:
        return False, "; ".join(problems)
    names = ", ".join(name for _, name in entries)
    return True, f"{names} MD5 {entries[0][0]} matches" if len(entries) == 1 else f"{names} match"
