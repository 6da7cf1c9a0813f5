"""The QC verdict vocabulary: pass < warn < fail, the order lists sort them in, their colours.

The one place these are defined; QC, the catalogue, the report and the window all read it.
"""

from __future__ import annotations

STATUSES = ("pass", "warn", "fail")
_SEVERITY = {s: i for i, s in enumerate(STATUSES)}

# Colours shared by the report and the window (Material red, orange, green).
VERDICT_COLOURS = {"fail": "#e53935", "warn": "#fb8c00", "pass": "#43a047"}
# Darker shades for the QC report (HTML and PDF): white text on them stays legible in print.
VERDICT_PRINT_COLOURS = {"pass": "#2e7d32", "warn": "#b26a00", "fail": "#c62828"}


def worst(*statuses: str) -> str:
    """The worst of pass < warn < fail (pass when given none)."""
    return max(statuses, key=_SEVERITY.__getitem__, default="pass")


def severity(status: str | None) -> int:
    """0 for pass (or unknown), 1 warn, 2 fail: larger is worse."""
    return _SEVERITY.get(status or "", 0)


def worst_first(verdict: str | None) -> int:
    """Sort key putting fail first, then warn, pass, and takes without a verdict last."""
    return {"fail": 0, "warn": 1, "pass": 2}.get(verdict or "", 3)
