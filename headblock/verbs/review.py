"""``headblock verify`` and ``headblock signoff``: the checks and decisions made on a take."""

from __future__ import annotations

import sys
from pathlib import Path

from metadata.errors import VerificationFailed
from metadata.progress import TerminalProgress
from metadata.review.verify import (
    collect_targets,
    is_take_master,
    record_fixity_event,
    verify_master,
    verify_package,
)
from metadata.take.naming import paths_for_take_dir
from qc.signoff import signoff


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _record_integrity(check) -> list[str]:
    """The take's integrity state from this verification, recorded as the after-take job
    records it (qc.json's framemd5 check and ``integrity`` key, log, catalogue, report)."""
    from capture.integrity import record_verification

    detail = "; ".join(check.notes if check.integrity_ok else check.problems[:3])
    _, failures = record_verification(
        check.master.parent,
        ok=bool(check.integrity_ok),
        fixity_ok=check.fixity_ok,
        frames=check.frames,
        detail=detail,
    )
    return failures


def cmd_verify(args) -> int:
    targets, packages = collect_targets(list(args.paths))
    failed = 0
    for package in packages:
        check = verify_package(package)
        if check.ok:
            print(f"OK      {_shown(package)}  ({'; '.join(check.notes)})")
        else:
            failed += 1
            print(f"FAILED  {_shown(package)}: {'; '.join(check.problems)}")
        sys.stdout.flush()
    for master, md5_path in targets:
        progress = TerminalProgress(f"verify {master.name}")
        check = verify_master(master, md5_path, progress)
        note = record_fixity_event(check) if is_take_master(master) else None
        if is_take_master(master):
            note = "; ".join(filter(None, [note, *_record_integrity(check)])) or None
        if progress.enabled:
            progress.stream.write("\r\033[K")
            progress.stream.flush()
        if check.ok:
            print(f"OK      {_shown(master)}  ({'; '.join(check.notes)})")
        else:
            failed += 1
            print(f"FAILED  {_shown(master)}: {'; '.join(check.problems)}")
        if note:
            print(f"        {note}")
        sys.stdout.flush()
    what = f"{len(targets)} master(s)" + (f" and {len(packages)} package(s)" if packages else "")
    if failed:
        raise VerificationFailed(f"{failed} of {what} failed verification")
    print(f"{what} verified")
    return 0


def cmd_signoff(args) -> int:
    entry = signoff(Path(args.take_dir), args.by, args.decision, args.comment)
    paths = paths_for_take_dir(Path(args.take_dir))
    print(
        f"{paths.stem}: {entry['decision']} by {entry['by']} at {entry['at_utc']} "
        f"(QC verdict {entry['qc_verdict'] or 'unknown'})"
    )
    for key, digest in entry["sha256"].items():
        print(f"  sha256 {digest}  {entry['files'][key]}")
    return 0
