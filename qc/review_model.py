"""A take as the review window sees it: its QC result, events, envelopes and marks.

Read from the sidecars only (``qc.json``, ``envelope.npz``, ``vstats.npz``, ``review.json``),
so a two-hour take opens at once without decoding its master.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError
from metadata.review.marks import current_marks, take_paths
from metadata.take.naming import TakePaths
from qc.sidecars import Envelope, VStats, read_envelope, read_vstats
from qc.timecode import TakeTimecode, read_take_timecode


@dataclass
class ReviewModel:
    paths: TakePaths
    master: Path | None
    qc: dict
    events: list[dict]  # sorted by start time
    envelope: Envelope | None
    vstats: VStats | None
    marks: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timecode: TakeTimecode | None = None  # the tape's, when the master records it

    @property
    def duration_s(self) -> float:
        duration_s = self.qc.get("duration_s")
        if duration_s:
            return float(duration_s)
        if self.envelope is not None:
            return float(self.envelope.peak_dbfs.shape[0] * self.envelope.block_s)
        if self.vstats is not None and len(self.vstats.times_s):
            return float(self.vstats.times_s[-1])
        return 0.0

    @property
    def kind(self) -> str:
        return str(self.qc.get("kind") or ("video" if self.vstats is not None else "audio"))

    @property
    def frame_s(self) -> float:
        if self.vstats is not None and len(self.vstats.times_s) > 1:
            return float(np.median(np.diff(self.vstats.times_s[:200])))
        return 0.04

    def _starts(self) -> list[float]:
        return [float(event.get("start_s") or 0) for event in self.events]

    def event_after(self, current: int, cursor_s: float) -> int | None:
        """The event N goes to: the one after ``current`` while the cursor stands on it,
        else the first that starts after the cursor; None past the last."""
        starts = self._starts()
        if 0 <= current < len(starts) and abs(starts[current] - cursor_s) < 1e-6:
            following = current + 1
        else:
            following = next(
                (i for i, start in enumerate(starts) if start > cursor_s + 1e-6), len(starts)
            )
        return following if following < len(starts) else None

    def event_before(self, current: int, cursor_s: float) -> int | None:
        """The event P goes to, as ``event_after`` the other way; None before the first."""
        starts = self._starts()
        if 0 <= current < len(starts) and abs(starts[current] - cursor_s) < 1e-6:
            preceding = current - 1
        else:
            preceding = max(
                (i for i, start in enumerate(starts) if start < cursor_s - 1e-6), default=-1
            )
        return preceding if preceding >= 0 else None


def load_review_model(path: Path) -> ReviewModel:
    """The take at ``path`` (a take folder or a master) from its sidecars; HeadblockError if
    it has no QC result yet."""
    path = Path(path)
    if not path.exists():
        raise HeadblockError(f"{path} does not exist")
    paths = take_paths(path)
    if not paths.qc_json.exists():
        raise HeadblockError(f"{paths.stem} has no QC result yet")
    try:
        qc = json.loads(paths.qc_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HeadblockError(f"{paths.qc_json.name} is not a QC result: {exc}") from exc
    master = path if path.is_file() else paths.master_if_present()
    events = sorted(
        (event for event in qc.get("events") or [] if isinstance(event, dict)),
        key=lambda event: (float(event.get("start_s") or 0), str(event.get("check"))),
    )
    warnings = []
    try:
        marks = current_marks(paths.review_json) if paths.review_json.exists() else {}
    except HeadblockError as exc:  # the take still opens; new marks are refused, not lost
        marks = {}
        warnings.append(str(exc))
    return ReviewModel(
        paths,
        master,
        qc,
        events,
        read_envelope(paths),
        read_vstats(paths),
        marks,
        warnings,
        read_take_timecode(master),
    )


def needs_qc(path: Path) -> bool:
    return not take_paths(Path(path)).qc_json.exists()
