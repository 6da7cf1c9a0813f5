"""One audio file or stream through the accumulator and every enabled audio detector of
``qc.table``: the checks, events, statistics and envelope of the audio checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError
from qc import measures
from qc.audio.accumulator import AudioAccumulator, AudioFindings
from qc.audio.loudness import integrated_or_none
from qc.audio.reading import AudioSource, prefetch
from qc.profiles import Profile
from qc.result import CheckResult, QCEvent, status_of
from qc.table import checks_for


@dataclass
class AudioQC:
    """What the audio checks found: per-check results, events, statistics and the envelope."""

    checks: list[CheckResult]
    events: list[QCEvent]
    stats: dict
    envelope: dict = field(default_factory=dict)  # arrays for ITEM_tNN.envelope.npz
    duration_s: float = 0.0


class AudioAnalyzer(AudioAccumulator):
    """``feed`` the chunks in order; ``finish`` runs the detectors and returns an AudioQC."""

    def finish(self, log_path: Path | None = None) -> AudioQC:
        found = self.findings(log_path)
        found.stats.update({"rate_hz": self.rate_hz, "channels": self.channels})
        checks, events = [], []
        # in table order: a detector sees the events of those before it (click: clipping, dropout)
        for spec in checks_for("audio"):
            if not self.profile.enabled(spec.id):
                continue
            found_events, summary = spec.detector(found, found.thresholds[spec.id])
            found.found[spec.id] = found_events
            checks.append(CheckResult(spec.id, status_of(found_events), len(found_events), summary))
            events.extend(found_events)
        found.stats.update(_level_stats(found))
        envelope = {
            "block_s": np.float64(found.block_frames / found.rate_hz),
            "rate_hz": np.int64(found.rate_hz),
            "offset_s": np.float64(found.offset_s),
            "peak_dbfs": measures.dbfs(found.peak).astype(np.float16),
            "rms_dbfs": found.rms_db.astype(np.float16),
        }
        return AudioQC(checks, events, found.stats, envelope, found.duration_s)


def _level_stats(found: AudioFindings) -> dict:
    """Loudness, peaks, RMS, DC and correlation of the whole take, per channel."""
    ch = found.channels
    peak, rms, dc = found.peak, found.rms, found.dc
    integrated = integrated_or_none(found.integrated_lufs)
    lra = found.loudness_range_lu
    stats = {
        "integrated_lufs": None if integrated is None else round(integrated, 2),
        "loudness_range_lu": None if lra is None else round(lra, 2),
        "true_peak_dbtp": [round(float(v), 2) for v in found.true_peak_dbtp],
        "sample_peak_dbfs": [
            round(float(v), 2)
            for v in measures.dbfs(peak.max(axis=0) if len(peak) else np.zeros(ch))
        ],
        "rms_dbfs": [
            round(float(v), 2)
            for v in measures.power_db(
                (rms.astype(np.float64) ** 2).mean(axis=0) if len(rms) else np.zeros(ch)
            )
        ],
        "dc_offset": [
            float(v) for v in (dc.astype(np.float64).mean(axis=0) if len(dc) else np.zeros(ch))
        ],
        "clipped_samples": [int(v) for v in found.clip_samples],
    }
    if ch >= 2 and len(rms):
        sumsq = (rms[:, :2].astype(np.float64) ** 2).sum(axis=0) * found.block_frames
        stats["correlation"] = round(
            float(measures.correlation_from_sums(found.cross.sum(), sumsq[0], sumsq[1])), 3
        )
    return stats


def run_audio_checks(
    path: Path,
    profile: Profile,
    progress=None,
    log_path: Path | None = None,
    stream_index: int | None = None,
    progress_span: tuple[float, float] = (0.0, 1.0),
) -> AudioQC:
    """Every enabled audio check over one file (or one audio stream of a media file)."""
    with AudioSource(path, stream_index) as src:
        info = src.info
        analyzer = AudioAnalyzer(info.rate_hz, info.channels, profile, offset_s=info.start_s)
        total = info.frames or 0
        lo, hi = progress_span
        try:
            for chunk in prefetch(src.chunks()):
                analyzer.feed(chunk)
                if progress and total:
                    progress(lo + (hi - lo) * min(1.0, analyzer.frames / total), "audio")
        finally:
            analyzer.close()
        if analyzer.frames == 0:
            raise HeadblockError(f"{Path(path).name}: the audio holds no samples")
        result = analyzer.finish(log_path)
        result.stats["container"] = info.container
        result.stats["subtype"] = info.subtype
        return result
