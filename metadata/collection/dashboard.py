"""The coordinator's view of a digitization project: how far it is and when it will end.

Items by status and carrier come from the inventory (status as metadata.catalogue.inventory
derives it); hours captured per day, QC outcomes and sign-offs from the catalogue's index of
the takes (``headblock catalogue rebuild`` brings it in line with the folders). The pace is
taken over the last PACE_WINDOW_DAYS days: items whose first take was captured, and items
signed off; the projected end date is today plus what remains divided by that pace.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from metadata.catalogue.database import list_takes
from metadata.catalogue.inventory import STATUSES, list_items
from metadata.clock import utc_now
from metadata.files import write_atomic
from metadata.take.meta import CARRIERS
from metadata.verdicts import VERDICT_PRINT_COLOURS

PACE_WINDOW_DAYS = 14
CAPTURED_OR_LATER = {"captured", "qc_done", "reviewed", "signed_off", "delivered"}
FINISHED = {"signed_off", "delivered"}


@dataclass
class Pace:
    what: str  # "captured" or "signed off"
    done: int
    remaining: int
    per_day: float  # over the window
    end: date | None  # None: no pace yet


@dataclass
class Dashboard:
    library: str
    today: date
    items: int
    by_status: Counter = field(default_factory=Counter)
    by_carrier: dict[str, Counter] = field(default_factory=dict)  # carrier label -> statuses
    hours_per_day: dict[date, float] = field(default_factory=dict)
    qc_outcomes: Counter = field(default_factory=Counter)  # verdict of each item's last take
    on_hold: list[dict] = field(default_factory=list)
    paces: list[Pace] = field(default_factory=list)
    takes: int = 0


def _day(dt) -> date | None:
    if not isinstance(dt, datetime):
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).date()


def _pace(what: str, firsts: dict[str, date], total: int, today: date) -> Pace:
    done = len(firsts)
    start = today - timedelta(days=PACE_WINDOW_DAYS - 1)
    recent = [d for d in firsts.values() if d >= start]
    days = PACE_WINDOW_DAYS
    if firsts:  # a project younger than the window is paced over its own days
        days = min(days, (today - min(firsts.values())).days + 1)
    per_day = len(recent) / days if days > 0 else 0.0
    remaining = total - done
    end = None
    if remaining == 0:
        end = max(firsts.values()) if firsts else today
    elif per_day > 0:
        end = today + timedelta(days=math.ceil(remaining / per_day))
    return Pace(what, done, remaining, per_day, end)


def collect(library: Path, url: str | None = None, today: date | None = None) -> Dashboard:
    library = Path(library)
    today = today or utc_now().date()
    rows = list_items(library, url)
    takes = list_takes(library, url)
    board = Dashboard(str(library), today, len(rows), takes=len(takes))
    inventoried = {r["item"] for r in rows}
    for r in rows:
        board.by_status[r["status"]] += 1
        label = CARRIERS[r["carrier"]][0] if r["carrier"] in CARRIERS else "not known"
        board.by_carrier.setdefault(label, Counter())[r["status"]] += 1
        if r["status"] == "on_hold":
            board.on_hold.append(
                {
                    "item": r["item"],
                    "reason": r["hold_reason"],
                    "by": r["hold_by"],
                    "since": r["hold_utc"],
                }
            )
    first_capture: dict[str, date] = {}
    signed: dict[str, date] = {}
    last_verdict: dict[str, str] = {}
    for t in takes:  # ordered by item, take number
        if t["item"] not in inventoried:
            continue
        day = _day(t["captured_utc"])
        if day is not None:
            board.hours_per_day[day] = (
                board.hours_per_day.get(day, 0.0) + (t["duration_s"] or 0.0) / 3600.0
            )
            first_capture[t["item"]] = min(day, first_capture.get(t["item"], day))
        last_verdict[t["item"]] = t["verdict"] or "no QC"
        decided = _day(t["decided_utc"])
        if t["state"] == "signed_off" and decided is not None:
            signed[t["item"]] = min(decided, signed.get(t["item"], decided))
    board.qc_outcomes = Counter(last_verdict.values())
    board.hours_per_day = dict(sorted(board.hours_per_day.items()))
    total = len(rows)
    board.paces = [
        _pace("captured", first_capture, total, today),
        _pace("signed off", signed, total, today),
    ]
    return board


def text_lines(board: Dashboard) -> list[str]:
    lines = [f"{board.library}: {board.items} item(s), {board.takes} take(s)"]
    lines.append(
        "status:   "
        + ", ".join(f"{s} {board.by_status[s]}" for s in STATUSES if board.by_status[s])
    )
    for label, counts in sorted(board.by_carrier.items()):
        parts = ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s])
        lines.append(f"  {label:<22} {sum(counts.values()):>6}  ({parts})")
    hours = sum(board.hours_per_day.values())
    lines.append(f"captured: {hours:.1f} h over {len(board.hours_per_day)} day(s)")
    for day, h in list(board.hours_per_day.items())[-7:]:
        lines.append(f"  {day.isoformat()}  {h:6.2f} h")
    if board.qc_outcomes:
        lines.append(
            "QC (last take of each item): "
            + ", ".join(f"{k} {v}" for k, v in sorted(board.qc_outcomes.items()))
        )
    for p in board.paces:
        end = p.end.isoformat() if p.end else "no pace yet"
        lines.append(
            f"{p.what}: {p.done} done, {p.remaining} to go, {p.per_day:.1f} item(s)/day "
            f"over the last {PACE_WINDOW_DAYS} days; projected end {end}"
        )
    if board.on_hold:
        lines.append(f"on hold: {len(board.on_hold)}")
        for h in board.on_hold:
            lines.append(f"  {h['item']}: {h['reason']}" + (f" ({h['by']})" if h["by"] else ""))
    return lines


# ---------------------------------------------------------------------------------------------
# plots and the HTML page

_STATUS_COLOURS = {
    "listed": "#b0bec5",
    "inspected": "#90a4ae",
    "captured": "#64b5f6",
    "qc_done": "#1e88e5",
    "reviewed": "#5e35b1",
    "signed_off": "#2e7d32",
    "delivered": "#1b5e20",
    "on_hold": "#c62828",
}


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def plots(board: Dashboard) -> list[tuple[str, bytes]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = []
    labels = sorted(board.by_carrier)
    fig, ax = plt.subplots(figsize=(7.2, 0.6 + 0.35 * max(len(labels), 2)))
    left = [0] * len(labels)
    for status in STATUSES:
        counts = [board.by_carrier[c][status] for c in labels]
        if any(counts):
            ax.barh(labels, counts, left=left, color=_STATUS_COLOURS[status], label=status)
            left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.set_xlabel("items")
    ax.legend(fontsize=7, ncol=4, loc="lower right")
    fig.tight_layout()
    out.append(("Items by carrier and status", _png(fig)))

    if board.hours_per_day:
        days = list(board.hours_per_day)
        fig, ax = plt.subplots(figsize=(7.2, 2.4))
        ax.bar(days, list(board.hours_per_day.values()), color="#1e88e5")
        ax.set_ylabel("hours captured")
        fig.autofmt_xdate()
        fig.tight_layout()
        out.append(("Hours captured per day", _png(fig)))

    if board.qc_outcomes:
        kinds = [k for k in ("pass", "warn", "fail", "no QC") if board.qc_outcomes[k]]
        fig, ax = plt.subplots(figsize=(7.2, 1.6))
        ax.barh(
            kinds,
            [board.qc_outcomes[k] for k in kinds],
            color=[VERDICT_PRINT_COLOURS.get(k, "#9e9e9e") for k in kinds],
        )
        ax.set_xlabel("items (verdict of the last take)")
        fig.tight_layout()
        out.append(("QC outcomes", _png(fig)))
    return out


def write_html(board: Dashboard, out: Path) -> Path:
    """One self-contained page: the summary, the plots as data URIs, the holds."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Headblock dashboard: {esc(board.library)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:190mm;margin:1em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:left}img{width:100%}</style></head><body>",
        f"<h1>Dashboard of {esc(board.library)}</h1>",
        f"<p>{board.items} item(s), {board.takes} take(s), on {board.today.isoformat()}</p>",
        "<h2>Progress</h2><table><tr><th></th><th>done</th><th>to go</th>"
        "<th>items per day</th><th>projected end</th></tr>",
    ]
    for p in board.paces:
        parts.append(
            f"<tr><td>{esc(p.what)}</td><td>{p.done}</td><td>{p.remaining}</td>"
            f"<td>{p.per_day:.1f}</td><td>{p.end.isoformat() if p.end else 'no pace yet'}</td></tr>"
        )
    parts.append("</table><h2>Items by status</h2><table>")
    for s in STATUSES:
        parts.append(f"<tr><td>{s}</td><td>{board.by_status[s]}</td></tr>")
    parts.append("</table>")
    for caption, png in plots(board):
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(f"<h2>{esc(caption)}</h2><img alt='{esc(caption)}' src='{uri}'>")
    parts.append(f"<h2>On hold ({len(board.on_hold)})</h2>")
    if board.on_hold:
        parts.append("<table><tr><th>item</th><th>reason</th><th>by</th></tr>")
        for h in board.on_hold:
            parts.append(
                f"<tr><td>{esc(h['item'])}</td><td>{esc(h['reason'])}</td>"
                f"<td>{esc(h['by'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return write_atomic(out, "\n".join(parts))
