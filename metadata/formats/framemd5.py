"""Per-frame MD5 manifests (``ITEM_tNN.framemd5``) in FFmpeg's ``framemd5`` format.

Each frame is hashed over the bytes FFmpeg's ``rawvideo`` encoder makes of it (the planes
packed without line padding), as FFmpeg's ``framemd5`` muxer does. The header carries no
``#software: Lavf…`` line (FFmpeg's ``+bitexact`` form), so the sidecar depends on the essence
alone, not on the FFmpeg version that wrote it. Every other byte equals ``ffmpeg -i MASTER.mkv -map 0:v -f framemd5 -``
(and all bytes equal the same command with ``-fflags +bitexact``).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from metadata.errors import HeadblockError

HEADER_PREFIX = "#"


class FrameMD5Writer:
    """Write a framemd5 manifest while frames are written to the master.

    ``time_base`` is the frame period (``1/rate``); frames carry ``pts`` in that unit.
    ``sar`` is the sample aspect ratio the master declares (the ``#sar`` line; square when
    None, as ffmpeg prints for an undeclared ratio). ``path`` is a path or a text file object.
    Each frame's bytes come from FFmpeg's ``rawvideo`` encoder (planes packed without line
    padding), exactly what the ``framemd5`` muxer hashes.
    """

    def __init__(
        self,
        path,
        *,
        width: int,
        height: int,
        pix_fmt: str,
        time_base: Fraction,
        sar: Fraction | None = None,
        software: str | None = None,
    ):
        self.time_base = Fraction(time_base)
        self.frames = 0
        self._closed = False
        if hasattr(path, "write"):
            self._fh, self._own = path, False
        else:
            self._fh, self._own = open(path, "w", encoding="ascii", newline="\n"), True  # noqa: SIM115
        self._enc = av.CodecContext.create("rawvideo", "w")
        self._enc.width = width
        self._enc.height = height
        self._enc.pix_fmt = pix_fmt
        self._enc.time_base = self.time_base
        sar = Fraction(sar) if sar else Fraction(1, 1)
        tb = self.time_base
        header = ["#format: frame checksums", "#version: 2", "#hash: MD5"]
        if software:
            header.append(f"#software: {software}")
        header += [
            f"#tb 0: {tb.numerator}/{tb.denominator}",
            "#media_type 0: video",
            "#codec_id 0: rawvideo",
            f"#dimensions 0: {width}x{height}",
            f"#sar 0: {sar.numerator}/{sar.denominator}",
            "#stream#, dts,        pts, duration,     size, hash",
        ]
        self._fh.write("".join(line + "\n" for line in header))

    def write(self, frame: av.VideoFrame, pts: int | None = None) -> str:
        """Hash one frame; ``pts`` (frame index in ``time_base``) defaults to ``frame.pts``.

        Returns the line written (without its newline)."""
        index = frame.pts if pts is None else pts
        if index is None:
            index = self.frames
        lines = []
        for packet in self._enc.encode(frame):
            lines.append(
                f"0, {index:10d}, {index:10d}, {1:8d}, {packet.size:8d}, "
                + hashlib.md5(memoryview(packet)).hexdigest()  # no copy of the picture
            )
        self._fh.write("".join(line + "\n" for line in lines))
        self.frames += len(lines)
        return lines[-1] if lines else ""

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._own:
            self._fh.close()
        else:
            self._fh.flush()


def _frame_rate(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise HeadblockError("the video stream declares no frame rate; cannot write a framemd5")
    return Fraction(rate)


class StreamFrameMD5:
    """framemd5 lines of the decoded frames of one video stream, numbered as
    ``ffmpeg -f framemd5`` numbers them (timestamps in frame periods). Used by the read-back
    below and by QC, which hashes the frames it decodes anyway."""

    def __init__(self, stream):
        self.tb = 1 / _frame_rate(stream)
        self.sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        self._buf = io.StringIO()
        self._writer: FrameMD5Writer | None = None

    @property
    def frames(self) -> int:
        return self._writer.frames if self._writer is not None else 0

    def add(self, frame: av.VideoFrame) -> int:
        """Hash one decoded frame; returns its index in frame periods."""
        if self._writer is None:
            self._writer = FrameMD5Writer(
                self._buf,
                width=frame.width,
                height=frame.height,
                pix_fmt=frame.format.name,
                time_base=self.tb,
                sar=self.sar,
            )
        pts = frame.pts if frame.pts is not None else frame.dts
        index = (
            round(Fraction(pts) * frame.time_base / self.tb)
            if pts is not None
            else self._writer.frames
        )
        self._writer.write(frame, pts=index)
        return index

    def lines(self) -> list[str]:
        return self._buf.getvalue().splitlines()


def compute_framemd5(path, progress=None, on_frame=None) -> list[str]:
    """Re-decode a master's first video stream; return the framemd5 lines (without newlines).

    Timestamps are converted to the frame period as ``ffmpeg -f framemd5`` does.
    ``on_frame(index, seconds)`` is called after each frame (the integrity job collects the
    decoder's errors there).
    """
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise HeadblockError(f"cannot open {path}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise HeadblockError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        hasher = StreamFrameMD5(stream)
        total = float(stream.duration * stream.time_base) if stream.duration else 0.0
        for frame in container.decode(stream):
            index = hasher.add(frame)
            if on_frame is not None:
                on_frame(index, float(index * hasher.tb))
            if progress and total and hasher.frames % 30 == 0:
                progress(min(1.0, float(index * hasher.tb) / total), f"frame {hasher.frames}")
        if not hasher.frames:
            raise HeadblockError(f"{path.name} has no decodable video frame")
    return hasher.lines()


def read_framemd5(path) -> list[str]:
    """Lines of a framemd5 file (without newlines)."""
    return Path(path).read_text(encoding="ascii", errors="replace").splitlines()


def frame_lines(lines: list[str]) -> list[str]:
    """The per-frame lines only (header and comment lines dropped)."""
    return [line for line in lines if line and not line.startswith(HEADER_PREFIX)]


def frame_hashes(lines: list[str]) -> dict[int, str]:
    """{frame pts: "size, hash"} of the video lines (stream 0) of a framemd5, spacing ignored.
    Raises ValueError on a frame line whose pts is not a number."""
    out = {}
    for line in frame_lines(lines):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 6 and parts[0] == "0":
            out[int(parts[2])] = f"{parts[4]}, {parts[5]}"
    return out


def write_framemd5_lines(lines: list[str], path) -> None:
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="ascii")


# -- the comparison of decoded frames with the framemd5 written at capture ------------------

FRAME_DIFFERS = "differs from the frame written at capture"
FRAME_MISSING = "written at capture, not decoded now"
FRAME_EXTRA = "decoded now, not written at capture"


@dataclass
class FrameDifference:
    index: int  # the frame's pts in frame periods (its line in the framemd5)
    what: str  # FRAME_DIFFERS, FRAME_MISSING or FRAME_EXTRA


def differing_frames(written: dict[int, str], decoded: dict[int, str]) -> list[FrameDifference]:
    """The frames whose line differs between two ``frame_hashes`` maps, in frame order: the
    one comparison QC's ``framemd5`` check, the after-take integrity job and ``headblock
    verify`` share."""
    out = []
    for index in sorted(written.keys() | decoded.keys()):
        at_capture, now = written.get(index), decoded.get(index)
        if at_capture == now:
            continue
        what = (
            FRAME_MISSING if now is None else FRAME_EXTRA if at_capture is None else FRAME_DIFFERS
        )
        out.append(FrameDifference(index, what))
    return out


@dataclass
class FrameComparison:
    """A master decoded again and compared with its ``.framemd5``."""

    sidecar: str  # the framemd5's file name
    written: int  # frames it lists
    decoded: int  # frames decoded now
    rate: Fraction  # frames per second (the frame period is 1/rate)
    differences: list[FrameDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def frame_s(self) -> float:
        return float(1 / self.rate)

    def summary(self) -> str:
        if self.ok:
            return f"all {self.decoded} decoded frames match {self.sidecar}"
        bad = self.differences
        first = bad[0]
        return (
            f"{len(bad)} of {max(self.written, self.decoded)} frames differ from {self.sidecar} "
            f"(first: frame {first.index} {first.what})"
        )


def compare_framemd5(master, sidecar=None, progress=None, on_frame=None) -> FrameComparison:
    """Decode every frame of ``master``'s first video stream (nothing else is computed) and
    compare it with ``sidecar`` (default: the master's ``.framemd5``). HeadblockError when the
    master cannot be decoded or the sidecar cannot be read. ``on_frame``: as
    ``compute_framemd5``'s."""
    master = Path(master)
    sidecar = Path(sidecar) if sidecar is not None else master.with_suffix(".framemd5")
    try:
        written = frame_hashes(read_framemd5(sidecar))
    except OSError as exc:
        raise HeadblockError(f"cannot read {sidecar.name}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise HeadblockError(f"cannot read {sidecar.name}: {exc}") from exc
    if not written:
        raise HeadblockError(f"{sidecar.name} lists no frames")
    lines = compute_framemd5(master, progress, on_frame)
    decoded = frame_hashes(lines)
    rate = _rate_of_lines(lines)
    return FrameComparison(
        sidecar.name, len(written), len(decoded), rate, differing_frames(written, decoded)
    )


def _rate_of_lines(lines: list[str]) -> Fraction:
    """The frame rate from a framemd5's ``#tb 0: N/D`` header (the frame period)."""
    for line in lines:
        if line.startswith("#tb 0:"):
            return 1 / Fraction(line.split(":", 1)[1].strip())
    raise HeadblockError("the framemd5 has no time base line")
