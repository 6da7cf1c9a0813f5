"""The supervisor signs off a take's QC report: the report is written if it is missing, then
the decision is recorded with the hashes of what was signed (``metadata.review.signoff``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from metadata.review.signoff import record_signoff
from metadata.take.naming import paths_for_take_dir
from qc.report import write_report


def signoff(
    take_dir: Path, by: str, decision: str, comment: str = "", now: datetime | None = None
) -> dict:
    """Sign off a take whose QC has run; returns the decision as saved."""
    paths = paths_for_take_dir(Path(take_dir))
    if paths.qc_json.exists() and not paths.qc_html.exists():
        write_report(paths.directory, pdf=False)
    return record_signoff(take_dir, by, decision, comment, now)
