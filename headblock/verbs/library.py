"""``headblock catalogue`` and ``headblock recover``: the library from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

from capture.recover import find_open_takes, recover_take
from metadata.catalogue.database import list_takes, rebuild
from metadata.clock import format_minute
from metadata.errors import HeadblockError
from metadata.progress import TerminalProgress


def cmd_catalogue(args) -> int:
    library = Path(args.library)
    url = getattr(args, "url", None)
    if args.action == "rebuild":
        prog = TerminalProgress("catalogue")
        n = rebuild(library, url, progress=prog)
        prog.done()
        print(f"catalogue: {n} take(s) indexed from {library}")
        return 0
    if not library.is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    rows = list_takes(library, url)
    print(f"{'take':<24} {'kind':<6} {'state':<11} {'verdict':<7} {'duration':>9}  captured")
    for r in rows:
        dur = f"{r['duration_s']:.1f}s" if r["duration_s"] is not None else ""
        print(
            f"{r['identifier']:<24} {r['kind']:<6} {r['state']:<11} {r['verdict']:<7} "
            f"{dur:>9}  {format_minute(r['captured_utc'])}"
        )
    print(f"{len(rows)} take(s)")
    return 0


def cmd_recover(args) -> int:
    library = Path(args.library)
    if not library.is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    open_takes = find_open_takes(library)
    if not open_takes:
        print(f"headblock: no open take in {library}", file=sys.stderr)
        return 0
    failed = 0
    for paths in open_takes:
        rec = recover_take(paths)
        print(f"{'ok' if rec.ok else 'FAILED'}  {paths.directory}  {rec.summary}")
        failed += not rec.ok
    return 1 if failed else 0
