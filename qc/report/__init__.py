"""The QC report of a take: ``ITEM_tNN.qc.html`` (self-contained) and ``ITEM_tNN.qc.pdf``.

Both are written from the same facts (``facts``): the pictures come from ``plots``, the pages
from ``html`` and ``pdf``. A report the last sign-off hashed is kept as signed.
"""

from __future__ import annotations

from pathlib import Path

from metadata.errors import HeadblockError
from metadata.files import atomic_path, write_atomic
from metadata.progress import ProgressFn, no_progress
from metadata.review.signoff import read_decisions
from metadata.take.naming import TakePaths
from qc.report.facts import gather
from qc.report.html import render_html
from qc.report.pdf import render_pdf


def _signed_report_files(paths: TakePaths) -> set[str]:
    """Names of the files the last sign-off hashed: rewriting them would void the sign-off."""
    if paths.directory.name != paths.stem:
        return set()  # a loose master is never signed off
    try:
        decisions = read_decisions(paths.directory)
    except HeadblockError:
        return set()
    files = decisions[-1].get("files") if decisions else None
    return {str(name) for name in files.values()} if isinstance(files, dict) else set()


def write_report(
    take_dir: Path, pdf: bool = False, progress: ProgressFn | None = None
) -> list[Path]:
    """Write ``.qc.html`` (and ``.qc.pdf``) of a take folder (or a loose master); return paths."""
    progress = progress or no_progress
    facts = gather(Path(take_dir), progress)
    signed = _signed_report_files(facts.paths)
    wanted = [facts.paths.qc_html] + ([facts.paths.qc_pdf] if pdf else [])
    if signed and all(p.name in signed for p in wanted):
        raise HeadblockError(
            f"the report of {facts.paths.stem} is signed off; it is kept as signed "
            f"(a new take or a new decision is the way forward)"
        )
    progress(0.95, "writing")
    out = []
    if facts.paths.qc_html.name not in signed:
        write_atomic(facts.paths.qc_html, render_html(facts))
        out.append(facts.paths.qc_html)
    if pdf and facts.paths.qc_pdf.name not in signed:
        with atomic_path(facts.paths.qc_pdf, suffix=".pdf") as tmp:
            render_pdf(facts, tmp)
        out.append(facts.paths.qc_pdf)
    progress(1.0, "done")
    if facts.paths.take_number:
        from metadata.catalogue.database import sync_take

        sync_take(facts.paths.directory)
    return out
