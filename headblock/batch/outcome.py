"""What a batch says about one file: its outcome and the reason, in one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Worst first: the order of the summary and the report.
# ``done``: made what the verb makes (an access copy, a package).
OUTCOMES = ("fail", "failed", "error", "warn", "pass", "verified", "done", "skipped")
PROBLEMS = ("fail", "failed", "error")


@dataclass(frozen=True)
class Unit:
    """One file a batch works on. ``path`` is absolute; ``take_dir`` is set when the file
    belongs to a take folder (its catalogue row is then brought in line); ``sidecar`` is a
    verb's own companion file (verify: the ``.md5``); ``members`` the take folders a unit
    stands for when it is more than one file (package: an item's takes)."""

    path: str
    size_bytes: int
    take_dir: str | None = None
    sidecar: str | None = None
    members: tuple[str, ...] = ()


@dataclass
class Outcome:
    path: str
    outcome: str  # one of OUTCOMES
    reason: str = ""
    size_bytes: int = 0
    seconds: float = 0.0  # the worker's time on it
    worker: str = ""
    at_utc: str = ""
    resumed: bool = False  # taken from the journal of an interrupted batch
    notes: list[str] = field(default_factory=list)  # records that could not be written

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Outcome:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        out = cls(**known)
        if out.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {out.outcome!r}")
        return out


def worst_first(outcome: Outcome) -> tuple[int, str]:
    return (OUTCOMES.index(outcome.outcome), outcome.path)
