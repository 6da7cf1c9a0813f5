"""LTC read from a file's audio channel, and what it says: first and last timecode, rate,
breaks (where the code jumps or stops), and the timecode of the file's first sample."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from capture.timecode.ltc import LtcDecoder, LtcFrame
from capture.timecode.smpte import frames_per_day
from metadata.errors import HeadblockError
from metadata.progress import ProgressFn, no_progress

_BLOCK = 1 << 16
_SPEED_TOLERANCE = 0.25  # a frame counter running up to 25 % off the clock is still continuous


@dataclass(frozen=True)
class LtcBreak:
    """Where the code stops following itself: ``before`` is the last timecode of one stretch,
    ``after`` the first of the next (at sample ``position``)."""

    position: int
    at_s: float
    before: str
    after: str

    def to_dict(self) -> dict:
        return {
            "position": self.position,
            "at_s": round(self.at_s, 3),
            "before": self.before,
            "after": self.after,
        }


@dataclass
class LtcSummary:
    rate_hz: int
    channel: int
    frames: list[LtcFrame] = field(default_factory=list)
    breaks: list[LtcBreak] = field(default_factory=list)
    start_s: float = (
        0.0  # media time of the audio's first sample (a Matroska stream may start late)
    )

    @property
    def first(self) -> LtcFrame | None:
        return self.frames[0] if self.frames else None

    @property
    def last(self) -> LtcFrame | None:
        return self.frames[-1] if self.frames else None

    def samples_since_midnight(self) -> int | None:
        """The first sample's time of day as the code counts it (BWF ``TimeReference``): the
        first decoded frame's time, less the samples before it; None without code."""
        first = self.first
        if first is None:
            return None
        rate = first.rate
        day = int(round(frames_per_day(rate) * self.rate_hz / rate.rate))
        at_frame = int(round(first.frame_number * self.rate_hz / rate.rate))
        return (at_frame - first.position) % day

    def to_dict(self) -> dict:
        first, last = self.first, self.last
        return {
            "channel": self.channel,
            "rate_hz": self.rate_hz,
            "frames_decoded": len(self.frames),
            "fps": first.fps if first else None,
            "drop_frame": first.drop_frame if first else None,
            "first": first.to_dict() if first else None,
            "last": last.to_dict() if last else None,
            "samples_since_midnight": self.samples_since_midnight(),
            "breaks": [b.to_dict() for b in self.breaks],
        }


def _continuous(a: LtcFrame, b: LtcFrame, rate_hz: int) -> bool:
    if a.rate != b.rate:
        return False
    counted = (b.frame_number - a.frame_number) % frames_per_day(a.rate)
    elapsed = (b.position - a.position) * float(a.rate.rate) / rate_hz
    return counted >= 1 and abs(counted - elapsed) <= _SPEED_TOLERANCE * elapsed + 1.5


def summarize(
    frames: list[LtcFrame], rate_hz: int, channel: int = 1, start_s: float = 0.0
) -> LtcSummary:
    """The breaks of a list of decoded frames."""
    summary = LtcSummary(rate_hz, channel, list(frames), start_s=start_s)
    for a, b in zip(frames, frames[1:], strict=False):
        if not _continuous(a, b, rate_hz):
            summary.breaks.append(
                LtcBreak(b.position, b.position / rate_hz, a.timecode, b.timecode)
            )
    return summary


def _soundfile_blocks(
    path: Path, channel: int
) -> tuple[int, int, float, Iterator[np.ndarray]] | None:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # not a format libsndfile reads: try FFmpeg
        return None
    if not 1 <= channel <= info.channels:
        raise HeadblockError(f"{path.name} has {info.channels} channel(s); no channel {channel}")

    def blocks() -> Iterator[np.ndarray]:
        for block in sf.blocks(str(path), blocksize=_BLOCK, dtype="float32", always_2d=True):
            yield block[:, channel - 1]

    return info.samplerate, info.frames, 0.0, blocks()


def _av_blocks(path: Path, channel: int) -> tuple[int, int, float, Iterator[np.ndarray]]:
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:
        raise HeadblockError(f"cannot read {path}: {exc}") from exc
    if not container.streams.audio:
        container.close()
        raise HeadblockError(f"{path.name} has no audio to read timecode from")
    stream = container.streams.audio[0]
    channels = stream.codec_context.channels
    if not 1 <= channel <= channels:
        container.close()
        raise HeadblockError(f"{path.name} has {channels} channel(s); no channel {channel}")
    rate_hz = stream.codec_context.sample_rate
    total = int(float(stream.duration * stream.time_base) * rate_hz) if stream.duration else 0
    start_s = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    resampler = av.AudioResampler(format="fltp")

    def blocks() -> Iterator[np.ndarray]:
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        yield out.to_ndarray()[channel - 1]
        finally:
            container.close()

    return rate_hz, total, start_s, blocks()


def scan_file(path: Path, channel: int = 1, progress: ProgressFn = no_progress) -> LtcSummary:
    """Decode the LTC on ``channel`` (from 1) of an audio or video file."""
    path = Path(path)
    if not path.is_file():
        raise HeadblockError(f"no such file: {path}")
    if channel < 1:
        raise HeadblockError(f"channels count from 1, got {channel}")
    opened = _soundfile_blocks(path, channel) or _av_blocks(path, channel)
    rate_hz, total, start_s, blocks = opened
    decoder = LtcDecoder(rate_hz)
    frames: list[LtcFrame] = []
    done = 0
    try:
        for block in blocks:
            frames += decoder.feed(block)
            done += len(block)
            if total:
                progress(min(done / total, 1.0), "reading timecode")
    except HeadblockError:
        raise
    except Exception as exc:
        raise HeadblockError(f"cannot read the audio of {path}: {exc}") from exc
    frames += decoder.finish()
    return summarize(frames, rate_hz, channel, start_s)
