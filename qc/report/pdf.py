"""The QC report as a PDF (``ITEM_tNN.qc.pdf``), laid out by reportlab for A4 (fits Letter)."""

from __future__ import annotations

import html
import io
from pathlib import Path

from metadata.verdicts import VERDICT_PRINT_COLOURS
from qc.report.facts import ReportFacts, event_headers, event_rows, format_duration

MAX_EVENT_ROWS_PDF = 300  # a printed report stays a readable length


def render_pdf(facts: ReportFacts, path: Path) -> None:
    """Lay the report out on A4 pages that also fit Letter, and write it to ``path``."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    body = styles["BodyText"].clone("body", fontSize=9, leading=11)
    h1, h2 = styles["Title"], styles["Heading2"]
    # Letter is shorter and A4 narrower: these margins keep every page inside both.
    width = A4[0] - 36 * mm
    qc = facts.qc
    e = html.escape

    def para(text, style=body):
        return Paragraph(e(str(text)), style)

    def kv(rows):
        data = [[para(k, small), para(v, small)] for k, v in rows]
        table = Table(data, colWidths=[0.3 * width, 0.7 * width])
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#555555")),
                ]
            )
        )
        return table

    def with_header_row():
        return [
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]

    def image(png: bytes, shown_width: float):
        px_width, px_height = ImageReader(io.BytesIO(png)).getSize()
        return Image(io.BytesIO(png), width=shown_width, height=shown_width * px_height / px_width)

    def verdict_cell(column: int, row: int, status: str) -> list:
        colour = colors.HexColor(VERDICT_PRINT_COLOURS[status])
        return [("BACKGROUND", (column, row), (column, row), colour)]

    verdict = str(qc.get("verdict", "?"))
    story = [
        Paragraph(f"QC report — {e(facts.paths.stem)}", h1),
        Paragraph(
            f"Verdict: <font color='{VERDICT_PRINT_COLOURS.get(verdict, '#000')}'><b>"
            f"{e(verdict.upper())}</b></font> &nbsp; {e(str(qc.get('kind', '')))} · "
            f"{e(format_duration(qc.get('duration_s')))} · profile {e(str(qc.get('profile', '')))}"
            f" · {len(qc.get('events') or [])} event(s)",
            body,
        ),
        Paragraph(f"File {e(str(qc.get('file', '')))} · generated {facts.generated_utc}", small),
        Paragraph("Item and carrier", h2),
        kv(facts.item_rows),
        Paragraph("Technical metadata of the master", h2),
        kv(facts.tech_rows),
        Paragraph("Fixity", h2),
        kv(facts.fixity_rows),
        Paragraph("Checks", h2),
    ]
    data = [[para(h, small) for h in ("check", "status", "count", "summary")]]
    style = with_header_row()
    checks = [c for c in qc.get("checks") or [] if isinstance(c, dict)]
    for i, check in enumerate(checks, start=1):
        status = str(check.get("status", ""))
        data.append(
            [
                para(check.get("id", ""), small),
                para(status, small),
                para(check.get("count", ""), small),
                para(check.get("summary", ""), small),
            ]
        )
        if status in VERDICT_PRINT_COLOURS:
            style += verdict_cell(1, i, status)
            style.append(("TEXTCOLOR", (1, i), (1, i), colors.white))
    fractions = [0.2, 0.1, 0.1, 0.6]
    table = Table(data, colWidths=[f * width for f in fractions], repeatRows=1)
    table.setStyle(TableStyle(style))
    story.append(table)
    story.append(Paragraph("Events", h2))
    rows = event_rows(facts, MAX_EVENT_ROWS_PDF)
    if rows:
        data = [[para(h, small) for h in event_headers(facts)]] + [
            [para(cell, small) for cell in row] for row in rows
        ]
        fractions = [0.13, 0.08, 0.08, 0.05, 0.08, 0.08, 0.28, 0.22]
        if facts.timecode is not None:  # "12.345 s (TC 01:00:12;10)" in start and end
            fractions = [0.13, 0.13, 0.13, 0.05, 0.08, 0.07, 0.24, 0.17]
        table = Table(data, colWidths=[f * width for f in fractions], repeatRows=1)
        style = with_header_row()
        for i, row in enumerate(rows, start=1):
            if row[4] in VERDICT_PRINT_COLOURS:
                style += verdict_cell(4, i, row[4])
        table.setStyle(TableStyle(style))
        story.append(table)
        more = len(qc.get("events") or []) - len(rows)
        if more > 0:
            story.append(para(f"… and {more} more event(s) in the QC result.", small))
    else:
        story.append(para("No events."))
    for i, (caption, png) in enumerate(facts.plots):
        block = [image(png, width), para(caption, small), Spacer(1, 3 * mm)]
        if i == 0:
            block.insert(0, Paragraph("Plots", h2))
        story.append(KeepTogether(block))
    if facts.thumbnails:
        story.append(Paragraph("Frames at video events", h2))
        cells, row = [], []
        for caption, png in facts.thumbnails:
            thumb = Table([[image(png, width / 3 - 4 * mm)]])
            thumb.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, colors.grey)]))
            row.append([thumb, para(caption, small)])
            if len(row) == 3:
                cells.append(row)
                row = []
        if row:
            cells.append(row + [""] * (3 - len(row)))
        table = Table(cells, colWidths=[width / 3] * 3)
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(18 * mm, 10 * mm, f"Headblock QC report {facts.paths.stem}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=24 * mm,  # Letter is 18 mm shorter than A4
        title=f"QC report {facts.paths.stem}",
        author="Headblock",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
