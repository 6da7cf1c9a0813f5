"""The QC result and its JSON (``ITEM_tNN.qc.json``), a fixed format scripts and the station read.

Also the event merger every check uses: findings in neighbouring blocks or frames (closer than
a gap) become one event with a start, an end and the worst value.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.files import write_atomic
from metadata.verdicts import STATUSES, worst  # noqa: F401 - QC's vocabulary, re-exported


@dataclass
class QCEvent:
    check: str
    start_s: float
    end_s: float
    channel: int | None  # counts from 1; None for the whole file or all channels
    severity: str  # "warn" | "fail"
    value: float | None
    detail: str = ""

    def to_dict(self) -> dict:
        return {
            "check": self.check,
            "start_s": round(float(self.start_s), 6),
            "end_s": round(float(self.end_s), 6),
            "channel": None if self.channel is None else int(self.channel),
            "severity": self.severity,
            "value": _json_number(self.value),
            "detail": self.detail,
        }


@dataclass
class CheckResult:
    id: str
    status: str  # "pass" | "warn" | "fail"
    count: int
    summary: str = ""

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "count": int(self.count),
            "summary": self.summary,
        }


@dataclass
class QCResult:
    file: str
    kind: str  # "audio" | "video"
    duration_s: float
    profile: str
    verdict: str = "pass"
    checks: list[CheckResult] = field(default_factory=list)
    events: list[QCEvent] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    # the after-take integrity job's state (qc.integrity); None until it is pending
    integrity: dict | None = None
    # records (PREMIS, catalogue) that could not be brought in line; not part of qc.json
    record_failures: list[str] = field(default_factory=list, compare=False)

    def update_verdict(self) -> str:
        """Verdict = the worst check status."""
        self.verdict = worst(*(c.status for c in self.checks))
        return self.verdict

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def events_of(self, check_id: str) -> list[QCEvent]:
        return [e for e in self.events if e.check == check_id]

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "kind": self.kind,
            "duration_s": round(float(self.duration_s), 6),
            "profile": self.profile,
            "verdict": self.verdict,
            "checks": [c.to_dict() for c in self.checks],
            "events": [
                e.to_dict() for e in sorted(self.events, key=lambda e: (e.start_s, e.check))
            ],
            "stats": _jsonable(self.stats),
            **({"integrity": _jsonable(self.integrity)} if self.integrity is not None else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> QCResult:
        try:
            return cls(
                file=d["file"],
                kind=d["kind"],
                duration_s=float(d["duration_s"]),
                profile=d["profile"],
                verdict=d["verdict"],
                checks=[CheckResult(**c) for c in d["checks"]],
                events=[QCEvent(**e) for e in d["events"]],
                stats=d.get("stats", {}),
                integrity=d["integrity"] if isinstance(d.get("integrity"), dict) else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HeadblockError(f"not a QC result: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> QCResult:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise HeadblockError(
                f"not a QC result (bad JSON: {exc.msg} at line {exc.lineno})"
            ) from exc

    def write(self, path: Path) -> Path:
        """Write atomically (a reader never sees half a file)."""
        return write_atomic(path, self.to_json() + "\n")

    @classmethod
    def read(cls, path: Path) -> QCResult:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise HeadblockError(f"cannot read {path}: {exc.strerror}") from exc
        return cls.from_json(text)


def _json_number(v):
    if v is None:
        return None
    v = float(v)
    if not math.isfinite(v):
        return None
    return round(v, 6)


def _jsonable(obj):
    """numpy scalars/arrays and non-finite floats made JSON-safe (NaN/inf become null)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return round(obj, 6) if math.isfinite(obj) else None
    if hasattr(obj, "__dataclass_fields__"):
        return _jsonable(asdict(obj))
    return str(obj)


class EventMerger:
    """Builds events from findings that arrive in time order (per channel).

    ``add`` a finding; it joins the open event of its channel when it starts within ``gap_s``
    of that event's end, else the open event is closed. The merged event keeps the worst
    severity and the worst value (``lower_is_worse`` for levels or correlations).
    At most ``max_events`` are kept; ``count`` counts them all.
    """

    def __init__(
        self, check: str, gap_s: float, lower_is_worse: bool = False, max_events: int = 5000
    ):
        self.check = check
        self.gap_s = gap_s
        self.lower_is_worse = lower_is_worse
        self.max_events = max_events
        self._open: dict = {}
        self.events: list[QCEvent] = []
        self.count = 0

    def _is_worse(self, a, b) -> bool:
        if b is None:
            return a is not None
        if a is None:
            return False
        return a < b if self.lower_is_worse else a > b

    def add(
        self,
        start_s: float,
        end_s: float,
        channel: int | None,
        severity: str,
        value: float | None,
        detail: str = "",
    ) -> None:
        ev = self._open.get(channel)
        if ev is not None and start_s <= ev.end_s + self.gap_s:
            ev.end_s = max(ev.end_s, end_s)
            ev.severity = worst(ev.severity, severity)
            if self._is_worse(value, ev.value):
                ev.value = value
                ev.detail = detail or ev.detail
            return
        if ev is not None:
            self._close(ev)
        self._open[channel] = QCEvent(self.check, start_s, end_s, channel, severity, value, detail)

    def _close(self, ev: QCEvent) -> None:
        self.count += 1
        if len(self.events) < self.max_events:
            self.events.append(ev)

    def finish(self) -> list[QCEvent]:
        for ev in self._open.values():
            self._close(ev)
        self._open = {}
        self.events.sort(key=lambda e: (e.start_s, e.channel or 0))
        return self.events


def merge_events(
    events: list[QCEvent], gap_s: float, lower_is_worse: bool = False
) -> list[QCEvent]:
    """Merge events of the same check and channel that lie within ``gap_s`` of each other."""
    out: list[QCEvent] = []
    by_check: dict[str, list[QCEvent]] = {}
    for e in events:
        by_check.setdefault(e.check, []).append(e)
    for check, evs in by_check.items():
        merger = EventMerger(check, gap_s, lower_is_worse, max_events=len(evs) + 1)
        for e in sorted(evs, key=lambda e: e.start_s):
            merger.add(e.start_s, e.end_s, e.channel, e.severity, e.value, e.detail)
        out.extend(merger.finish())
    return out


def status_of(events: list[QCEvent]) -> str:
    return worst(*(e.severity for e in events))
