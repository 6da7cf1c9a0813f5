"""The batch's HTML report: counts by outcome, then one row per file, failures first. A QC
batch over files that belong to no take (a vendor's delivery) is headed as a delivery report
an archivist can send back."""

from __future__ import annotations

import html
import socket
from pathlib import Path

from headblock.batch.engine import BatchResult
from headblock.batch.outcome import OUTCOMES, PROBLEMS
from metadata.files import write_atomic

COLOURS = {
    "fail": "#c62828",
    "failed": "#c62828",
    "error": "#6a1b9a",
    "warn": "#ef6c00",
    "pass": "#2e7d32",
    "verified": "#2e7d32",
    "done": "#2e7d32",
    "skipped": "#757575",
}


def heading(result: BatchResult, delivery: bool) -> str:
    if result.verb == "qc" and delivery:
        return "Delivery QC report"
    return f"Batch {result.title}" if result.verb == "qc" else result.title


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _shown(path: str, roots: list[str]) -> str:
    for root in roots:
        base = Path(root)
        base = base.parent if not base.is_dir() else base
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            continue
    return path


def render(result: BatchResult, delivery: bool) -> str:
    esc = html.escape
    counts = result.counts()
    title = heading(result, delivery)
    problems = sum(counts.get(k, 0) for k in PROBLEMS)
    rows = []
    for o in result.outcomes:
        reason = o.reason + ("".join(f"<br><i>{esc(n)}</i>" for n in o.notes) if o.notes else "")
        rows.append(
            f"<tr><td><span class='o' style='background:{COLOURS[o.outcome]}'>{esc(o.outcome)}"
            f"</span>{' (resumed)' if o.resumed else ''}</td>"
            f"<td class='p'>{esc(_shown(o.path, result.paths))}</td>"
            f"<td class='n'>{esc(_size(o.size_bytes))}</td>"
            f"<td>{esc(o.reason) if not o.notes else reason}</td></tr>"
        )
    count_cells = "".join(
        f"<tr><td><span class='o' style='background:{COLOURS[k]}'>{k}</span></td>"
        f"<td class='n'>{counts[k]}</td></tr>"
        for k in OUTCOMES
        if counts.get(k)
    )
    profile = result.options.get("profile_name")
    facts = [
        ("Folders", ", ".join(result.paths)),
        ("Files", str(len(result.outcomes))),
        ("Needing attention", str(problems)),
        ("Started", result.started_utc),
        ("Finished", result.finished_utc),
        ("Run by", f"Headblock on {socket.gethostname()}, {result.workers} Dask worker(s)"),
    ]
    if profile:
        label = "Derivative profile" if result.verb == "derive" else "QC profile"
        facts.insert(3, (label, profile))
    if result.options.get("out"):
        facts.insert(3, ("Packages in", f"{result.options['out']} ({result.options['layout']})"))
    if delivery:
        intro = (
            "<p>Quality control of the files delivered. Every file was opened and its "
            "container, video and audio checked; files listed first need the vendor's "
            "attention (<b>fail</b>: a check failed; <b>error</b>: the file could not be "
            "read or is not a supported media file; <b>warn</b>: to be looked at).</p>"
        )
    else:
        intro = ""
    fact_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}}
.o{{color:#fff;border-radius:3px;padding:1px 6px;font-size:90%}} .n{{text-align:right}}
.p{{font-family:monospace}}
</style></head><body>
<h1>{esc(title)}</h1>
{intro}
<table>{fact_rows}</table>
<h2>Outcomes</h2>
<table>{count_cells}</table>
<h2>Files, those needing attention first</h2>
<table><tr><th>outcome</th><th>file</th><th>size</th><th>reason</th></tr>
{"".join(rows)}
</table>
</body></html>
"""


def write_html(result: BatchResult, path: Path, delivery: bool) -> Path:
    return write_atomic(path, render(result, delivery))
