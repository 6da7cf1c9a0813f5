"""Write one package per item: plan, check room, copy beside the target, validate, rename.

A package is written into ``OUT/.ITEM.partial`` and renamed to ``OUT/ITEM`` only once every
file is on the disk and the package validates, so a folder named for an item is always a
finished package. A run that was interrupted leaves the ``.partial`` folder behind; the next
run removes it and writes the package again. A finished package already holding the same
takes is left as it is (and its records completed if the interrupted run had not written
them); one holding other takes is refused, since a package is never rewritten in place.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from headblock.packaging.archivematica import ArchivematicaLayout
from headblock.packaging.bagit_writer import BagitLayout
from headblock.packaging.copying import copy_hashed, fsync_dir, same_file_system
from headblock.packaging.layout import Layout, PackageInfo, PlannedFile
from headblock.packaging.records import is_recorded, record_package
from headblock.packaging.selection import MEDIA_SUFFIXES, ItemSelection
from metadata.errors import HeadblockError
from metadata.formats.checksums import read_md5_file
from metadata.progress import ProgressFn
from metadata.review.signoff import verify_signoff
from metadata.take.record import software_string

LAYOUTS: dict[str, Callable[[], Layout]] = {
    "bagit": BagitLayout,
    "archivematica": ArchivematicaLayout,
}
# Room kept free beyond the files themselves: manifests, metadata, the file system's own needs.
SPARE_BYTES = 64 << 20


@dataclass
class PackageResult:
    item: str
    path: Path
    status: str  # "written" | "exists" | "refused"
    takes: list[str] = field(default_factory=list)
    files: int = 0
    bytes_total: int = 0
    bytes_linked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    selection: ItemSelection
    final: Path
    partial: Path
    files: list[PlannedFile]
    exists: bool = False
    problems: list[str] = field(default_factory=list)

    def bytes_to_write(self, link_ok: bool) -> int:
        if self.exists or self.problems:
            return 0
        return sum(f.source.stat().st_size for f in self.files if not (link_ok and f.media))


def get_layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise HeadblockError(f"unknown layout {name!r}: use {' or '.join(LAYOUTS)}")
    return LAYOUTS[name]()


def _expected_md5s(files: list) -> dict[str, str]:
    """name -> MD5 from every ``.md5`` sidecar of the take folder."""
    out = {}
    for f in files:
        if f.name.endswith(".md5"):
            try:
                for digest, name in read_md5_file(f):
                    out[name] = digest
            except HeadblockError:
                continue  # a damaged sidecar is caught below as a master without one
    return out


def _plan(selection: ItemSelection, out: Path, layout: Layout) -> _Plan:
    plan = _Plan(selection, out / selection.item, out / f".{selection.item}.partial", [])
    for take in selection.takes:
        files = take.files()
        expected = _expected_md5s(files)
        if take.master.name not in expected:
            plan.problems.append(
                f"{take.identifier}: no readable {take.master.name}.md5 to verify the master against"
            )
        for problem in verify_signoff(take.paths.directory) if take.decision else []:
            plan.problems.append(f"{take.identifier}: {problem}")
        for f in files:
            plan.files.append(
                PlannedFile(
                    take,
                    f,
                    layout.place(take, f),
                    expected.get(f.name),
                    f.suffix.lower() in MEDIA_SUFFIXES,
                )
            )
    if plan.final.exists():
        held = layout.takes_in(plan.final)
        wanted = {t.identifier for t in selection.takes}
        if held != wanted:
            raise HeadblockError(
                f"{plan.final} exists and holds {', '.join(sorted(held)) or 'no take'}, not "
                f"{', '.join(sorted(wanted))}; move it away or choose another --out"
            )
        plan.exists = True
    return plan


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _check_out(out: Path, selections: list[ItemSelection]) -> None:
    real = Path(os.path.realpath(out))
    for sel in selections:
        lib = sel.library.resolve()
        if real == lib or real.is_relative_to(lib):
            raise HeadblockError(
                f"--out {out} is inside the library {lib}; write packages elsewhere"
            )
    if out.exists() and not out.is_dir():
        raise HeadblockError(f"--out {out} is not a folder")
    items = [sel.item for sel in selections]
    twice = sorted({i for i in items if items.count(i) > 1})
    if twice:
        raise HeadblockError(
            f"item {twice[0]} comes from more than one library; package them into different --out"
        )


def plan_packages(
    selections: list[ItemSelection],
    out: Path,
    layout_name: str,
    organization: str = "",
    copy: bool = False,
) -> tuple[Layout, Path, list[_Plan]]:
    """The checks made before anything is written, and what each package will hold: raises
    HeadblockError for an unknown layout, an output folder inside a library, a finished
    package holding other takes, a bag with no organization or a target without room for all
    of ``selections`` together."""
    layout = get_layout(layout_name)
    out = Path(os.path.abspath(out))
    _check_out(out, selections)
    if layout.name == "bagit" and not organization:
        raise HeadblockError(
            "a bag names its Source-Organization: give --organization or set `organization` "
            "in the station's settings"
        )
    plans = [_plan(sel, out, layout) for sel in selections]

    base = _existing_parent(out)
    masters = [f.source for p in plans for f in p.files if f.media]
    link_ok = not copy and all(same_file_system(m, base) for m in masters)
    needed = sum(p.bytes_to_write(link_ok) for p in plans)
    needed += SPARE_BYTES if needed or any(not p.exists and not p.problems for p in plans) else 0
    free = shutil.disk_usage(base).free + sum(_freed(p.partial) for p in plans if not p.exists)
    if needed > free:
        raise HeadblockError(
            f"not enough room in {base}: the packages need {_size(needed)}, "
            f"{_size(free)} is free; nothing was written"
        )
    return layout, out, plans


def write_packages(
    selections: list[ItemSelection],
    out: Path,
    layout_name: str,
    organization: str = "",
    reason: str = "",
    copy: bool = False,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    on_result: Callable[[PackageResult], None] | None = None,
    catalogue: bool = True,
    shared: bool = False,
) -> list[PackageResult]:
    """Package every item; returns one result per item (each also handed to ``on_result`` as
    soon as its package is done). ``catalogue=False`` leaves the takes' catalogue rows to the
    caller (a batch worker: its client brings them in line); ``shared`` lets other callers
    with ``shared`` write other items into ``out`` at the same time (a batch's workers).

    Raises HeadblockError (exit 2), before anything is written, for an unknown layout, an
    output folder inside a library, a finished package that holds other takes, a BagIt bag
    with no organization to name, or a target without room. A take that fails verification
    (master MD5, sign-off hashes) refuses its item's package: a result with ``problems``.
    """
    layout, out, plans = plan_packages(selections, out, layout_name, organization, copy)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HeadblockError(f"cannot create {out}: {exc.strerror}") from exc
    lock_fd = os.open(out, os.O_RDONLY)
    try:
        try:
            # a batch's workers share OUT, each writing items of its own; a `headblock
            # package` run holds it alone
            fcntl.flock(lock_fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise HeadblockError(f"another `headblock package` is writing into {out}") from exc
        total = sum(f.source.stat().st_size for p in plans if not p.exists for f in p.files) or 1
        done = [0]

        def on_bytes(n: int, label: str) -> None:
            done[0] += n
            if progress:
                progress(min(done[0] / total, 1.0), label)

        when = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        results = []
        for p in plans:
            results.append(
                _write_one(p, layout, organization, reason, copy, when, on_bytes, catalogue)
            )
            if on_result:
                on_result(results[-1])
        return results
    finally:
        os.close(lock_fd)


def _freed(partial: Path) -> int:
    """Bytes an interrupted run's ``.partial`` folder gives back when it is removed."""
    total = 0
    for root, _, files in os.walk(partial):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            total += st.st_size if st.st_nlink == 1 else 0  # a hard link frees nothing
    return total


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _write_one(
    plan, layout, organization, reason, copy, when, on_bytes, catalogue=True
) -> PackageResult:
    sel = plan.selection
    result = PackageResult(sel.item, plan.final, "written", [t.identifier for t in sel.takes])
    if plan.problems:
        result.status = "refused"
        result.problems = plan.problems
        return result
    if plan.exists:
        result.status = "exists"
        _record(plan, layout, reason, when, result, only_missing=True, catalogue=catalogue)
        return result
    if plan.partial.exists():
        shutil.rmtree(plan.partial)  # left by an interrupted run: start this package again
        result.notes.append("removed the unfinished package an earlier run left")
    info = PackageInfo(sel, layout.name, when, organization, reason, software_string(), plan.files)
    try:
        plan.partial.mkdir()
        for f in plan.files:
            target = plan.partial / f.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            algs = layout.algorithms(f)
            if f.expected_md5 and "md5" not in algs:
                algs = (*algs, "md5")
            f.copied = copy_hashed(
                f.source,
                target,
                algs,
                link=f.media and not copy,
                on_bytes=lambda n, name=f.source.name: on_bytes(n, name),
            )
            if f.expected_md5 and f.copied.digests["md5"] != f.expected_md5:
                result.problems.append(
                    f"{f.take.identifier}: {f.source.name} MD5 {f.copied.digests['md5']} "
                    f"differs from its .md5 sidecar {f.expected_md5}"
                )
            result.files += 1
            result.bytes_total += f.copied.size_bytes
            result.bytes_linked += f.copied.size_bytes if f.copied.linked else 0
        if result.problems:
            raise _Refused()
        layout.finish(plan.partial, info)
        on_bytes(0, f"validating {sel.item}")  # a second read of every file, no finer progress
        check = layout.validate(plan.partial)
        if not check.ok:
            result.problems += [
                f"the written package does not validate: {p}" for p in check.problems
            ]
            raise _Refused()
        result.notes += check.notes
        for d, _, _ in os.walk(plan.partial):
            fsync_dir(Path(d))
        os.rename(plan.partial, plan.final)
        fsync_dir(plan.final.parent)
    except _Refused:
        shutil.rmtree(plan.partial, ignore_errors=True)
        result.status = "refused"
        return result
    except BaseException:
        shutil.rmtree(plan.partial, ignore_errors=True)
        raise
    _record(plan, layout, reason, when, result, only_missing=False, catalogue=catalogue)
    return result


class _Refused(Exception):
    pass


def _record(plan, layout, reason, when, result, only_missing: bool, catalogue=True) -> None:
    masters = {f.take.identifier: f for f in plan.files if f.source == f.take.master}
    for take in plan.selection.takes:
        if only_missing and is_recorded(take, plan.final):
            continue
        f = masters.get(take.identifier)
        md5 = f.copied.digests.get("md5", "") if f and f.copied else (f.expected_md5 if f else "")
        n_files = sum(1 for x in plan.files if x.take is take)
        record_package(
            take, plan.final, layout.name, when, reason, md5 or "", n_files, catalogue=catalogue
        )
        if only_missing:
            result.notes.append(f"recorded {take.identifier}'s delivery the earlier run left out")
