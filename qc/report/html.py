"""The QC report as one self-contained HTML page (``ITEM_tNN.qc.html``): styles inline, plots
and thumbnails as data URIs, nothing fetched."""

from __future__ import annotations

import base64
import html

from metadata.verdicts import VERDICT_PRINT_COLOURS
from qc.report.facts import ReportFacts, event_headers, event_rows, format_duration

_CSS = (
    """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:10.5pt;color:#222;
 max-width:190mm;margin:1em auto;padding:0 4mm}
h1{font-size:17pt;margin:.2em 0}h2{font-size:12.5pt;border-bottom:1px solid #bbb;margin-top:1.2em}
table{border-collapse:collapse;width:100%;margin:.3em 0}
td,th{border:1px solid #ccc;padding:2px 5px;vertical-align:top;text-align:left}
th{background:#eee}table.kv td:first-child{width:32%;color:#555}
.verdict{display:inline-block;padding:2px 10px;color:#fff;border-radius:3px;font-weight:bold}
"""
    + "".join(
        f".{status}{{background:{colour}}}" for status, colour in VERDICT_PRINT_COLOURS.items()
    )
    + """
td.pass,td.warn,td.fail{color:#fff;font-weight:bold}
img.plot{width:100%;page-break-inside:avoid}figure{margin:.4em 0;page-break-inside:avoid}
figure.thumb{display:inline-block;width:31%;margin:.5%;font-size:8pt}
figure.thumb img{width:100%;border:1px solid #999}.small{font-size:8.5pt;color:#555}
table.events{font-size:8.5pt}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0}h2{page-break-after:avoid}
 tr{page-break-inside:avoid}}
"""
)


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f'<table class="kv">{body}</table>'


def _figure(png: bytes, caption: str, img_open: str, caption_open: str) -> str:
    """An embedded PNG (data URI: the report is one self-contained file) and its caption."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    alt = html.escape(caption)
    return f"{img_open} alt='{alt}' src='{uri}'>{caption_open}{alt}</figcaption></figure>"


def render_html(facts: ReportFacts) -> str:
    """The report as one self-contained HTML page."""
    qc = facts.qc
    e = html.escape
    verdict = str(qc.get("verdict", "?"))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>QC report {e(facts.paths.stem)}</title><style>{_CSS}</style></head><body>",
        f"<h1>QC report — {e(facts.paths.stem)}</h1>",
        f"<p>Verdict: <span class='verdict {e(verdict)}'>{e(verdict.upper())}</span> "
        f"&nbsp; {e(str(qc.get('kind', '')))} · {e(format_duration(qc.get('duration_s')))} · "
        f"profile {e(str(qc.get('profile', '')))} · "
        f"{len(qc.get('events') or [])} event(s)</p>",
        f"<p class='small'>File {e(str(qc.get('file', '')))} · report generated "
        f"{e(facts.generated_utc)}</p>",
        "<h2>Item and carrier</h2>",
        _kv_table(facts.item_rows),
        "<h2>Technical metadata of the master</h2>",
        _kv_table(facts.tech_rows),
        "<h2>Fixity</h2>",
        _kv_table(facts.fixity_rows),
        "<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>count</th>"
        "<th>summary</th></tr>",
    ]
    for c in qc.get("checks") or []:
        if not isinstance(c, dict):
            continue
        st = str(c.get("status", ""))
        parts.append(
            f"<tr><td>{e(str(c.get('id', '')))}</td><td class='{e(st)}'>{e(st)}</td>"
            f"<td>{e(str(c.get('count', '')))}</td><td>{e(str(c.get('summary', '')))}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h2>Events</h2>")
    rows = event_rows(facts)
    if rows:
        parts.append("<table class='events'><tr>")
        parts += [f"<th>{e(h)}</th>" for h in event_headers(facts)]
        parts.append("</tr>")
        for r in rows:
            sev = r[4]
            parts.append(
                "<tr>"
                + "".join(
                    f"<td class='{e(sev)}'>{e(c)}</td>" if i == 4 else f"<td>{e(c)}</td>"
                    for i, c in enumerate(r)
                )
                + "</tr>"
            )
        parts.append("</table>")
        more = len(qc.get("events") or []) - len(rows)
        if more > 0:
            parts.append(f"<p class='small'>… and {more} more event(s) in the QC result.</p>")
    else:
        parts.append("<p>No events.</p>")
    if facts.plots:
        parts.append("<h2>Plots</h2>")
        parts += [
            _figure(png, caption, "<figure><img class='plot'", "<figcaption class='small'>")
            for caption, png in facts.plots
        ]
    if facts.thumbnails:
        parts.append("<h2>Frames at video events</h2><div>")
        parts += [
            _figure(png, caption, "<figure class='thumb'><img", "<figcaption>")
            for caption, png in facts.thumbnails
        ]
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)
