"""The coordinator's view of a digitization project: how far it is and when it will end.

Items by status and carrier come from the inventory (status as metadata.catalogue.inventory
derives it); hours captured per day, QC outcomes and sign-offs from the catalogue's index of
the takes (``headblock catalogue rebuild`` brings it in line with the folders). The pace is
taken over the last PACE_WINDOW_DAYS days: items whose first take was captured, and items
signed off; the projected end date is today plus what remains divided by that pace.

The fixity audit's state (``headblock batch verify`` fills the catalogue's ``fixity`` table):
when the library was last audited, files verified, failures first, files never verified and
files last verified more than AUDIT_MAX_AGE ago. ``plots`` draws with matplotlib's object API
(no pyplot), so a worker thread may draw while the window runs.
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

from metadata.catalogue.database import fixity_state, list_takes
from metadata.catalogue.inventory import STATUSES, list_items
from metadata.clock import format_minute, utc_now
from metadata.files import write_atomic
from metadata.take.meta import CARRIERS
from metadata.verdicts import VERDICT_PRINT_COLOURS

PACE_WINDOW_DAYS = 14
AUDIT_MAX_AGE = timedelta(days=90)
MAX_FILES_LISTED = 50  # failures and files overdue named in the text, page and PDF
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
class FixityAudit:
    """The fixity audit's state over every take of the library."""

    files: int = 0  # masters and derivatives known to the audit (a take never checked: 1)
    verified: int = 0  # last check a success
    failed: list[dict] = field(default_factory=list)  # last check a failure: take, file, when
    never: list[dict] = field(default_factory=list)  # never verified: take, file
    overdue: list[dict] = field(default_factory=list)  # verified longer ago than AUDIT_MAX_AGE
    last_audit: datetime | None = None  # the newest check of any file

    @property
    def recent(self) -> int:
        """Verified within AUDIT_MAX_AGE (and not failed since)."""
        return self.verified - len(self.overdue)


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
    captured_per_day: dict[date, int] = field(default_factory=dict)  # items first captured
    signed_per_day: dict[date, int] = field(default_factory=dict)  # items first signed off
    fixity: FixityAudit = field(default_factory=FixityAudit)


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


def _aware(dt: datetime | None) -> datetime | None:
    if not isinstance(dt, datetime):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def audit_state(rows: list[dict], now: datetime) -> FixityAudit:
    """Rows of ``metadata.catalogue.database.fixity_state`` to the audit's state."""
    audit = FixityAudit(files=len(rows))
    for r in rows:
        name = r["file"] or (Path(r["master"]).name if r["master"] else r["identifier"])
        checked, verified = _aware(r["checked_utc"]), _aware(r["verified_utc"])
        if checked is not None and (audit.last_audit is None or checked > audit.last_audit):
            audit.last_audit = checked
        entry = {"take": r["identifier"], "file": name, "checked": checked, "verified": verified}
        if r["outcome"] == "failure":
            audit.failed.append(entry)
        elif verified is None:
            audit.never.append(entry)
        else:
            audit.verified += 1
            if now - verified > AUDIT_MAX_AGE:
                audit.overdue.append(entry)
    audit.failed.sort(key=lambda e: (e["checked"] or now, e["take"]), reverse=True)
    return audit


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
    board.captured_per_day = dict(sorted(Counter(first_capture.values()).items()))
    board.signed_per_day = dict(sorted(Counter(signed.values()).items()))
    board.fixity = audit_state(fixity_state(library, url), utc_now())
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
    lines += audit_lines(board.fixity)
    return lines


def audit_summary(audit: FixityAudit) -> str:
    last = f"{format_minute(audit.last_audit)} UTC" if audit.last_audit else "never"
    days = AUDIT_MAX_AGE.days
    return (
        f"fixity: last audit {last}; {audit.files} file(s): {audit.recent} verified within "
        f"{days} days, {len(audit.failed)} failed, {len(audit.never)} never verified, "
        f"{len(audit.overdue)} last verified more than {days} days ago"
    )


def audit_lines(audit: FixityAudit) -> list[str]:
    """The summary, then failures (newest first), files never verified, files overdue."""
    lines = [audit_summary(audit)]
    for title, entries in (
        ("FAILED", audit.failed),
        ("never verified", audit.never),
        ("overdue", audit.overdue),
    ):
        for e in entries[:MAX_FILES_LISTED]:
            when = e["checked"] if title == "FAILED" else e["verified"]
            at = f" ({format_minute(when)} UTC)" if when else ""
            lines.append(f"  {title}: {e['take']} {e['file']}{at}")
        if len(entries) > MAX_FILES_LISTED:
            lines.append(f"  … and {len(entries) - MAX_FILES_LISTED} more {title}")
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


def _figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100)


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def throughput_series(board: Dashboard, what: str) -> tuple[list[date], list[int]]:
    """Cumulative items per day (``what``: "captured" or "signed off")."""
    per_day = board.captured_per_day if what == "captured" else board.signed_per_day
    days, totals, total = [], [], 0
    for day, n in per_day.items():
        total += n
        days.append(day)
        totals.append(total)
    return days, totals


AUDIT_COLOURS = {
    "failed": "#c62828",
    "never verified": "#9e9e9e",
    "overdue": "#f9a825",
    "verified": "#2e7d32",
}


def audit_counts(audit: FixityAudit) -> dict[str, int]:
    days = AUDIT_MAX_AGE.days
    return {
        "failed": len(audit.failed),
        "never verified": len(audit.never),
        f"over {days} days": len(audit.overdue),
        f"within {days} days": audit.recent,
    }


def plots(board: Dashboard) -> list[tuple[str, bytes]]:
    """(caption, PNG) per plot: carriers and statuses, hours per day, QC outcomes, throughput
    with the projected end, the fixity audit."""
    out = []
    labels = sorted(board.by_carrier)
    fig = _figure(7.2, 0.6 + 0.35 * max(len(labels), 2))
    ax = fig.add_subplot()
    left = [0] * len(labels)
    for status in STATUSES:
        counts = [board.by_carrier[c][status] for c in labels]
        if any(counts):
            ax.barh(labels, counts, left=left, color=_STATUS_COLOURS[status], label=status)
            left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.set_xlabel("items")
    if labels:
        ax.legend(fontsize=7, ncol=4, loc="lower right")
    fig.tight_layout()
    out.append(("Items by carrier and status", _png(fig)))

    if board.hours_per_day:
        days = list(board.hours_per_day)
        fig = _figure(7.2, 2.4)
        ax = fig.add_subplot()
        ax.bar(days, list(board.hours_per_day.values()), color="#1e88e5")
        ax.set_ylabel("hours captured")
        fig.autofmt_xdate()
        fig.tight_layout()
        out.append(("Hours captured per day", _png(fig)))

    if board.qc_outcomes:
        kinds = [k for k in ("pass", "warn", "fail", "no QC") if board.qc_outcomes[k]]
        fig = _figure(7.2, 1.6)
        ax = fig.add_subplot()
        ax.barh(
            kinds,
            [board.qc_outcomes[k] for k in kinds],
            color=[VERDICT_PRINT_COLOURS.get(k, "#9e9e9e") for k in kinds],
        )
        ax.set_xlabel("items (verdict of the last take)")
        fig.tight_layout()
        out.append(("QC outcomes", _png(fig)))

    if board.captured_per_day:
        fig = _figure(7.2, 2.6)
        ax = fig.add_subplot()
        for pace, colour in zip(board.paces, ("#1e88e5", "#2e7d32"), strict=False):
            days, totals = throughput_series(board, pace.what)
            if not days:
                continue
            ax.step(days, totals, where="post", color=colour, label=f"items {pace.what}")
            if pace.end is not None and pace.remaining > 0:  # at the present pace
                ax.plot(
                    [board.today, pace.end],
                    [totals[-1], totals[-1] + pace.remaining],
                    linestyle="--",
                    color=colour,
                    label=f"projected: {pace.end.isoformat()}",
                )
        ax.axhline(board.items, color="#757575", linewidth=0.8)
        ax.set_ylabel("items (cumulative)")
        ax.legend(fontsize=7, loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        out.append(("Throughput and projected end", _png(fig)))

    if board.fixity.files:
        counts = audit_counts(board.fixity)
        fig = _figure(7.2, 1.6)
        ax = fig.add_subplot()
        ax.barh(list(counts), list(counts.values()), color=list(AUDIT_COLOURS.values()))
        ax.invert_yaxis()  # failures first
        ax.set_xlabel("files (fixity audit)")
        fig.tight_layout()
        out.append(("Fixity audit", _png(fig)))
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
    audit = board.fixity
    parts.append(f"<h2>Fixity audit</h2><p>{esc(audit_summary(audit))}</p>")
    listed = [("FAILED", e) for e in audit.failed] + [("never verified", e) for e in audit.never]
    listed += [("overdue", e) for e in audit.overdue]
    if listed:
        parts.append("<table><tr><th></th><th>take</th><th>file</th><th>last verified</th></tr>")
        for what, e in listed[: 3 * MAX_FILES_LISTED]:
            parts.append(
                f"<tr><td>{what}</td><td>{esc(e['take'])}</td><td>{esc(e['file'])}</td>"
                f"<td>{format_minute(e['verified'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return write_atomic(out, "\n".join(parts))
