"""The dashboard as a PDF for the coordinator's desk: A4 that fits Letter, laid out by
reportlab with the same matplotlib plots as the HTML page (``metadata.collection.dashboard``)."""

from __future__ import annotations

import html
import io
from pathlib import Path

from metadata.catalogue.inventory import STATUSES
from metadata.clock import format_minute
from metadata.collection.dashboard import (
    MAX_FILES_LISTED,
    PACE_WINDOW_DAYS,
    Dashboard,
    audit_summary,
    plots,
)
from metadata.files import atomic_path


def write_pdf(board: Dashboard, out: Path) -> Path:
    """Lay the dashboard out and write it atomically to ``out``."""
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
    width = A4[0] - 36 * mm  # Letter is narrower, A4 shorter: these margins fit both
    e = html.escape

    def para(text, style=small):
        return Paragraph(e(str(text)), style)

    def table(header: list[str], rows: list[list], fractions: list[float], extra=()):
        data = [[para(h) for h in header]] + [[para(c) for c in row] for row in rows]
        t = Table(data, colWidths=[f * width for f in fractions], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    *extra,
                ]
            )
        )
        return t

    def image(png: bytes):
        px_width, px_height = ImageReader(io.BytesIO(png)).getSize()
        return Image(io.BytesIO(png), width=width, height=width * px_height / px_width)

    story = [
        Paragraph(f"Dashboard — {e(board.library)}", h1),
        Paragraph(
            f"{board.items} item(s), {board.takes} take(s), on {board.today.isoformat()}", body
        ),
        Paragraph("Progress", h2),
        table(
            ["", "done", "to go", f"items per day (last {PACE_WINDOW_DAYS} days)", "projected end"],
            [
                [
                    p.what,
                    p.done,
                    p.remaining,
                    f"{p.per_day:.1f}",
                    p.end.isoformat() if p.end else "no pace yet",
                ]
                for p in board.paces
            ],
            [0.2, 0.15, 0.15, 0.25, 0.25],
        ),
        Paragraph("Items by status", h2),
        table(
            ["status", "items"],
            [[s.replace("_", " "), board.by_status[s]] for s in STATUSES],
            [0.4, 0.2],
        ),
    ]
    story.append(Paragraph(f"On hold ({len(board.on_hold)})", h2))
    if board.on_hold:
        story.append(
            table(
                ["item", "reason", "by", "since"],
                [
                    [h["item"], h["reason"], h["by"], format_minute(h["since"])]
                    for h in board.on_hold
                ],
                [0.2, 0.5, 0.15, 0.15],
            )
        )
    else:
        story.append(para("No item is on hold.", body))
    audit = board.fixity
    story += [Paragraph("Fixity audit", h2), para(audit_summary(audit), body)]
    listed = [("FAILED", a) for a in audit.failed[:MAX_FILES_LISTED]]
    listed += [("never verified", a) for a in audit.never[:MAX_FILES_LISTED]]
    listed += [("overdue", a) for a in audit.overdue[:MAX_FILES_LISTED]]
    if listed:
        red = [
            ("TEXTCOLOR", (0, i), (0, i), colors.HexColor("#c62828"))
            for i, (what, _a) in enumerate(listed, start=1)
            if what == "FAILED"
        ]
        story.append(Spacer(1, 2 * mm))
        story.append(
            table(
                ["", "take", "file", "last checked", "last verified"],
                [
                    [
                        what,
                        a["take"],
                        a["file"],
                        format_minute(a["checked"]),
                        format_minute(a["verified"]),
                    ]
                    for what, a in listed
                ],
                [0.15, 0.2, 0.35, 0.15, 0.15],
                red,
            )
        )
    for i, (caption, png) in enumerate(plots(board)):
        block = [image(png), para(caption), Spacer(1, 3 * mm)]
        if i == 0:
            block.insert(0, Paragraph("Plots", h2))
        story.append(KeepTogether(block))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(18 * mm, 10 * mm, f"Headblock dashboard {board.today.isoformat()}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    out = Path(out)
    with atomic_path(out) as tmp:
        doc = SimpleDocTemplate(
            str(tmp),
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=24 * mm,
            title=f"Headblock dashboard {board.library}",
            author="Headblock",
        )
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out
