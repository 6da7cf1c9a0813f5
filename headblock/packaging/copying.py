"""Copy (or hard-link) a file and hash it in the same read.

Masters run to many gigabytes: each is read once, and every digest a package needs (MD5 for
the take's sidecar and Archivematica, SHA-256 and SHA-512 for a bag) is taken from that read.
The digests are split over two threads (hashlib releases the GIL on large blocks), so three
of them cost little more than the slowest one on a two-core station.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from metadata.errors import HeadblockError

BLOCK_BYTES = 8 << 20
# Measured on the station (MB/s, one core): md5 ~730, sha256 ~1700 (SHA-NI), sha512 ~820.
_COST = {"md5": 1 / 730, "sha1": 1 / 1800, "sha256": 1 / 1700, "sha512": 1 / 820}


@dataclass
class CopiedFile:
    source: Path
    target: Path
    size_bytes: int
    digests: dict[str, str] = field(default_factory=dict)
    linked: bool = False  # a hard link to the source, not a copy


def same_file_system(source: Path, target_dir: Path) -> bool:
    try:
        return os.stat(source).st_dev == os.stat(target_dir).st_dev
    except OSError:
        return False


def _lanes(algorithms: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Two groups of algorithms of about equal cost (longest first, greedy)."""
    a: list[str] = []
    b: list[str] = []
    for alg in sorted(algorithms, key=lambda x: -_COST.get(x, 1 / 800)):
        cost_a = sum(_COST.get(x, 1 / 800) for x in a)
        cost_b = sum(_COST.get(x, 1 / 800) for x in b)
        (a if cost_a <= cost_b else b).append(alg)
    return a, b


def _update_all(hashers, block) -> None:
    for h in hashers:
        h.update(block)


def copy_hashed(
    source: Path,
    target: Path,
    algorithms: tuple[str, ...],
    link: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> CopiedFile:
    """Copy ``source`` to ``target`` (a new file), or hard-link it when ``link``; either way
    read it once and return its digests. ``on_bytes(n)`` is called as blocks go by.

    A hard link that the file system refuses (another device, no link support) falls back to a
    copy. The copy is flushed to disk before returning: a package is renamed into place only
    when its files are on the disk.
    """
    source, target = Path(source), Path(target)
    linked = False
    if link:
        try:
            os.link(source, target)
            linked = True
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise HeadblockError(f"cannot link {source} to {target}: {exc.strerror}") from exc
    lane_a, lane_b = _lanes(algorithms)
    hashers_a = [hashlib.new(a) for a in lane_a]
    hashers_b = [hashlib.new(a) for a in lane_b]
    size = 0
    pool = ThreadPoolExecutor(max_workers=1) if hashers_b else None
    try:
        with open(target if linked else source, "rb") as src:
            dst = None if linked else open(target, "xb")  # noqa: SIM115 - closed below
            try:
                while block := src.read(BLOCK_BYTES):
                    pending = pool.submit(_update_all, hashers_b, block) if pool else None
                    _update_all(hashers_a, block)
                    if dst is not None:
                        dst.write(block)
                    if pending is not None:
                        pending.result()
                    size += len(block)
                    if on_bytes:
                        on_bytes(len(block))
                if dst is not None:
                    dst.flush()
                    os.fsync(dst.fileno())
            finally:
                if dst is not None:
                    dst.close()
    except FileNotFoundError as exc:
        raise HeadblockError(f"{exc.filename} does not exist") from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise HeadblockError(f"the disk of {target.parent} is full") from exc
        raise HeadblockError(f"cannot copy {source.name}: {exc.strerror}") from exc
    finally:
        if pool:
            pool.shutdown()
    digests = {
        a: h.hexdigest() for a, h in zip(lane_a + lane_b, hashers_a + hashers_b, strict=True)
    }
    return CopiedFile(source, target, size, {a: digests[a] for a in algorithms}, linked)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
