"""``headblock verify PATH...``: re-hash masters against their sidecars.

PATH may be a master, an ``.md5`` file, a take folder, a whole library (walked) or a package
(a BagIt bag: a folder with ``bagit.txt``; an Archivematica transfer: ``objects/`` and
``metadata/checksum.md5``), which is validated as a whole and not walked. For each
master: the whole-file MD5 against ``MASTER.md5``; for a Broadcast WAV also its audio MD5
against the ``MD5 `` chunk (same read); for a video master the ``.framemd5`` against a fresh
decode; for a signed-off take the QC result and report against the hashes the sign-off
recorded. Each check of a take is appended to its PREMIS record as a ``fixity check``
event. One line per master; exit 0 all good, 1 any failure, 2 a path that does not exist
or holds nothing to verify.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.formats import bwf, premis
from metadata.formats.checksums import file_md5, read_md5_file
from metadata.formats.framemd5 import FRAME_DIFFERS, FrameComparison, compare_framemd5
from metadata.progress import ProgressFn
from metadata.review.signoff import verify_signoff
from metadata.take.naming import take_number_of
from metadata.take.record import software_string

MASTER_SUFFIXES = (".wav", ".mkv")


@dataclass
class MasterCheck:
    master: Path
    md5_path: Path | None
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    frames: FrameComparison | None = None  # the framemd5 comparison, when one was made
    fixity_ok: bool | None = None  # the MD5 checks alone (None: not made)
    integrity_ok: bool | None = None  # the MD5 checks and the framemd5, before the sign-off

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def is_take_master(path: Path) -> bool:
    """``ITEM/ITEM_tNN/ITEM_tNN.wav|mkv``"""
    return (
        path.suffix in MASTER_SUFFIXES
        and take_number_of(path.stem) is not None
        and path.parent.name == path.stem
    )


def _md5_for(master: Path) -> Path:
    return master.with_name(master.name + ".md5")


def is_package(path: Path) -> bool:
    """A BagIt bag or an Archivematica transfer (validated whole, never walked as takes)."""
    path = Path(path)
    return (path / "bagit.txt").is_file() or (
        (path / "metadata" / "checksum.md5").is_file() and (path / "objects").is_dir()
    )


def collect(paths: list[str]) -> list[tuple[Path, Path | None]]:
    """(master, md5 sidecar or None) for every PATH, in a stable order, without repeats.

    Raises HeadblockError (exit 2) for a PATH that does not exist or holds nothing to verify.
    """
    return collect_targets(paths)[0]


def collect_targets(paths: list[str]) -> tuple[list[tuple[Path, Path | None]], list[Path]]:
    """(masters with their md5 sidecar or None, packages) for every PATH, without repeats.

    Raises HeadblockError (exit 2) for a PATH that does not exist or holds nothing to verify.
    """
    found: dict[Path, Path | None] = {}
    packages: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise HeadblockError(f"{raw} does not exist")
        here: list[tuple[Path, Path | None]] = []
        packages_here: list[Path] = []
        if p.is_dir() and is_package(p):
            packages_here.append(p)
        elif p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for d in list(dirs):
                    if is_package(Path(root) / d):
                        packages_here.append(Path(root) / d)
                        dirs.remove(d)
                for name in sorted(files):
                    f = Path(root) / name
                    if name.endswith(".md5"):
                        here += [(m, f) for m in _masters_of_md5(f)]
                    elif is_take_master(f) and not _md5_for(f).exists():
                        here.append((f, None))
        elif p.name.endswith(".md5"):
            here += [(m, p) for m in _masters_of_md5(p)]
        elif p.suffix == ".framemd5" and p.with_suffix(".mkv").exists():
            master = p.with_suffix(".mkv")
            here.append((master, _md5_for(master) if _md5_for(master).exists() else None))
        elif _md5_for(p).exists():
            here.append((p, _md5_for(p)))
        elif p.suffix.lower() in MASTER_SUFFIXES:
            here.append((p, None))
        if not here and not packages_here:
            raise HeadblockError(f"{raw} holds nothing to verify (no master and no .md5 file)")
        for master, md5 in here:
            found.setdefault(master, md5)
        packages += [b for b in packages_here if b not in packages]
    return list(found.items()), packages


def _masters_of_md5(md5_path: Path) -> list[Path]:

    try:
        return [md5_path.parent / name for _, name in read_md5_file(md5_path)]
    except HeadblockError:
        # a malformed sidecar is a failed verification of the master it should describe
        return [md5_path.with_name(md5_path.name[: -len(".md5")])]


def _hash_master(master: Path, progress: ProgressFn | None) -> tuple[str, str | None, str | None]:
    """(file MD5, audio data MD5, MD5 chunk) in one read; the last two only for BWF/RF64."""
    if master.suffix.lower() != ".wav":
        return file_md5(master, progress), None, None

    try:
        stored = bwf.read_md5_chunk(master)
    except HeadblockError:
        stored = None  # not a readable WAV: the whole-file MD5 still decides
    whole, data = bwf.file_and_data_md5(master, progress)
    return whole, data, stored


def check_md5(check: MasterCheck, progress: ProgressFn | None = None) -> None:

    master = check.master
    if check.md5_path is None:
        check.fail(f"no {master.name}.md5 sidecar (a take left open? run `headblock recover`)")
        return
    try:
        entries = dict((name, digest) for digest, name in read_md5_file(check.md5_path))
    except HeadblockError as exc:
        check.fail(str(exc))
        return
    expected = entries.get(master.name)
    if expected is None:
        check.fail(f"{check.md5_path.name} does not list {master.name}")
        return
    if not master.is_file():
        check.fail(f"{master.name} is missing")
        return
    try:
        actual, data_md5, stored = _hash_master(master, progress)
    except OSError as exc:
        check.fail(f"cannot read {master.name}: {exc.strerror}")
        return
    if actual != expected:
        check.fail(f"MD5 {actual} differs from the recorded {expected}")
    else:
        check.notes.append(f"MD5 {actual}")
    if data_md5 is not None and stored is not None:
        if data_md5 != stored:
            check.fail(f"audio data MD5 {data_md5} differs from the MD5 chunk {stored}")
        else:
            check.notes.append("audio MD5 chunk matches")


def check_framemd5(check: MasterCheck, progress: ProgressFn | None = None) -> None:
    """Every frame decoded again against the ``.framemd5`` (the comparison the after-take
    integrity job makes: ``metadata.formats.framemd5.compare_framemd5``); the comparison is
    kept on ``check.frames`` so the take's state can be recorded from it."""
    master = check.master
    sidecar = master.with_suffix(".framemd5")
    if not sidecar.exists():
        check.fail(f"no {sidecar.name} beside the video master")
        return
    try:
        frames = compare_framemd5(master, sidecar, progress)
    except HeadblockError as exc:
        text = str(exc)
        if text.startswith("cannot read") or text.endswith("lists no frames"):
            check.fail(text)
        else:
            check.fail(f"cannot decode for the framemd5: {exc}")
        return
    check.frames = frames
    if frames.ok:
        check.notes.append(f"{frames.written} frame MD5s match")
        return
    if frames.written != frames.decoded:
        check.fail(
            f"{sidecar.name} lists {frames.written} frames, the master decodes to {frames.decoded}"
        )
    bad = [d.index for d in frames.differences if d.what == FRAME_DIFFERS]
    if bad:
        check.fail(f"{len(bad)} frame(s) differ from {sidecar.name}, first at frame {bad[0]}")


def check_signoff(check: MasterCheck) -> None:
    take_dir = check.master.parent
    if not (take_dir / f"{check.master.stem}.signoff.json").exists():
        return
    try:
        problems = verify_signoff(take_dir)
    except HeadblockError as exc:
        problems = [str(exc)]
    for problem in problems:
        check.fail(problem)
    if not problems:
        check.notes.append("sign-off hashes match")


def verify_master(
    master: Path, md5_path: Path | None, progress: ProgressFn | None = None
) -> MasterCheck:
    check = MasterCheck(master, md5_path)
    check_md5(check, progress)
    check.fixity_ok = check.ok
    if master.suffix.lower() == ".mkv" and master.is_file():
        check_framemd5(check, progress)
    check.integrity_ok = check.ok
    if is_take_master(master):
        check_signoff(check)
    return check


def record_fixity_event(check: MasterCheck) -> str | None:
    """Append a PREMIS ``fixity check`` event to the take's record when it has one.

    Best effort: a read-only copy of a library is verified all the same. Returns a note
    when the event could not be written.
    """
    premis_path = check.master.with_name(check.master.stem + ".premis.xml")
    if not premis_path.exists() or not os.access(premis_path.parent, os.W_OK):
        return None
    try:
        detail = "; ".join(check.notes if check.ok else check.problems)
        event = premis.fixity_check_event(datetime.now(UTC), check.ok, detail, software_string())
        event.detail = "headblock verify: " + event.detail
        premis.add_event(premis_path, event)
    except Exception as exc:  # noqa: BLE001 - the verification result stands without it
        return f"PREMIS event not written: {exc}"
    return None


# --------------------------------------------------------------------------- packages


def verify_package(path: Path) -> MasterCheck:
    """Validate a BagIt bag (every manifest, Payload-Oxum, completeness) or an Archivematica
    transfer (``metadata/checksum.md5`` as Archivematica checks it); never raises."""
    path = Path(path)
    check = MasterCheck(path, None)
    if (path / "bagit.txt").is_file():
        _verify_bag(check)
    else:
        _verify_transfer(check)
    return check


def _verify_bag(check: MasterCheck) -> None:
    import bagit

    try:
        bag = bagit.Bag(str(check.master))
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        details = _bag_problems(exc.details or [])
        check.fail("; ".join(details[:5]) if details else str(exc.message))
        if len(details) > 5:
            check.problems.append(f"and {len(details) - 5} more")
        return
    except bagit.BagError as exc:
        check.fail(f"not a valid bag: {exc}")
        return
    except OSError as exc:
        check.fail(f"cannot read the bag: {exc.strerror or exc}")
        return
    version = ".".join(str(v) for v in bag.version_info)
    algs = "+".join(sorted(bag.algorithms))
    check.notes.append(
        f"BagIt {version}, {len(bag.entries) - len(bag.tagfile_entries())} payload file(s), "
        f"{algs} manifests match, Payload-Oxum {bag.info.get('Payload-Oxum', '?')}"
    )


def _bag_problems(details) -> list[str]:
    """One short line per payload file: the algorithms whose digest differs, or what is wrong."""
    import bagit

    mismatched: dict[str, list[str]] = {}
    out = []
    for d in details:
        if isinstance(d, bagit.ChecksumMismatch):
            mismatched.setdefault(d.path, []).append(d.algorithm)
        else:
            out.append(str(d))
    for path, algs in mismatched.items():
        out.append(f"{path}: {'+'.join(sorted(algs))} checksum validation failed")
    return out


# the checksum files Archivematica verifies, and the algorithm of each
_TRANSFER_CHECKSUMS = {
    "checksum.md5": "md5",
    "checksum.sha1": "sha1",
    "checksum.sha256": "sha256",
    "checksum.sha512": "sha512",
}


def _verify_transfer(check: MasterCheck) -> None:
    """What Archivematica's "Verify transfer checksums" does: ``md5sum -c --strict`` run in the
    transfer folder, with exactly one line per file under ``objects/``."""
    root = check.master
    objects = sorted(
        str(Path(r, f).relative_to(root)) for r, _, fs in os.walk(root / "objects") for f in fs
    )
    for name, alg in _TRANSFER_CHECKSUMS.items():
        sums = root / "metadata" / name
        if not sums.is_file():
            continue
        raw = sums.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            check.fail(f"metadata/{name} starts with a byte-order mark")
        if b"\r" in raw:
            check.fail(f"metadata/{name} has CR line endings (Archivematica needs LF)")
        width = hashlib.new(alg).digest_size * 2
        line_re = re.compile(rf"^([0-9a-fA-F]{{{width}}}) [ *](.+)$")
        listed: dict[str, str] = {}
        for number, line in enumerate(raw.decode("utf-8", "replace").split("\n"), 1):
            if not line:
                continue
            m = line_re.match(line)
            if not m:
                check.fail(f"metadata/{name} line {number} is not in {alg}sum format")
                return
            listed[m.group(2)] = m.group(1).lower()
        if sorted(listed) != objects:
            missing = sorted(set(objects) - set(listed))
            extra = sorted(set(listed) - set(objects))
            check.fail(
                f"metadata/{name} lists {len(listed)} file(s), objects/ holds {len(objects)}"
                + (f"; not listed: {', '.join(missing[:3])}" if missing else "")
                + (f"; missing: {', '.join(extra[:3])}" if extra else "")
            )
            continue
        bad = []
        for rel, digest in listed.items():
            h = hashlib.new(alg)
            with open(root / rel, "rb") as fh:
                while block := fh.read(8 << 20):
                    h.update(block)
            if h.hexdigest() != digest:
                bad.append(rel)
        if bad:
            check.fail(f"{len(bad)} file(s) differ from metadata/{name}, first {bad[0]}")
        else:
            check.notes.append(f"{len(listed)} object(s) match metadata/{name}")
    if check.ok and not check.notes:
        check.fail("the transfer has no checksum file in metadata/")
