"""``headblock qc`` and ``headblock report``: QC and its report from the terminal."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.progress import TerminalProgress
from metadata.take.naming import paths_for_master
from qc.profiles import load_profile
from qc.report import write_report
from qc.runner import run_qc


def cmd_qc(args) -> int:
    """``headblock qc FILE [--profile NAME|PATH] [--json OUT]``: exit 0 pass/warn, 1 fail."""
    master = Path(args.file)
    profile = load_profile(getattr(args, "profile", "default") or "default")
    json_out = getattr(args, "json_out", None)
    if json_out:
        out_parent = Path(json_out).resolve().parent
        if not out_parent.is_dir():
            raise HeadblockError(f"--json: the folder {out_parent} does not exist")
    bar = TerminalProgress(f"QC {master.name}")
    shown = []

    def progress(fraction: float, message: str = "") -> None:
        shown.append(True)
        bar(fraction, message)

    try:
        result = run_qc(master, profile, progress=progress)
    except BaseException:
        if bar.enabled and shown:  # end the progress line so the error starts on its own
            bar.stream.write("\n")
            bar.stream.flush()
        raise
    bar.done()
    if json_out:
        try:
            shutil.copyfile(paths_for_master(master).qc_json, json_out)
        except OSError as exc:
            raise HeadblockError(f"--json: cannot write {json_out}: {exc.strerror}") from exc
    n_warn = sum(1 for e in result.events if e.severity == "warn")
    n_fail = sum(1 for e in result.events if e.severity == "fail")
    flagged = (
        ", ".join(f"{c.id} {c.status}" for c in result.checks if c.status != "pass")
        or "all checks pass"
    )
    print(
        f"{result.file}: {result.verdict.upper()} ({n_fail} fail, {n_warn} warn events; {flagged})",
        file=sys.stdout,
    )
    for failure in result.record_failures:
        print(f"{result.file}: {failure}", file=sys.stderr)
    return 1 if result.verdict == "fail" else 0


def cmd_report(args) -> int:
    prog = TerminalProgress("report")
    try:
        paths = write_report(
            Path(args.take_dir), pdf=bool(getattr(args, "pdf", False)), progress=prog
        )
    except BaseException:
        if prog.enabled:  # the error goes on a line of its own
            prog.stream.write("\n")
        raise
    prog.done()
    for p in paths:
        print(p)
    return 0
