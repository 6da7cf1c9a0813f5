"""``headblock package``: approved takes into BagIt bags or Archivematica transfers."""

from __future__ import annotations

import sys
from pathlib import Path

from headblock.packaging.packager import PackageResult, get_layout, write_packages
from headblock.packaging.selection import organization_for, select
from metadata.errors import VerificationFailed
from metadata.progress import TerminalProgress


def _show(r: PackageResult, progress: TerminalProgress) -> None:
    if progress.enabled:  # the result line replaces the progress line
        progress.stream.write("\r\033[K")
        progress.stream.flush()
    takes = ", ".join(r.takes)
    if r.status == "written":
        linked = f", {r.bytes_linked / 1e6:.1f} MB hard-linked" if r.bytes_linked else ""
        print(f"WRITTEN {r.path}  ({takes}; {r.files} files, {r.bytes_total / 1e6:.1f} MB{linked})")
    elif r.status == "exists":
        print(f"EXISTS  {r.path}  ({takes}; already packaged, left as it is)")
    else:
        print(f"REFUSED {r.item}: {'; '.join(r.problems)}")
    for note in r.notes:
        print(f"        {note}")
    sys.stdout.flush()


def cmd_package(args) -> int:
    get_layout(args.layout)  # an unknown layout is refused before anything is read
    left_out: list[str] = []
    selections = select(list(args.paths), args.include_unapproved, left_out)
    progress = TerminalProgress("package")
    results = write_packages(
        selections,
        Path(args.out),
        args.layout,
        organization=organization_for(args.organization, selections),
        reason=(args.include_unapproved or "").strip(),
        copy=args.copy,
        progress=progress,
        on_result=lambda r: _show(r, progress),
    )
    for line in left_out:
        print(f"LEFT    {line}")
    refused = sum(r.status == "refused" for r in results)
    if refused:
        raise VerificationFailed(f"{refused} of {len(results)} package(s) refused")
    return 0
