"""``headblock batch qc|verify|derive|package PATH...``: a verb mapped over many files on a
Dask cluster, with a progress line, a summary and an HTML report."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from headblock.batch.discover import take_dir_of
from headblock.batch.engine import open_client, run_batch
from headblock.batch.outcome import PROBLEMS, Outcome, Unit
from headblock.batch.registry import get_verb
from headblock.batch.report import heading, write_html
from metadata.clock import utc_now
from metadata.errors import HeadblockError
from metadata.progress import TerminalProgress


def _mb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def default_report(paths: list[Path], verb: str) -> Path:
    """Beside the first PATH (inside it when it is a folder), named by verb and time."""
    first = paths[0].resolve()
    folder = first if first.is_dir() else first.parent
    return folder / f"headblock-batch-{verb}-{utc_now().strftime('%Y%m%dT%H%M%SZ')}.html"


def journal_for(report: Path, verb: str) -> Path:
    """Stable across runs (the report's name carries a time): the next run finds it."""
    return report.parent / f".headblock-batch-{verb}.journal.jsonl"


class _Progress:
    """Files and bytes done, the rate and the time left, on one terminal line."""

    def __init__(self, label: str):
        self.bar = TerminalProgress(label)
        self.files = self.bytes = 0
        self.total_files = self.total_bytes = 0
        self.worked_bytes = 0
        self.started = time.monotonic()

    def plan(self, units: list[Unit]) -> None:
        self.total_files = len(units)
        self.total_bytes = sum(u.size_bytes for u in units)

    def __call__(self, unit: Unit, out: Outcome) -> None:
        self.files += 1
        self.bytes += unit.size_bytes
        if out.outcome != "skipped" and not out.resumed:
            self.worked_bytes += unit.size_bytes
        elapsed = max(time.monotonic() - self.started, 1e-6)
        fraction = (
            self.bytes / self.total_bytes
            if self.total_bytes
            else self.files / max(self.total_files, 1)
        )
        self.bar(
            min(fraction, 0.999),
            f"{self.files}/{self.total_files} files {_mb(self.bytes)} "
            f"{self.worked_bytes / elapsed / 1e6:.1f}MB/s",
        )

    def end(self) -> None:
        if self.bar.enabled:
            self.bar.stream.write("\r\033[K")
            self.bar.stream.flush()


_PACKAGE_FLAGS = {
    "out": "--out",
    "layout": "--layout",
    "include_unapproved": "--include-unapproved",
    "copy": "--copy",
    "organization": "--organization",
}


def _package_options(args, verb: str) -> dict:
    """``batch package``'s own options; given to another verb, they are a usage error."""
    given = {k: getattr(args, k, None) for k in _PACKAGE_FLAGS if getattr(args, k, None)}
    if verb != "package":
        if given:
            raise HeadblockError(f"{_PACKAGE_FLAGS[next(iter(given))]} is for `batch package`")
        return {}
    if getattr(args, "profile", None):
        raise HeadblockError("--profile is for `batch qc` and `batch derive`")
    return {
        "out": given.get("out"),
        "layout": given.get("layout"),
        "reason": getattr(args, "include_unapproved", None),
        "copy": bool(given.get("copy")),
        "organization": given.get("organization") or "",
    }


def cmd_batch(args) -> int:
    verb = get_verb(args.action)
    paths = [Path(p) for p in args.paths]
    for p in paths:
        if not p.exists():
            raise HeadblockError(f"{p} does not exist")
    report = (
        Path(args.report) if getattr(args, "report", None) else default_report(paths, verb.name)
    )
    if not report.resolve().parent.is_dir():
        raise HeadblockError(f"--report: the folder {report.resolve().parent} does not exist")
    options = {"profile": getattr(args, "profile", None)}
    if getattr(args, "older_than", None):
        if verb.name != "verify":
            raise HeadblockError("--older-than is for `batch verify`")
        options["older_than"] = args.older_than
    options.update(_package_options(args, verb.name))
    if getattr(args, "url", None):
        options["catalogue_url"] = args.url
    # bad options and PATHs with nothing to do are said before a cluster starts
    options = verb.prepare(options)
    units = verb.collect(paths, options)
    progress = _Progress(f"batch {verb.name}")
    with open_client(getattr(args, "workers", None), getattr(args, "scheduler", None)) as client:
        try:
            result = run_batch(
                verb,
                paths,
                options,
                client,
                journal_for(report, verb.name),
                force=bool(getattr(args, "force", False)),
                on_plan=progress.plan,
                on_result=progress,
                units=units,
            )
        finally:
            progress.end()
    for line in options.get("left_out", []):
        print(f"LEFT    {line}")
    delivery = verb.name == "qc" and all(take_dir_of(Path(o.path)) is None for o in result.outcomes)
    counts = result.counts()
    problems = [o for o in result.outcomes if o.outcome in PROBLEMS or o.outcome == "warn"]
    noun = "item(s)" if verb.name == "package" else "file(s)"  # a package is one per item
    print(f"{heading(result, delivery)}: {len(result.outcomes)} {noun} in {result.wall_s:.1f} s")
    for o in problems:
        print(f"{o.outcome.upper():<8} {o.path}: {o.reason}")
        for note in o.notes:
            print(f"         {note}")
    resumed = sum(o.resumed for o in result.outcomes)
    print(
        "  ".join(f"{k} {v}" for k, v in counts.items())
        + (f"  (resumed {resumed} from an interrupted run)" if resumed else "")
    )
    sys.stdout.flush()
    try:
        write_html(result, report, delivery)
    except OSError as exc:  # every result is in the sidecars and the catalogue already
        raise HeadblockError(f"cannot write the report {report}: {exc.strerror}") from exc
    print(f"report: {report}")
    return 1 if any(counts.get(k) for k in PROBLEMS) else 0
