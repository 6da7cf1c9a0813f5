"""Per-frame video statistics in the file's native bit depth, as QCTools gets them from
FFmpeg's ``signalstats`` (plus black, freeze and streak figures), and the ``.vstats.npz`` sidecar.

Definitions follow ``libavfilter/vf_signalstats.c``:

* Y/U/V MIN, LOW (10th percentile), AVG, HIGH (90th), MAX from full histograms of the plane.
* SAT = ``trunc(hypot(U - mid, V - mid))`` per chroma sample; SATAVG, SATMAX.
* TOUT: share of luma pixels that are vertical outliers against the lines 1 and 2 above and
  below in three neighbouring columns: ``(|a-b| + |c-b|) // 2 - |c-a| > 4`` (4 scaled to the
  bit depth here; FFmpeg feeds the low 8 bits of 10-bit samples to that test, which makes its
  10-bit TOUT noise — see ``tout_outlier_threshold``).
* VREP: share of lines whose summed absolute difference to the line 4 above is below the width.
* BRNG: share of pixels with luma outside 16..235 or chroma outside 16..240 (scaled).
* YDIF: mean absolute luma difference to the previous frame (signalstats YDIF).

Added for the checks: MAFD (freezedetect's mean absolute frame difference over all planes,
as a fraction of full scale), BLACK (share of luma pixels at or below blackdetect's pixel
threshold), SATOVER (share of chroma samples above the saturation limit), STREAK (the largest
share of one line's pixels that are TOUT outliers: a horizontal dropout streak).

Every figure is exact (no decimation): OpenCV operations on the native planes with reused
buffers cost about 3 ms a frame at 720x486 10-bit, against about 25 ms of FFV1 decoding.
Decoding runs in a thread feeding a bounded queue while this thread analyses; FFmpeg decodes
with its own slice threads and OpenCV/numpy release the GIL, so both cores stay busy.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np

from metadata.errors import HeadblockError
from metadata.files import atomic_path
from metadata.formats.framemd5 import StreamFrameMD5
from metadata.formats.pixfmt import pixel_format
from metadata.progress import ProgressFn, no_progress
from qc.table import CHECKS

# Column order of the per-frame table (float32, as in the sidecar; pts_s is float64).
FIELDS = (
    "YMIN",
    "YLOW",
    "YAVG",
    "YHIGH",
    "YMAX",
    "UMIN",
    "ULOW",
    "UAVG",
    "UHIGH",
    "UMAX",
    "VMIN",
    "VLOW",
    "VAVG",
    "VHIGH",
    "VMAX",
    "SATAVG",
    "SATMAX",
    "TOUT",
    "VREP",
    "BRNG",
    "YDIF",
    "MAFD",
    "BLACK",
    "SATOVER",
    "STREAK",
)
COL = {name: i for i, name in enumerate(FIELDS)}

VSTATS_VERSION = 1
ANALYSIS_CV_THREADS = 1
QUEUE_FRAMES = 6  # decoded frames waiting for analysis: bounds memory whatever the file length


@dataclass(frozen=True)
class AnalysisParams:
    """Thresholds that shape some statistics (stored with them in the sidecar)."""

    # blackdetect pix_th: share of the 16..235 range
    black_pixel_threshold: float = CHECKS["black"].thresholds["pixel_black_threshold"].default
    # SATOVER counts chroma samples above this (scaled)
    satmax_10bit: float = CHECKS["saturation"].thresholds["satmax_10bit"].default
    tout_ffmpeg_8bit_quirk: bool = False  # reproduce FFmpeg's low-8-bit TOUT at 10 bits


def tout_outlier_threshold(bit_depth: int) -> int:
    """signalstats' outlier margin (4 at 8 bits), scaled to the native depth."""
    return 4 << max(bit_depth - 8, 0)


class FrameAnalyzer:
    """Statistics of one frame from its native planes (uint8 or uint16 arrays, any strides)."""

    def __init__(
        self,
        width: int,
        height: int,
        bit_depth: int,
        chroma_shift: tuple[int, int] = (1, 0),
        params: AnalysisParams | None = None,
    ):
        self.params = params or AnalysisParams()
        self.w, self.h = int(width), int(height)
        self.depth = int(bit_depth)
        self.hsub, self.vsub = chroma_shift
        self.cw = -(-self.w >> self.hsub)
        self.ch = -(-self.h >> self.vsub)
        self.mult = 1 << (self.depth - 8)
        self.size = 1 << self.depth
        self.mid = 1 << (self.depth - 1)
        self.fs = self.w * self.h
        self.cfs = self.cw * self.ch
        self.lowp = _lrint(self.fs * 10 / 100.0)
        self.highp = _lrint(self.fs * 90 / 100.0)
        self.clowp = _lrint(self.cfs * 10 / 100.0)
        self.chighp = _lrint(self.cfs * 90 / 100.0)
        self.levels = np.arange(self.size, dtype=np.float64)
        scale = self.mult
        self.luma_lo, self.luma_hi = 16 * scale, 235 * scale
        self.chroma_lo, self.chroma_hi = 16 * scale, 240 * scale
        pix = self.params.black_pixel_threshold
        self.black_level = int((16 + pix * (235 - 16)) * scale)
        lim = self.params.satmax_10bit * self.size / 1024.0
        self.sat_limit_sq = lim * lim
        margin = 2 * tout_outlier_threshold(self.depth) + 2
        if self.params.tout_ffmpeg_8bit_quirk:
            margin = 10
        self._tout_scalar = float(margin - 1)
        self._kernel13 = np.ones((1, 3), np.uint8)
        # reused work buffers (luma-sized uint16 and masks, chroma-sized float32)
        self._wb = [np.empty((max(self.h - 2, 1), self.w), np.uint16) for _ in range(2)]
        self._mask = np.empty((max(self.h - 2, 1), self.w), np.uint8)
        self._mask2 = np.empty_like(self._mask)
        self._cb = [np.empty((self.ch, self.cw), np.float32) for _ in range(3)]
        self._ci = np.empty((self.ch, self.cw), np.int32)
        self._cmask = np.empty((self.ch, self.cw), np.uint8)
        # row sums stay exact in float32 below 2^24
        self._row_sum_type = cv2.CV_32F if self.w * self.size < (1 << 24) else cv2.CV_64F
        self._prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        self._prev = None

    # -- histograms ---------------------------------------------------------------------
    def _hist(self, plane: np.ndarray) -> np.ndarray:
        h = cv2.calcHist([plane], [0], None, [self.size], [0, self.size])
        return h.ravel().astype(np.int64)

    def _hist_stats(self, hist: np.ndarray, lowp: int, highp: int, count: int):
        nz = np.flatnonzero(hist)
        if nz.size == 0:
            return (0, 0, 0.0, 0, 0)
        cum = np.cumsum(hist)
        low = int(np.searchsorted(cum, lowp, side="left"))
        high = int(np.searchsorted(cum, highp, side="left"))
        avg = float(hist @ self.levels) / count
        return (int(nz[0]), low, avg, high, int(nz[-1]))

    # -- the outlier filters -------------------------------------------------------------
    def _outliers(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """255 where b is a vertical outlier between a and c in three neighbouring columns.

        signalstats' test ``(|a-b| + |c-b|) // 2 - |c-a| > T`` is exactly
        ``|a-b| + |c-b| - 2|c-a| >= 2T + 2``; in uint16 a negative left side saturates to 0,
        below the margin, so saturating arithmetic gives the same answer (up to 14-bit input).
        Work buffers are reused: fresh 700 kB arrays per operation cost more than the maths.
        """
        n = len(a)
        b0, b1 = self._wb[0][:n], self._wb[1][:n]
        s1 = cv2.add(cv2.absdiff(a, b, dst=b0), cv2.absdiff(c, b, dst=b1), dst=b0)
        d = cv2.absdiff(a, c, dst=b1)
        score = cv2.subtract(s1, cv2.add(d, d, dst=b1), dst=b0)
        mask = cv2.compare(score, self._tout_scalar, cv2.CMP_GT, dst=self._mask[:n])
        # all three neighbouring columns must be outliers: a horizontal erosion
        return cv2.erode(mask, self._kernel13, dst=self._mask2[:n])

    def _tout(self, y: np.ndarray) -> tuple[int, int]:
        """(outlier pixel count, largest count on one line).

        A pixel counts when it is an outlier against lines 1 and 2 away (rows 1 and h-2 only
        against line 1). Erosion distributes over AND, so the lines-2-away test runs only on
        the rows that already have candidates from the lines-1-away test: exact, and cheap on
        clean pictures.
        """
        h, w = y.shape
        if h < 3 or w < 3:
            return 0, 0
        if self.params.tout_ffmpeg_8bit_quirk and y.dtype != np.uint8:
            y = cv2.bitwise_and(y, 0xFF)
        elif y.dtype == np.uint8:
            y = y.astype(np.uint16)
        e1 = self._outliers(y[:-2], y[1:-1], y[2:])[:, 1:-1]  # rows 1..h-2, columns 1..w-2
        rows1 = cv2.reduce(e1, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() // 255
        counts = rows1.copy()
        if h >= 5:
            cand = np.flatnonzero(rows1[1:-1]) + 2  # frame rows 2..h-3 with candidates
            counts[1:-1] = 0
            if cand.size:
                e1c = e1[cand - 1].copy()
                if cand.size * 3 > h:
                    e2 = self._outliers(y[:-4], y[2:-2], y[4:])[:, 1:-1][cand - 2]
                else:
                    e2 = self._outliers(y[cand - 2], y[cand], y[cand + 2])[:, 1:-1]
                both = cv2.bitwise_and(e1c, e2)
                counts[cand - 1] = (
                    cv2.reduce(both, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() // 255
                )
        total = int(counts.sum())
        return total, (int(counts.max()) if total else 0)

    def _vrep(self, y: np.ndarray) -> int:
        h, w = y.shape
        if h <= 4:
            return 0
        diff = cv2.absdiff(y[4:], y[:-4])
        sums = cv2.reduce(diff, 1, cv2.REDUCE_SUM, dtype=self._row_sum_type).ravel()
        return int(np.count_nonzero(sums < w))

    def _brng(self, y, u, v, hy, hu, hv) -> int:
        luma_out = int(hy[: self.luma_lo].sum() + hy[self.luma_hi + 1 :].sum())
        cu = int(hu[: self.chroma_lo].sum() + hu[self.chroma_hi + 1 :].sum())
        cv_ = int(hv[: self.chroma_lo].sum() + hv[self.chroma_hi + 1 :].sum())
        if cu == 0 and cv_ == 0:
            return luma_out
        # chroma out of range somewhere: count pixels exactly (rare, so the slow path is fine)
        lo = (y < self.luma_lo) | (y > self.luma_hi)
        co = (
            (u < self.chroma_lo)
            | (u > self.chroma_hi)
            | (v < self.chroma_lo)
            | (v > self.chroma_hi)
        )
        rows = np.arange(self.h) >> self.vsub
        cols = np.arange(self.w) >> self.hsub
        return int(np.count_nonzero(lo | co[rows][:, cols]))

    def _sat(self, u: np.ndarray, v: np.ndarray) -> tuple[float, int, int]:
        # float32 squares and their sum are exact below 2^24 and cv2.sqrt is correctly
        # rounded, so truncating it gives exactly signalstats' trunc(hypot(U - mid, V - mid)).
        f0, f1, f2 = self._cb
        np.copyto(f0, cv2.absdiff(u, self.mid), casting="unsafe")
        np.copyto(f1, cv2.absdiff(v, self.mid), casting="unsafe")
        sq = cv2.add(cv2.multiply(f0, f0, dst=f0), cv2.multiply(f1, f1, dst=f1), dst=f2)
        maxsq = cv2.minMaxLoc(sq)[1]
        over = cv2.countNonZero(cv2.compare(sq, self.sat_limit_sq, cv2.CMP_GT, dst=self._cmask))
        np.copyto(self._ci, cv2.sqrt(sq, dst=f0), casting="unsafe")  # truncates
        satavg = cv2.sumElems(self._ci)[0] / self.cfs
        return satavg, math.isqrt(int(maxsq)), over

    def analyze(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray | None = None):
        """One row of ``FIELDS`` (float64) for the frame with planes y, u, v."""
        row = np.empty(len(FIELDS), dtype=np.float64) if out is None else out
        hy, hu, hv = self._hist(y), self._hist(u), self._hist(v)
        row[0:5] = self._hist_stats(hy, self.lowp, self.highp, self.fs)
        row[5:10] = self._hist_stats(hu, self.clowp, self.chighp, self.cfs)
        row[10:15] = self._hist_stats(hv, self.clowp, self.chighp, self.cfs)
        satavg, satmax, over = self._sat(u, v)
        row[COL["SATAVG"]] = satavg
        row[COL["SATMAX"]] = satmax
        tout, streak = self._tout(y)
        row[COL["TOUT"]] = tout / self.fs
        row[COL["STREAK"]] = streak / max(self.w - 2, 1)
        row[COL["VREP"]] = self._vrep(y) / self.h
        row[COL["BRNG"]] = self._brng(y, u, v, hy, hu, hv) / self.fs
        row[COL["BLACK"]] = hy[: self.black_level + 1].sum() / self.fs
        row[COL["SATOVER"]] = over / self.cfs
        prev = self._prev
        if prev is None:
            row[COL["YDIF"]] = 0.0
            row[COL["MAFD"]] = 0.0
        else:
            dy = cv2.norm(y, prev[0], cv2.NORM_L1)
            du = cv2.norm(u, prev[1], cv2.NORM_L1)
            dv = cv2.norm(v, prev[2], cv2.NORM_L1)
            row[COL["YDIF"]] = dy / self.fs
            row[COL["MAFD"]] = (dy + du + dv) / (self.fs + 2 * self.cfs) / self.size
        self._prev = (y, u, v)
        return row


def _lrint(x: float) -> int:
    return int(round(x))  # round half to even, as lrint in the default rounding mode


# -- decoding ---------------------------------------------------------------------------


@dataclass
class VideoInfo:
    width: int
    height: int
    pix_fmt: str
    analysed_as: str  # pix_fmt, or the planar YUV format the frames are converted to
    bit_depth: int
    chroma_shift: tuple[int, int]
    rate: Fraction | None
    time_base: Fraction | None
    codec: str
    frames_hint: int  # from the container, 0 when unknown
    duration_s: float


@dataclass
class DecodeIssue:
    """Something the decoder reported: a slice CRC mismatch, a damaged or undecodable frame."""

    time_s: float | None
    message: str
    frame_index: int | None = None


@dataclass
class VideoStats:
    """Per-frame statistics of a whole file: ``table[i, COL[name]]`` and ``pts_s[i]``."""

    info: VideoInfo
    pts_s: np.ndarray
    table: np.ndarray
    params: AnalysisParams = field(default_factory=AnalysisParams)
    issues: list[DecodeIssue] = field(default_factory=list)
    missing_pts: int = 0
    packets: int = 0  # video packets read, and how many were not key frames
    non_key_packets: int = 0
    timing: dict = field(default_factory=dict)
    framemd5: list[str] | None = None  # lines of the decoded frames, when asked for

    def __len__(self) -> int:
        return len(self.pts_s)

    def column(self, name: str) -> np.ndarray:
        return self.table[:, COL[name]]

    def as_dict(self) -> dict[str, np.ndarray]:
        d = {name: self.table[:, i] for i, name in enumerate(FIELDS)}
        d["pts_s"] = self.pts_s
        return d


_SUBSAMPLING = {(0, 0): "444", (1, 0): "422", (1, 1): "420", (2, 0): "411", (0, 1): "440"}


def _pix_info(fmt: av.VideoFormat) -> tuple[int, tuple[int, int], str | None]:
    """(bit depth, chroma shift, planar YUV format to convert to or None if analysed as is).

    Packed YUV (UYVY, YUYV), semi-planar (NV12, P010), grey and RGB pictures are converted to
    the planar YUV format of the same depth and subsampling before they are measured.
    """
    pix = pixel_format(fmt.name)
    depth = pix.bit_depth
    hsub, vsub = pix.chroma_shift
    direct = (
        pix.planar_yuv
        and not fmt.is_big_endian
        and [c.plane for c in fmt.components[:3]] == [0, 1, 2]
        and depth in (8, 9, 10, 12, 14, 16)
    )
    if direct:
        return depth, (hsub, vsub), None
    sub = _SUBSAMPLING.get((hsub, vsub), "444")
    depth = min(max(depth, 8), 16)
    if depth > 8 and depth not in (9, 10, 12, 14, 16):
        depth = 16
    target = f"yuv{sub}p" + ("" if depth == 8 else f"{depth}le")
    try:
        av.VideoFormat(target)
    except (ValueError, av.error.FFmpegError):
        target, sub = ("yuv444p" if depth == 8 else "yuv444p16le"), "444"
        depth = 8 if depth == 8 else 16
        hsub = vsub = 0
    return depth, (hsub, vsub), target


def _plane_arrays(frame: av.VideoFrame, dtype) -> list[np.ndarray]:
    """Views (no copy) of the first three planes, padding cut off."""
    out = []
    itemsize = np.dtype(dtype).itemsize
    for plane in frame.planes[:3]:
        buf = np.frombuffer(plane, dtype=dtype)
        out.append(buf.reshape(plane.height, plane.line_size // itemsize)[:, : plane.width])
    return out


_END = object()
_AT_SECONDS = re.compile(r"at (-?[0-9.]+) seconds")


class _Decoder(threading.Thread):
    """Decodes frames into a bounded queue; log messages of FFmpeg are kept per frame."""

    def __init__(self, container, stream, q: queue.Queue, capture):
        super().__init__(name="headblock-vdecode", daemon=True)
        self.container, self.stream, self.q = container, stream, q
        self.capture = capture
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.packets = 0
        self.non_key = 0

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            for packet in self.container.demux(self.stream):
                if self.stop.is_set():
                    break
                if packet.size:
                    self.packets += 1
                    self.non_key += not packet.is_keyframe
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError as exc:
                    frames = []
                    self._put(("error", packet, str(exc)))
                logs = self._drain_logs()
                if logs:
                    self._put(("log", packet, logs))
                for frame in frames:
                    if not self._put(("frame", frame, None)):
                        return
        except av.error.FFmpegError as exc:
            self.error = exc
        except BaseException as exc:  # carried to the analysing thread
            self.error = exc
        finally:
            self._put((_END, None, None))

    def _drain_logs(self) -> list[tuple[str, float | None]]:
        """(message, time in seconds if the decoder said it) of the errors logged so far."""
        if self.capture is None or not self.capture.logs:
            return []
        items = list(self.capture.logs)
        self.capture.logs.clear()
        return decoder_messages(items)


def decoder_messages(items) -> list[tuple[str, float | None]]:
    """(message, time in seconds if the decoder said it) of the errors among FFmpeg's log
    lines ``(level, name, message)`` (``av.logging.Capture``); shared with the after-take
    integrity job's decode."""
    out: list[tuple[str, float | None]] = []
    for level, name, msg in items:
        if level > av.logging.ERROR:
            continue
        at = _AT_SECONDS.fullmatch(msg.strip())
        if at and out:  # FFV1 follows a slice error with "at 12.345 seconds"
            out[-1] = (out[-1][0], float(at.group(1)))
            continue
        out.append((f"{name}: {msg.strip()}", None))
    return out


def open_video(path: Path):
    """(container, stream) with the decoder set for speed; HeadblockError on bad input."""
    path = Path(path)
    if not path.is_file():
        raise HeadblockError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise HeadblockError(f"{path}: the file is empty")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise HeadblockError(f"{path}: not a readable media file ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise HeadblockError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    cc = stream.codec_context
    # FFV1: slice threads, so that a decoder message belongs to the packet just sent (frame
    # threads blur which frame a slice CRC error hit); other codecs: FFmpeg's choice
    cc.thread_type = "SLICE" if cc.name == "ffv1" else "AUTO"
    cc.thread_count = 2
    return container, stream


def video_info(container, stream) -> VideoInfo:
    cc = stream.codec_context
    if cc.format is None or not cc.width:
        raise HeadblockError(
            f"{Path(container.name).name}: the {cc.name} video stream has no known picture "
            "format (truncated or damaged header)"
        )
    depth, shift, convert_to = _pix_info(cc.format)
    duration_s = 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration_s = container.duration / av.time_base
    rate = stream.average_rate or stream.guessed_rate
    frames_hint = stream.frames or (int(duration_s * rate) if rate and duration_s else 0)
    return VideoInfo(
        width=cc.width,
        height=cc.height,
        pix_fmt=cc.format.name,
        analysed_as=convert_to or cc.format.name,
        bit_depth=depth,
        chroma_shift=shift,
        rate=Fraction(rate) if rate else None,
        time_base=stream.time_base,
        codec=cc.name,
        frames_hint=int(frames_hint),
        duration_s=duration_s,
    )


def compute_video_stats(
    path: Path,
    params: AnalysisParams | None = None,
    progress: ProgressFn | None = None,
    max_frames: int | None = None,
    frame_md5: bool = False,
) -> VideoStats:
    """Decode the first video stream of ``path`` and measure every frame; with
    ``frame_md5`` also hash every decoded frame as ``ffmpeg -f framemd5`` does."""
    progress = progress or no_progress
    params = params or AnalysisParams()
    container, stream = open_video(path)
    try:
        info = video_info(container, stream)
        hasher = None
        if frame_md5:
            try:
                hasher = StreamFrameMD5(stream)
            except HeadblockError:  # no frame rate: the framemd5 check says it could not run
                hasher = None
        dtype = np.uint16 if info.bit_depth > 8 else np.uint8
        analyzer = FrameAnalyzer(info.width, info.height, info.bit_depth, info.chroma_shift, params)
        rows = _Growing(len(FIELDS), np.float32)
        pts = _Growing(1, np.float64)
        issues: list[DecodeIssue] = []
        missing_pts = 0
        frame_s = float(1 / info.rate) if info.rate else 0.0
        q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        _process_settings(True)
        capture = av.logging.Capture(local=False)
        capture.__enter__()
        decoder = _Decoder(container, stream, q, capture)
        decoder.start()
        n = 0
        last_t = None
        cpu0, thread0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
        waited = 0.0
        try:
            while True:
                w0 = time.perf_counter()
                kind, obj, extra = q.get()
                waited += time.perf_counter() - w0
                if kind is _END:
                    break
                if kind in ("log", "error"):
                    t = _packet_time(obj)
                    for msg, at in extra if kind == "log" else [(extra, None)]:
                        issues.append(DecodeIssue(at if at is not None else t, msg, n))
                    continue
                frame = obj
                if frame.format.name != info.pix_fmt or frame.width != info.width:
                    raise HeadblockError(
                        f"{path}: the picture changes format mid-stream "
                        f"({info.pix_fmt} {info.width}x{info.height} to "
                        f"{frame.format.name} {frame.width}x{frame.height})"
                    )
                if frame.pts is not None and frame.time_base is not None:
                    t = float(frame.pts * frame.time_base)
                else:
                    missing_pts += 1
                    t = (last_t + frame_s) if last_t is not None else 0.0
                last_t = t
                if hasher is not None:  # this thread mostly waits for the decoder
                    hasher.add(frame)
                if info.analysed_as != info.pix_fmt:
                    frame = frame.reformat(format=info.analysed_as)
                y, u, v = _plane_arrays(frame, dtype)
                analyzer.analyze(y, u, v, out=rows.next_row())
                pts.next_row()[0] = t
                n += 1
                if n % 64 == 0:
                    frac = min(t / info.duration_s, 1.0) if info.duration_s else 0.0
                    progress(frac, f"video frame {n}")
                if max_frames is not None and n >= max_frames:
                    break
        finally:
            decoder.stop.set()
            _drain(q)
            decoder.join(timeout=10)
            capture.__exit__(None, None, None)
            _process_settings(False)
        timing = {
            "wall_s": time.perf_counter() - wall0,
            "process_cpu_s": time.process_time() - cpu0,
            "analysis_cpu_s": time.thread_time() - thread0,  # this thread: the measuring
            "waiting_for_decoder_s": waited,
        }
        if decoder.error is not None and not isinstance(decoder.error, av.error.FFmpegError):
            raise decoder.error
        if decoder.error is not None:
            issues.append(DecodeIssue(last_t, f"decoding stopped: {decoder.error}", n))
        if n == 0:
            raise HeadblockError(f"{path}: no video frame could be decoded")
        progress(1.0, f"video: {n} frames")
        return VideoStats(
            info,
            pts.array()[:, 0].copy(),
            rows.array(),
            params,
            issues,
            missing_pts,
            decoder.packets,
            decoder.non_key,
            timing,
            hasher.lines() if hasher is not None else None,
        )
    finally:
        container.close()


_settings_lock = threading.Lock()
_settings_users = 0
_saved_settings: tuple = ()


def _process_settings(enter: bool) -> None:
    """While any analysis runs: FFmpeg errors reach Python (to be captured) and OpenCV keeps
    to one thread (the decoder's slice threads already fill both cores). Restored after the
    last one ends, so concurrent runs do not undo each other's settings."""
    global _settings_users, _saved_settings
    with _settings_lock:
        if enter:
            if _settings_users == 0:
                _saved_settings = (av.logging.get_level(), cv2.getNumThreads())
                av.logging.set_level(av.logging.ERROR)
                cv2.setNumThreads(ANALYSIS_CV_THREADS)
            _settings_users += 1
        else:
            _settings_users -= 1
            if _settings_users == 0:
                av.logging.set_level(_saved_settings[0])
                cv2.setNumThreads(_saved_settings[1])


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


def _packet_time(packet) -> float | None:
    if packet is None or packet.pts is None or packet.time_base is None:
        return None
    return float(packet.pts * packet.time_base)


class _Growing:
    """A row-wise table kept in fixed-size blocks: appends never copy what is already stored,
    so memory grows only by the table itself (100 bytes a frame in float32)."""

    BLOCK = 4096

    def __init__(self, cols: int, dtype=np.float32):
        self.cols, self.dtype = cols, dtype
        self._blocks: list[np.ndarray] = []
        self._n = 0

    def next_row(self) -> np.ndarray:
        i = self._n % self.BLOCK
        if i == 0:
            self._blocks.append(np.empty((self.BLOCK, self.cols), dtype=self.dtype))
        self._n += 1
        return self._blocks[-1][i]

    def array(self) -> np.ndarray:
        if not self._blocks:
            return np.empty((0, self.cols), dtype=self.dtype)
        return np.concatenate(self._blocks)[: self._n]


# -- the sidecar ------------------------------------------------------------------------


def write_vstats(path: Path, stats: VideoStats) -> Path:
    """Write ``ITEM_tNN.vstats.npz`` (compressed): pts_s, one float32 array per statistic."""
    path = Path(path)
    info = stats.info
    arrays = {name: stats.table[:, i].astype(np.float32) for i, name in enumerate(FIELDS)}
    arrays["pts_s"] = stats.pts_s.astype(np.float64)
    meta = {
        "version": VSTATS_VERSION,
        "width": info.width,
        "height": info.height,
        "pix_fmt": info.pix_fmt,
        "bit_depth": info.bit_depth,
        "rate": str(info.rate) if info.rate else "",
        "codec": info.codec,
        "duration_s": info.duration_s,
        "black_pixel_threshold": stats.params.black_pixel_threshold,
        "satmax_10bit": stats.params.satmax_10bit,
    }
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    return path


def read_vstats(path: Path) -> dict:
    """The sidecar as a dict: ``pts_s``, each statistic in ``FIELDS`` and ``meta`` (a dict)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    except (OSError, ValueError, KeyError) as exc:
        raise HeadblockError(f"{path}: not a video statistics file ({exc})") from exc
    out["meta"] = meta
    return out
