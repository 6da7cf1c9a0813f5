"""The review view: a take's timeline, its QC events, playback, frame stepping and marks.

Opening reads only the sidecars (``qc.json``, ``envelope.npz``, ``vstats.npz``, ``review.json``)
so a two-hour take opens at once; a file with no QC result is checked first in a worker.
Audio plays through a sounddevice OutputStream fed by a reader thread (the callback only copies);
video frames are decoded in their own thread, the latest request wins, so scrubbing never
blocks the window.

Keys: N / P next / previous event, J / K / L shuttle (reverse, stop, forward; again = faster),
Space play/pause, Left / Right one frame (or 40 ms of audio), Home the whole take,
C confirmed, F false alarm. Mouse: wheel zooms, drag pans, a click or the dragged cursor seeks.
"""

from __future__ import annotations

import getpass
import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.queue_view import row_table
from app.workers import JobRunner
from metadata.errors import HeadblockError
from metadata.review.marks import MARK_LABELS, add_mark, current_marks, event_key, take_paths
from qc.sidecars import VIDEO_CHECKS, Envelope, VStats, read_envelope, read_vstats

log = logging.getLogger(__name__)


CHECK_COLOURS = {
    "clipping": "#e53935",
    "dropout": "#d81b60",
    "click": "#fb8c00",
    "dc_offset": "#8d6e63",
    "phase": "#8e24aa",
    "channel_imbalance": "#5e35b1",
    "silence": "#78909c",
    "hum": "#00897b",
    "loudness": "#3949ab",
    "overflow": "#b71c1c",
    "video_dropout": "#f4511e",
    "line_repetition": "#c0ca33",
    "out_of_range": "#fdd835",
    "saturation": "#ec407a",
    "black": "#546e7a",
    "freeze": "#29b6f6",
    "frame_drop": "#00e676",
}
_FALLBACK = ("#26a69a", "#ab47bc", "#ffa726", "#66bb6a", "#42a5f5")
SEVERITY_RANK = {"fail": 2, "warn": 1, "pass": 0}


def check_colour(check: str) -> str:
    if check in CHECK_COLOURS:
        return CHECK_COLOURS[check]
    return _FALLBACK[sum(map(ord, check)) % len(_FALLBACK)]


def fmt_time(t_s: float) -> str:
    t_s = max(0.0, float(t_s))
    h, rem = divmod(t_s, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


# ---------------------------------------------------------------------------------------------
# the model: what a take's sidecars say (no Qt)


@dataclass
class ReviewModel:
    paths: object  # TakePaths
    master: Path | None
    qc: dict
    events: list[dict]  # sorted by start time
    envelope: Envelope | None
    vstats: VStats | None
    marks: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        d = self.qc.get("duration_s")
        if d:
            return float(d)
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


def load_model(path: Path) -> ReviewModel:
    """The take at ``path`` (a take folder or a master) from its sidecars; HeadblockError if
    it has no QC result yet."""
    import json

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
        (e for e in qc.get("events") or [] if isinstance(e, dict)),
        key=lambda e: (float(e.get("start_s") or 0), str(e.get("check"))),
    )
    warnings = []
    try:
        marks = current_marks(paths.review_json) if paths.review_json.exists() else {}
    except HeadblockError as exc:  # the take still opens; new marks are refused, not lost
        marks = {}
        warnings.append(str(exc))
    model = ReviewModel(paths, master, qc, events, read_envelope(paths), read_vstats(paths), marks)
    model.warnings = warnings
    return model


def needs_qc(path: Path) -> bool:
    return not take_paths(Path(path)).qc_json.exists()


# ---------------------------------------------------------------------------------------------
# audio playback


def shuttle_block(read, total_frames: int, pos: int, n: int, speed: int):
    """``n`` output frames of a shuttle at ``speed`` (±1, ±2, ±4) from frame ``pos``.

    ``read(start, count) -> ndarray (count, channels)``. Reverse play reads the span before
    ``pos`` and turns it round; faster play keeps every ``|speed|``-th frame. Returns
    (block or None at either end, new position).
    """
    step = abs(int(speed)) or 1
    span = n * step
    if speed > 0:
        if pos >= total_frames:
            return None, pos
        count = min(span, total_frames - pos)
        data = read(pos, count)[::step]
        return data, pos + count
    if pos <= 0:
        return None, 0
    start = max(0, pos - span)
    data = read(start, pos - start)[::-1][::step]
    return data, start


class AudioPlayer:
    """Plays a WAV or a Matroska's audio, in either direction at any shuttle speed, through
    the default output. The callback copies prepared blocks only; a reader thread prepares
    them."""

    BLOCK = 2048

    def __init__(self, master: Path):
        self.master = Path(master)
        self._sf = None
        self._av = None
        if self.master.suffix.lower() == ".wav":
            import soundfile as sf

            self._sf = sf.SoundFile(str(self.master))
            self.rate_hz = self._sf.samplerate
            self.channels = self._sf.channels
            self.total_frames = self._sf.frames
        else:
            import av

            self._av = av.open(str(self.master))
            if not self._av.streams.audio:
                self._av.close()
                raise HeadblockError(f"{self.master.name} has no audio to play")
            st = self._av.streams.audio[0]
            self.rate_hz = st.codec_context.sample_rate
            self.channels = st.codec_context.channels
            dur = float(st.duration * st.time_base) if st.duration else 0.0
            if not dur and self._av.duration:
                dur = self._av.duration / 1_000_000
            self.total_frames = int(dur * self.rate_hz)
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._stream = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pos_frames = 0  # where the listener is (callback side)
        self._cur = None  # (block, start_frame, direction)
        self._cur_i = 0
        self.speed = 0
        self.error = ""

    # reader side
    def _read(self, start: int, count: int) -> np.ndarray:
        if self._sf is not None:
            self._sf.seek(start)
            return self._sf.read(count, dtype="float32", always_2d=True)
        return self._read_av(start, count)

    ALIGN_FRAMES = 64  # first samples of a block, kept to place the block before it (reverse)

    def _read_av(self, start: int, count: int) -> np.ndarray:
        prev = getattr(self, "_av_prev", None)
        if prev is None or prev[0] != start + count or getattr(self, "_av_next", None) == start:
            data = self._decode_av(start, count)
        else:  # the block just before the one played last: reverse play
            data = self._read_av_before(start, count, prev[1])
        self._av_prev = (start, data[: self.ALIGN_FRAMES].copy())
        return data

    def _read_av_before(self, start: int, count: int, head: np.ndarray) -> np.ndarray:
        """``count`` frames ending exactly where ``head`` (the block played before) begins.

        A seek lands within a millisecond of ``start``; decoding a margin on both sides and
        finding ``head`` in it gives the exact place, so reverse play has no seam."""
        slack = min(start, self.rate_hz // 500 + 2)
        data = self._decode_av(start - slack, slack + count + slack + len(head))
        self._av_next = None  # the margin read past the block: the next read seeks
        nominal = slack + count
        if len(head) and np.ptp(head) > 0:  # silence matches anywhere: keep the nominal place
            for d in sorted(range(-slack, slack + 1), key=abs):
                at = nominal + d
                if 0 <= at - count and np.array_equal(data[at : at + len(head)], head):
                    return data[at - count : at]
        return data[slack : slack + count]

    def _decode_av(self, start: int, count: int) -> np.ndarray:
        # Forward: continue decoding from where we are, seek when asked elsewhere.
        st = self._av.streams.audio[0]
        if getattr(self, "_av_next", None) != start:
            self._av.seek(int(start / self.rate_hz / st.time_base), stream=st, backward=True)
            self._av_buf = np.zeros((0, self.channels), np.float32)
            self._av_buf_start = None
            self._av_iter = self._av.decode(st)
        out = getattr(self, "_av_buf", np.zeros((0, self.channels), np.float32))
        while out.shape[0] < count + max(0, start - (self._av_buf_start or start)):
            try:
                frame = next(self._av_iter)
            except StopIteration:
                break
            arr = frame.to_ndarray()
            if arr.dtype.kind == "i":
                arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
            arr = arr.T if frame.format.is_planar else arr.reshape(-1, self.channels)
            if self._av_buf_start is None:
                self._av_buf_start = int(round(float(frame.pts * frame.time_base) * self.rate_hz))
            out = np.concatenate([out, arr.astype(np.float32)])
        offset = max(0, start - (self._av_buf_start or start))
        data = out[offset : offset + count]
        self._av_buf = out[offset + len(data) :]
        self._av_buf_start = start + len(data)
        self._av_next = start + len(data)
        return data

    def _reader(self, pos: int, speed: int) -> None:
        while not self._stop.is_set():
            try:
                block, new_pos = shuttle_block(
                    self._read, self.total_frames, pos, self.BLOCK, speed
                )
            except Exception as exc:
                self.error = str(exc)
                block = None
            item = None if block is None else (block, pos, 1 if speed > 0 else -1, abs(speed))
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item is None:
                return
            pos = new_pos

    # device side
    def _callback(self, outdata, frames, _time, _status):
        filled = 0
        while filled < frames:
            if self._cur is None:
                try:
                    self._cur = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._cur_i = 0
                if self._cur is None:  # the end: let it finish
                    self.speed = 0
                    break
            block, start, direction, step = self._cur
            take = min(frames - filled, block.shape[0] - self._cur_i)
            seg = block[self._cur_i : self._cur_i + take]
            ch = min(seg.shape[1], outdata.shape[1])
            outdata[filled : filled + take, :ch] = seg[:, :ch]
            if outdata.shape[1] > ch:
                outdata[filled : filled + take, ch:] = seg[:, :1] if ch == 1 else 0
            self._cur_i += take
            filled += take
            self._pos_frames = start + direction * self._cur_i * step
            if self._cur_i >= block.shape[0]:
                self._cur = None
        if filled < frames:
            outdata[filled:] = 0

    @property
    def position_s(self) -> float:
        return self._pos_frames / self.rate_hz

    def play(self, from_s: float, speed: int = 1) -> None:
        """Start (or restart) at ``from_s`` at ``speed``; raises HeadblockError without output."""
        self.stop()
        pos = int(min(max(from_s, 0.0), self.total_frames / self.rate_hz) * self.rate_hz)
        self._pos_frames = pos
        self._stop.clear()
        self._queue = queue.Queue(maxsize=8)
        self._cur = None
        self.speed = speed
        self._thread = threading.Thread(
            target=self._reader, args=(pos, speed), daemon=True, name="review-audio-reader"
        )
        self._thread.start()
        try:
            import sounddevice as sd

            self._stream = sd.OutputStream(
                samplerate=self.rate_hz,
                channels=min(self.channels, 2),
                dtype="float32",
                blocksize=1024,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            self.stop()
            raise HeadblockError(f"no audio output: {exc}") from exc

    def stop(self) -> None:
        self._stop.set()
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.speed = 0

    @property
    def playing(self) -> bool:
        return self._stream is not None and self.speed != 0

    def close(self) -> None:
        self.stop()
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av.close()


# ---------------------------------------------------------------------------------------------
# video frames


def frame_planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Native (y, u, v, bit_depth) of a decoded planar YUV frame, line padding removed."""
    name = frame.format.name
    bits = 8
    for b in (16, 12, 10, 9):
        if f"p{b}" in name:
            bits = b
            break
    dtype = np.uint16 if bits > 8 else np.uint8
    planes = []
    for p in frame.planes[:3]:
        a = np.frombuffer(p, dtype=dtype)
        per_line = p.line_size // np.dtype(dtype).itemsize
        planes.append(a.reshape(-1, per_line)[: p.height, : p.width])
    if len(planes) < 3 or not name.startswith("yuv"):
        rgb = frame.to_ndarray(format="yuv444p")
        return rgb[0], rgb[1], rgb[2], 8
    return planes[0], planes[1], planes[2], bits


class FrameFetcher(QObject):
    """Decodes the frame at the last time asked for, in its own thread."""

    frame_ready = Signal(float, object)  # t_s, (y, u, v, bit_depth)
    failed = Signal(str)

    def __init__(self, master: Path, parent=None):
        super().__init__(parent)
        self.master = Path(master)
        self._want: float | None = None
        self._cond = threading.Condition()
        self._quit = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="review-frames")
        self._thread.start()

    def request(self, t_s: float) -> None:
        with self._cond:
            self._want = float(t_s)
            self._cond.notify()

    def _run(self) -> None:
        import av

        from qc.sidecars import frame_at

        container = stream = None
        while True:
            with self._cond:
                while self._want is None and not self._quit:
                    self._cond.wait()
                if self._quit:
                    break
                t, self._want = self._want, None
            try:
                if container is None:
                    container = av.open(str(self.master))
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                frame = frame_at(container, stream, t)
                if frame is not None:
                    y, u, v, bits = frame_planes(frame)
                    self.frame_ready.emit(t, (y.copy(), u.copy(), v.copy(), bits))
            except Exception as exc:
                self.failed.emit(f"frame at {t:.3f} s: {exc}")
        if container is not None:
            container.close()

    def close(self) -> None:
        with self._cond:
            self._quit = True
            self._cond.notify()
        self._thread.join(3)


# ---------------------------------------------------------------------------------------------
# the timeline


class Timeline(pg.GraphicsLayoutWidget):
    """Stacked plots sharing one time axis: event lanes, audio envelope per channel, video
    statistics. A click sets the cursor."""

    cursor_moved = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#15181b")
        self.plots: list[pg.PlotItem] = []
        self.cursors: list[pg.InfiniteLine] = []
        self.highlights: list[pg.LinearRegionItem] = []
        self.lane = None
        self.checks: list[str] = []
        self.scene().sigMouseClicked.connect(self._clicked)

    def clear_all(self) -> None:
        self.clear()
        self.plots, self.cursors, self.highlights = [], [], []
        self.lane = None
        self.checks = []

    def _add_plot(self, title: str, height: int | None = None) -> pg.PlotItem:
        p = self.addPlot(row=len(self.plots), col=0)
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=True, y=False)
        p.setDownsampling(auto=True, mode="peak")
        p.setClipToView(True)
        p.showGrid(x=True, y=True, alpha=0.15)
        p.getAxis("left").setWidth(104)
        p.getAxis("left").enableAutoSIPrefix(False)
        p.setLabel("left", title, **{"font-size": "8pt"})
        p.hideButtons()
        if height:
            p.setMaximumHeight(height)
            p.setMinimumHeight(height)
        else:
            p.setMinimumHeight(56)  # keeps a rotated title and three ticks legible
        if self.plots:
            p.setXLink(self.plots[0])
            self.plots[-1].hideAxis("bottom")
        cursor = pg.InfiniteLine(
            0,
            angle=90,
            movable=True,
            pen=pg.mkPen("#ffffff", width=1),
            hoverPen=pg.mkPen("#ffd54f", width=3),
        )
        cursor.setToolTip("Drag to scrub")
        cursor.sigDragged.connect(lambda line: self.cursor_moved.emit(max(0.0, line.value())))
        hl = pg.LinearRegionItem(
            (0, 0), movable=False, brush=pg.mkBrush(255, 255, 255, 40), pen=pg.mkPen(None)
        )
        hl.setVisible(False)
        p.addItem(hl)
        p.addItem(cursor)
        self.plots.append(p)
        self.cursors.append(cursor)
        self.highlights.append(hl)
        return p

    def show_model(self, model: ReviewModel) -> None:
        self.clear_all()
        dur = max(model.duration_s, 0.001)
        checks = sorted({str(e.get("check")) for e in model.events})
        lane = self._add_plot("", height=30 + 18 * max(1, len(checks)))
        lane.setMouseEnabled(x=True, y=False)
        lane.getAxis("left").setTicks([[(i, c) for i, c in enumerate(checks)]])
        lane.getAxis("left").setStyle(hideOverlappingLabels=False)
        lane.showGrid(x=True, y=False, alpha=0.15)
        for i, check in enumerate(checks):
            evs = [e for e in model.events if str(e.get("check")) == check]
            starts = np.array([float(e.get("start_s") or 0) for e in evs])
            ends = np.array(
                [max(float(e.get("end_s") or 0), float(e.get("start_s") or 0)) for e in evs]
            )
            colour = check_colour(check)
            bar = pg.mkBrush(colour + "6e")
            lane.addItem(
                pg.BarGraphItem(
                    x0=starts,
                    x1=np.maximum(ends, starts + dur / 4000),
                    y=np.full(len(evs), i),
                    height=0.5,
                    brush=bar,
                    pen=pg.mkPen(None),
                )
            )
            sev = [SEVERITY_RANK.get(e.get("severity"), 0) for e in evs]
            lane.addItem(
                pg.ScatterPlotItem(
                    x=starts,
                    y=np.full(len(evs), i),
                    symbol="t",
                    size=[8 + 3 * s for s in sev],
                    brush=pg.mkBrush(colour),
                    pen=pg.mkPen("#000000", width=0.5),
                    name=check,
                )
            )
        lane.enableAutoRange(y=False)
        lane.setYRange(-0.8, max(len(checks) - 0.2, 0.8), padding=0)
        self.checks = checks
        self.lane = lane

        if model.envelope is not None:
            env = model.envelope
            t = env.times_s()
            for ch in range(env.channels):
                p = self._add_plot(f"ch{ch + 1} dBFS")
                p.setYRange(-80, 3, padding=0)
                p.plot(
                    t,
                    env.peak_dbfs[:, ch],
                    pen=pg.mkPen("#5c7cfa", width=1),
                    fillLevel=-120,
                    brush=(92, 124, 250, 90),
                    skipFiniteCheck=True,
                )
                p.plot(
                    t, env.rms_dbfs[:, ch], pen=pg.mkPen("#c5cae9", width=1), skipFiniteCheck=True
                )
                self._event_lines(
                    p,
                    [
                        e
                        for e in model.events
                        if e.get("channel") in (None, ch + 1) and e.get("check") not in VIDEO_CHECKS
                    ],
                    -80,
                    3,
                )
        if model.vstats is not None:
            vs = model.vstats
            groups = [
                ("luma", ("YMIN", "YLOW", "YAVG", "YHIGH", "YMAX")),
                ("sat", ("SATAVG", "SATMAX")),
                ("TOUT", ("TOUT",)),
                ("VREP", ("VREP",)),
                ("BRNG", ("BRNG",)),
            ]
            palette = ("#90a4ae", "#4fc3f7", "#fff176", "#4fc3f7", "#90a4ae")
            vevents = [e for e in model.events if e.get("check") in VIDEO_CHECKS]
            for title, names in groups:
                names = [n for n in names if n in vs.series]
                if not names:
                    continue
                p = self._add_plot(title)
                lo = hi = None
                for j, n in enumerate(names):
                    y = vs.series[n]
                    p.plot(
                        vs.times_s,
                        y,
                        pen=pg.mkPen(palette[j % len(palette)], width=1),
                        skipFiniteCheck=True,
                    )
                    finite = y[np.isfinite(y)]
                    if finite.size:
                        lo = float(finite.min()) if lo is None else min(lo, float(finite.min()))
                        hi = float(finite.max()) if hi is None else max(hi, float(finite.max()))
                lo, hi = (lo or 0.0), (hi or 1.0)
                if hi <= lo:
                    hi = lo + 1.0
                p.setYRange(lo, hi, padding=0.05)
                self._event_lines(p, vevents, lo, hi)
        for p in self.plots:
            p.setLimits(xMin=-dur * 0.01, xMax=dur * 1.01)
        self.plots[-1].setLabel("bottom", "time (s)")
        self.plots[0].setXRange(0, dur, padding=0)

    @staticmethod
    def _event_lines(p: pg.PlotItem, events: list[dict], lo: float, hi: float) -> None:
        by_check: dict[str, list[float]] = {}
        for e in events:
            by_check.setdefault(str(e.get("check")), []).append(float(e.get("start_s") or 0))
        for check, xs in by_check.items():
            x = np.repeat(np.asarray(xs, dtype=np.float64), 2)
            y = np.tile(np.array([lo, hi], dtype=np.float64), len(xs))
            pen = pg.mkPen(check_colour(check) + "aa", width=1)
            p.addItem(pg.PlotCurveItem(x, y, connect="pairs", pen=pen))

    def set_cursor(self, t_s: float) -> None:
        for c in self.cursors:
            if c.value() != t_s:
                c.setValue(t_s)

    def highlight(self, start_s: float, end_s: float) -> None:
        for h in self.highlights:
            h.setRegion((start_s, max(end_s, start_s)))
            h.setVisible(True)

    def ensure_visible(self, t_s: float) -> None:
        if not self.plots:
            return
        (x0, x1), _ = self.plots[0].viewRange()
        if not (x0 <= t_s <= x1):
            half = (x1 - x0) / 2
            self.plots[0].setXRange(t_s - half, t_s + half, padding=0)

    def zoom_around(self, t_s: float, span_s: float) -> None:
        if self.plots:
            self.plots[0].setXRange(t_s - span_s / 2, t_s + span_s / 2, padding=0)

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for p in self.plots:
            if p.sceneBoundingRect().contains(ev.scenePos()):
                t = p.vb.mapSceneToView(ev.scenePos()).x()
                self.cursor_moved.emit(max(0.0, float(t)))
                return


# ---------------------------------------------------------------------------------------------
# the view


class ReviewView(QWidget):
    """Open a take (or any WAV/MKV), scrub its timeline, step through and mark its events."""

    take_loaded = Signal(object)  # the ReviewModel
    mark_saved = Signal(dict)
    signoff_requested = Signal(object)  # Path of the take folder

    COLUMNS = ("time", "check", "ch", "severity", "value", "review")

    def __init__(self, parent=None, library: Path | None = None):
        super().__init__(parent)
        self.library = Path(library) if library else None
        self.model: ReviewModel | None = None
        self.cursor_s = 0.0
        self.current = -1
        self.player: AudioPlayer | None = None
        self.fetcher: FrameFetcher | None = None
        self.jobs = JobRunner(self)
        self.open_url = QDesktopServices.openUrl  # replaced in tests
        self.show_error_boxes = True
        self._build()
        self._shortcuts()
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(50)
        self._play_timer.timeout.connect(self._follow_player)

    # -- layout
    def _build(self) -> None:
        top = QHBoxLayout()
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self._choose_file)
        self.title = QLabel("No take open")
        self.title.setStyleSheet("font-weight: bold")
        self.reviewer = QLineEdit(QSettings().value("review/reviewer", "") or getpass.getuser())
        self.reviewer.setPlaceholderText("reviewer")
        self.reviewer.setMaximumWidth(160)
        self.reviewer.setToolTip("Your name: recorded with every mark")
        self.report_button = QPushButton("Report")
        self.report_button.setToolTip("Write the QC report (HTML and PDF) and open it")
        self.report_button.clicked.connect(self.open_report)
        self.signoff_button = QPushButton("Sign off…")
        self.signoff_button.clicked.connect(self._signoff)
        for w in (self.open_button, self.title):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(QLabel("Reviewer"))
        for w in (self.reviewer, self.report_button, self.signoff_button):
            top.addWidget(w)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #8a929a")

        self.timeline = Timeline()
        self.timeline.cursor_moved.connect(self.set_cursor)
        from app.widgets.vectorscope import Vectorscope
        from app.widgets.video_preview import VideoPreview
        from app.widgets.waveform_monitor import WaveformMonitor

        self.picture = VideoPreview()
        self.vectorscope = Vectorscope()
        self.wfm = WaveformMonitor()
        self.frame_panel = QWidget()
        fp = QHBoxLayout(self.frame_panel)
        fp.setContentsMargins(0, 0, 0, 0)
        fp.addWidget(self.picture, 4)
        fp.addWidget(self.wfm, 3)
        fp.addWidget(self.vectorscope, 3)
        self.frame_panel.setVisible(False)
        self.frame_panel.setMinimumHeight(170)

        self.legend = QLabel("")
        self.legend.setToolTip("QC event colours; ▼ marks an event's start (larger: fail)")
        timeline_box = QWidget()
        tb = QVBoxLayout(timeline_box)
        tb.setContentsMargins(0, 0, 0, 0)
        tb.setSpacing(2)
        tb.addWidget(self.legend)
        tb.addWidget(self.timeline, 1)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(timeline_box)
        left.addWidget(self.frame_panel)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([560, 230])

        self.table = row_table(self.COLUMNS)
        self.table.itemSelectionChanged.connect(self._row_selected)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.confirm_button = QPushButton("Confirmed (C)")
        self.false_button = QPushButton("False alarm (F)")
        self.note_button = QPushButton("Note…")
        self.confirm_button.clicked.connect(lambda: self.mark_current("confirmed"))
        self.false_button.clicked.connect(lambda: self.mark_current("false_alarm"))
        self.note_button.clicked.connect(self._note)
        marks = QHBoxLayout()
        for b in (self.confirm_button, self.false_button, self.note_button):
            marks.addWidget(b)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.events_label = QLabel("Events")
        rl.addWidget(self.events_label)
        rl.addWidget(self.table, 1)
        rl.addWidget(self.detail)
        rl.addLayout(marks)
        self.transport = QLabel("00:00:00.000  ■")
        self.transport.setStyleSheet("font-family: monospace; font-size: 13pt")
        rl.addWidget(self.transport)
        rl.addWidget(QLabel("N/P event · J/K/L shuttle · Space play · ←/→ frame · Home fit"))

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([860, 500])

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        self._enable(False)

    def _shortcuts(self) -> None:
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, fn in (
            ("N", self.next_event),
            ("P", self.previous_event),
            ("J", lambda: self.shuttle(-1)),
            ("K", self.stop_playback),
            ("L", lambda: self.shuttle(1)),
            ("Space", self.toggle_play),
            ("Left", lambda: self.step_frames(-1)),
            ("Right", lambda: self.step_frames(1)),
            ("Home", self.fit_timeline),
            ("C", lambda: self.mark_current("confirmed")),
            ("F", lambda: self.mark_current("false_alarm")),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(ctx)
            sc.activated.connect(fn)

    def _enable(self, on: bool) -> None:
        for w in (
            self.report_button,
            self.signoff_button,
            self.confirm_button,
            self.false_button,
            self.note_button,
        ):
            w.setEnabled(on)

    # -- opening
    def _choose_file(self) -> None:
        start = str(self.library or Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a take or a file", start, "Masters (*.wav *.mkv *.qc.json);;All files (*)"
        )
        if path:
            p = Path(path)
            self.open_path(p.parent if p.name.endswith(".qc.json") else p)

    def open_path(self, path: Path) -> None:
        """Open a take folder or a master; QC runs first (in a worker) when it has no result."""
        path = Path(path)
        try:
            if not path.exists():
                raise HeadblockError(f"{path} does not exist")
            if needs_qc(path):
                self._run_qc(path)
                return
            self._show(load_model(path))
        except HeadblockError as exc:
            self._error(str(exc))

    def _run_qc(self, path: Path) -> None:
        master = path if path.is_file() else take_paths(path).master_if_present()
        if master is None:
            self._error(f"{path} has no master to check")
            return

        def job(progress=None):
            from qc.runner import run_qc

            run_qc(master, progress=progress)
            return path

        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(f"Checking {master.name}…")
        self.jobs.submit(
            job,
            on_finished=self._qc_done,
            on_failed=lambda msg: (self.progress.setVisible(False), self._error(msg)),
            on_progress=lambda f, m: (
                self.progress.setValue(int(f * 1000)),
                self.progress.setFormat(f"QC {f * 100:.0f}% {m}"),
            ),
        )

    def _qc_done(self, path) -> None:
        self.progress.setVisible(False)
        try:
            self._show(load_model(Path(path)))
        except HeadblockError as exc:
            self._error(str(exc))

    def _show(self, model: ReviewModel) -> None:
        self.close_take()
        self.model = model
        qc = model.qc
        verdict = str(qc.get("verdict", "?"))
        self.title.setText(
            f"{model.paths.stem} — {model.kind}, {fmt_time(model.duration_s)}, verdict "
            f"<span style='color:{ {'pass': '#43a047', 'warn': '#fb8c00', 'fail': '#e53935'}.get(verdict, '#fff') }'>"
            f"{verdict.upper()}</span>"
        )
        self.timeline.show_model(model)
        self.legend.setText(
            "Events: "
            + " &nbsp; ".join(
                f"<span style='color:{check_colour(c)}'>■</span> {c}" for c in self.timeline.checks
            )
            if self.timeline.checks
            else "No QC events"
        )
        self._fill_table()
        self.frame_panel.setVisible(
            model.vstats is not None
            or (model.master is not None and model.master.suffix.lower() == ".mkv")
        )
        if model.master is not None and model.master.suffix.lower() == ".mkv":
            self.fetcher = FrameFetcher(model.master, self)
            self.fetcher.frame_ready.connect(self._show_frame)
            self.fetcher.failed.connect(lambda m: self.status.setText(m))
        self._enable(True)
        self.current = -1
        self.set_cursor(0.0)
        self.status.setText(f"{len(model.events)} event(s) · {model.paths.directory}")
        for w in model.warnings:
            self._error(w)
        self.take_loaded.emit(model)

    def close_take(self) -> None:
        self.stop_playback()
        if self.player is not None:
            self.player.close()
            self.player = None
        if self.fetcher is not None:
            self.fetcher.close()
            self.fetcher = None
        self.model = None
        self.picture.reset()
        self._enable(False)

    def closeEvent(self, ev):  # noqa: N802 (Qt API)
        self.close_take()
        self.jobs.wait(5000)
        super().closeEvent(ev)

    def _fill_table(self) -> None:
        m = self.model
        self.table.setRowCount(len(m.events))
        for row, e in enumerate(m.events):
            value = e.get("value")
            cells = (
                fmt_time(float(e.get("start_s") or 0)),
                str(e.get("check", "")),
                "" if e.get("channel") is None else str(e.get("channel")),
                str(e.get("severity", "")),
                ""
                if value is None
                else (f"{value:.2f}" if isinstance(value, float) else str(value)),
                self._mark_text(e),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 1:
                    item.setForeground(QColor(check_colour(text)))
                if col == 3 and text in ("warn", "fail"):
                    item.setForeground(QColor("#fb8c00" if text == "warn" else "#e53935"))
                self.table.setItem(row, col, item)
        self.events_label.setText(f"Events ({len(m.events)})")

    def _mark_text(self, e: dict) -> str:
        mk = self.model.marks.get(event_key(e)) if self.model else None
        if not mk:
            return ""
        text = MARK_LABELS.get(mk.get("mark"), mk.get("mark", ""))
        if mk.get("note"):
            text += f": {mk['note']}"
        return text

    # -- events
    def select_event(self, index: int) -> None:
        if self.model is None or not self.model.events:
            return
        index = max(0, min(index, len(self.model.events) - 1))
        self.table.selectRow(index)  # -> _row_selected

    def _row_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows() if self.model else []
        if not rows:
            return
        self.current = rows[0].row()
        e = self.model.events[self.current]
        start = float(e.get("start_s") or 0)
        end = float(e.get("end_s") or start)
        self.timeline.highlight(start, end)
        span = max(10 * (end - start), 2.0)
        (x0, x1), _ = self.timeline.plots[0].viewRange()
        if not (x0 <= start <= x1) or (x1 - x0) > 50 * span:
            self.timeline.zoom_around(start, min(span * 5, self.model.duration_s))
        self.set_cursor(start)
        self.detail.setText(
            f"<b>{e.get('check')}</b> {fmt_time(start)}–{fmt_time(end)} "
            f"{'ch ' + str(e['channel']) if e.get('channel') else ''} · {e.get('severity')} · "
            f"{e.get('detail', '')}"
        )

    def next_event(self) -> None:
        if self.model is None or not self.model.events:
            return
        starts = [float(e.get("start_s") or 0) for e in self.model.events]
        if self.current >= 0 and abs(starts[self.current] - self.cursor_s) < 1e-6:
            nxt = self.current + 1
        else:
            nxt = next((i for i, s in enumerate(starts) if s > self.cursor_s + 1e-6), len(starts))
        if nxt < len(starts):
            self.select_event(nxt)

    def previous_event(self) -> None:
        if self.model is None or not self.model.events:
            return
        starts = [float(e.get("start_s") or 0) for e in self.model.events]
        if self.current >= 0 and abs(starts[self.current] - self.cursor_s) < 1e-6:
            prv = self.current - 1
        else:
            prv = max((i for i, s in enumerate(starts) if s < self.cursor_s - 1e-6), default=-1)
        if prv >= 0:
            self.select_event(prv)

    def current_event(self) -> dict | None:
        if self.model is None or not (0 <= self.current < len(self.model.events)):
            return None
        return self.model.events[self.current]

    def mark_current(self, mark: str, note: str = "") -> dict | None:
        e = self.current_event()
        if e is None:
            self.status.setText("Select an event first")
            return None
        name = self.reviewer.text().strip()
        if not name:
            self._error("Type your name in the Reviewer box first")
            return None
        target = self.model.paths.directory if self.model.paths.take_number else self.model.master
        try:
            saved = add_mark(target, e, mark, name, note)
        except HeadblockError as exc:
            self._error(str(exc))
            return None
        QSettings().setValue("review/reviewer", name)
        try:
            self.model.marks = current_marks(self.model.paths.review_json)
        except HeadblockError:
            self.model.marks[event_key(e)] = saved
        self.table.item(self.current, len(self.COLUMNS) - 1).setText(self._mark_text(e))
        self.status.setText(
            f"Saved: {MARK_LABELS[mark]} on {e.get('check')} at {fmt_time(float(e.get('start_s') or 0))}"
        )
        self.mark_saved.emit(saved)
        return saved

    def _note(self) -> None:
        if self.current_event() is None:
            return
        text, ok = QInputDialog.getText(self, "Note on the event", "Note:")
        if ok and text.strip():
            self.mark_current("note", text)

    # -- cursor, playback, frames
    def set_cursor(self, t_s: float) -> None:
        if self.model is None:
            return
        self.cursor_s = min(max(0.0, float(t_s)), self.model.duration_s)
        self.timeline.set_cursor(self.cursor_s)
        self._update_transport()
        if self.fetcher is not None:
            self.fetcher.request(self.cursor_s)
        if (
            self.player is not None
            and self.player.playing
            and abs(self.player.position_s - self.cursor_s) > 0.1
        ):
            try:  # a click or a jump while playing: play on from there
                self.player.play(self.cursor_s, self.player.speed)
            except HeadblockError as exc:
                self._error(str(exc))

    def _update_transport(self) -> None:
        state = "■"
        if self.player is not None and self.player.playing:
            sp = self.player.speed
            state = ("◀" if sp < 0 else "▶") + (f" ×{abs(sp)}" if abs(sp) > 1 else "")
        self.transport.setText(f"{fmt_time(self.cursor_s)}  {state}")

    def _ensure_player(self) -> AudioPlayer | None:
        if self.model is None or self.model.master is None:
            return None
        if self.player is None:
            try:
                self.player = AudioPlayer(self.model.master)
            except HeadblockError as exc:
                self._error(str(exc))
                return None
            except Exception as exc:
                self._error(f"cannot play {self.model.master.name}: {exc}")
                return None
        return self.player

    def shuttle(self, direction: int) -> None:
        """J/L: start in that direction; pressed again, twice as fast (up to ×8)."""
        p = self._ensure_player()
        if p is None:
            return
        if p.playing and (p.speed > 0) == (direction > 0):
            speed = max(-8, min(8, p.speed * 2))
        else:
            speed = direction
        try:
            p.play(self.cursor_s, speed)
        except HeadblockError as exc:
            self._error(str(exc))
            return
        self._play_timer.start()
        self._update_transport()

    def toggle_play(self) -> None:
        if self.player is not None and self.player.playing:
            self.stop_playback()
        else:
            self.shuttle(1)

    def stop_playback(self) -> None:
        self._play_timer.stop()
        if self.player is not None and self.player.playing:
            self.player.stop()
            self.set_cursor(self.player.position_s)
        self._update_transport()

    def _follow_player(self) -> None:
        p = self.player
        if p is None or not p.playing:
            self._play_timer.stop()
            self._update_transport()
            return
        self.cursor_s = p.position_s
        self.timeline.set_cursor(self.cursor_s)
        self.timeline.ensure_visible(self.cursor_s)
        self._update_transport()
        if self.fetcher is not None:
            self.fetcher.request(self.cursor_s)

    def fit_timeline(self) -> None:
        """Home: the whole take in view again after zooming."""
        if self.model is not None and self.timeline.plots:
            self.timeline.plots[0].setXRange(0, max(self.model.duration_s, 0.001), padding=0)

    def step_frames(self, n: int) -> None:
        if self.model is None:
            return
        self.stop_playback()
        self.set_cursor(self.cursor_s + n * self.model.frame_s)
        self.timeline.ensure_visible(self.cursor_s)

    def _show_frame(self, t_s: float, planes) -> None:
        y, u, v, bits = planes
        self.last_planes = planes
        self.picture.show_planes(y, u, v, bits)
        self.wfm.show_luma(y, bits)
        self.vectorscope.show_chroma(u, v, bits)
        self.last_frame_s = t_s

    # -- report and sign-off
    def open_report(self) -> None:
        if self.model is None:
            return
        paths = self.model.paths
        target = paths.directory if paths.take_number else self.model.master

        def job(progress=None):
            from qc.report import write_report

            if paths.qc_html.exists() and _signed(paths):
                return paths.qc_html  # kept as signed
            write_report(target, pdf=True, progress=progress)
            return paths.qc_html

        self.progress.setVisible(True)
        self.jobs.submit(
            job,
            on_finished=lambda p: (
                self.progress.setVisible(False),
                self.open_url(QUrl.fromLocalFile(str(p))),
            ),
            on_failed=lambda msg: (self.progress.setVisible(False), self._error(msg)),
            on_progress=lambda f, m: self.progress.setValue(int(f * 1000)),
        )

    def _signoff(self) -> None:
        if self.model is None or not self.model.paths.take_number:
            self._error("Only a take in the library can be signed off")
            return
        from app.signoff_dialog import SignoffDialog

        try:
            dlg = SignoffDialog(self.model.paths.directory, self)
        except HeadblockError as exc:
            self._error(str(exc))
            return
        dlg.signed.connect(
            lambda e: self.status.setText(
                f"{self.model.paths.stem if self.model else ''}: {e['decision']} by {e['by']} "
                f"at {e['at_utc']}"
            )
        )
        dlg.open()
        self.signoff_requested.emit(self.model.paths.directory)

    def _error(self, message: str) -> None:
        self.status.setText(message)
        log.warning("review: %s", message)
        self.status.setStyleSheet("color: #e57373")
        QTimer.singleShot(6000, lambda: self.status.setStyleSheet("color: #8a929a"))
        if self.isVisible() and self.show_error_boxes:
            box = QMessageBox(QMessageBox.Icon.Warning, "Review", message, parent=self)
            box.open()  # not exec(): a message never stops the window


def _signed(paths) -> bool:
    return paths.signoff_json.exists()
