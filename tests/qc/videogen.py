"""Small FFV1/Matroska files with program-like moving pictures and faults at known frames.

The picture is built in native integer planes (8- or 10-bit, any YUV subsampling) so that
every fault lands exactly where the test says: a moving gradient with a travelling box,
interlaced motion (the two fields are sampled half a frame apart, as a camera would),
slowly drifting colour, and tape-like Gaussian noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# kinds understood by make_video
FAULT_KINDS = (
    "streak",  # white horizontal dropout streaks, one frame line high
    "black_streak",  # the same, black
    "repeat_lines",  # a band of field lines repeated by a dropout compensator
    "black",  # black frames
    "freeze",  # exact repeats of the frame before the fault
    "out_of_range",  # a large patch of super-white luma
    "saturation",  # a patch of over-saturated (but in-range) chroma
    "gap",  # frames missing from the stream: the timestamps jump
    "corrupt",  # bytes overwritten inside the coded frame (after muxing)
)


@dataclass(frozen=True)
class Fault:
    kind: str
    start: int  # frame index in the programme (before any gap)
    frames: int = 1


@dataclass
class VideoSpec:
    width: int = 360
    height: int = 243
    rate: Fraction = Fraction(30000, 1001)
    frames: int = 60
    pix_fmt: str = "yuv422p10le"
    noise: float = 1.5  # standard deviation, in 8-bit code values
    seed: int = 1
    faults: tuple[Fault, ...] = ()
    # encoder and container settings (conformance tests vary them)
    level: int = 3
    slicecrc: int = 1
    slices: int = 4
    gop: int = 1
    field_order: int | None = 3  # AVFieldOrder, 3 = bottom field first; None leaves it unset
    audio: str | None = None  # e.g. "pcm_s24le" or "flac"; None: no audio
    codec: str = "ffv1"
    container_format: str = "matroska"


@dataclass
class VideoInfo:
    path: Path
    spec: VideoSpec
    frame_times_s: list[float] = field(default_factory=list)  # pts of each frame written
    fault_times: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.frame_times_s[-1] + float(1 / self.spec.rate) if self.frame_times_s else 0.0


def _bits(pix_fmt: str) -> int:
    return 10 if "10" in pix_fmt else 8


class _Painter:
    """Draws frame n of the programme in native planes."""

    def __init__(self, spec: VideoSpec):
        self.spec = spec
        desc = av.VideoFrame(spec.width, spec.height, spec.pix_fmt)
        self.plane_shapes = [(p.height, p.width) for p in desc.planes]
        self.dtype = np.uint16 if _bits(spec.pix_fmt) > 8 else np.uint8
        self.mult = 1 << (_bits(spec.pix_fmt) - 8)
        self.rng = np.random.default_rng(spec.seed)
        h, w = spec.height, spec.width
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.yy /= h
        self.xx /= w
        # field offset: odd lines are sampled half a frame later
        self.field_dt = (np.arange(h, dtype=np.float32) % 2)[:, None] * 0.5
        ch, cw = self.plane_shapes[1]
        self.cyy, self.cxx = np.mgrid[0:ch, 0:cw].astype(np.float32)
        self.cyy /= ch
        self.cxx /= cw

    def luma8(self, n: int) -> np.ndarray:
        t = (n + self.field_dt) / 30.0
        x, y = self.xx, self.yy
        pic = 110 + 55 * np.sin(2 * np.pi * (1.5 * x + 0.4 * t)) * np.cos(np.pi * (y - 0.2 * t))
        # a bright box that travels across the picture
        bx = (0.1 + 0.25 * t) % 1.0
        box = (np.abs(x - bx) < 0.08) & (np.abs(y - 0.5) < 0.15)
        pic = np.where(box, 190.0, pic)
        return pic

    def chroma8(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        t = n / 30.0
        u = 128 + 28 * np.sin(2 * np.pi * (self.cxx + 0.1 * t))
        v = 128 + 24 * np.cos(2 * np.pi * (self.cyy - 0.15 * t))
        return u, v

    def planes(self, n: int) -> list[np.ndarray]:
        s, m = self.spec, self.mult
        y8 = self.luma8(n)
        u8, v8 = self.chroma8(n)
        out = []
        for arr, shape in zip((y8, u8, v8), self.plane_shapes, strict=True):
            noisy = arr * m + self.rng.normal(0.0, s.noise * m, shape)
            lo, hi = (17 * m, 234 * m)
            out.append(np.clip(np.rint(noisy), lo, hi).astype(self.dtype))
        return out


def _apply(kind: str, planes: list[np.ndarray], painter: _Painter, rng) -> None:
    """Damage one frame's planes in place."""
    y, u, v = planes
    m = painter.mult
    h, w = y.shape
    if kind in ("streak", "black_streak"):
        value = 235 * m if kind == "streak" else 16 * m
        for _ in range(6):
            r = int(rng.integers(8, h - 8))
            c0 = int(rng.integers(0, w // 2))
            length = int(rng.integers(w // 6, w // 3))
            y[r, c0 : c0 + length] = value
    elif kind == "repeat_lines":
        r0 = h // 3
        band = max(24, h // 8)
        for r in range(r0, r0 + band):
            y[r] = y[r0 - 2 + (r - r0) % 2]
    elif kind == "black":
        y[:] = 16 * m + (rng.random(y.shape) < 0.3)
        u[:] = 128 * m
        v[:] = 128 * m
    elif kind == "out_of_range":
        y[h // 4 : h // 2, w // 4 : w // 2] = 250 * m
    elif kind == "saturation":
        ch, cw = u.shape
        # about 140 (8-bit) from grey, with both components still inside 16..240
        u[ch // 4 : ch // 2, cw // 4 : cw // 2] = (128 + 100) * m
        v[ch // 4 : ch // 2, cw // 4 : cw // 2] = (128 - 98) * m


def _write_planes(frame: av.VideoFrame, planes: list[np.ndarray]) -> None:
    for plane, arr in zip(frame.planes, planes, strict=True):
        itemsize = arr.dtype.itemsize
        buf = np.frombuffer(plane, dtype=arr.dtype).reshape(
            plane.height, plane.line_size // itemsize
        )
        buf[:, : arr.shape[1]] = arr


def make_video(path: Path, spec: VideoSpec | None = None) -> VideoInfo:
    """Encode ``spec.frames`` programme frames (minus gaps) to ``path``; returns where faults are."""
    spec = spec or VideoSpec()
    path = Path(path)
    painter = _Painter(spec)
    rng = np.random.default_rng(spec.seed + 1000)
    per_frame: dict[int, list[str]] = {}
    for f in spec.faults:
        if f.kind not in FAULT_KINDS:
            raise ValueError(f.kind)
        for n in range(f.start, f.start + f.frames):
            per_frame.setdefault(n, []).append(f.kind)

    info = VideoInfo(path, spec)
    frame_s = float(1 / spec.rate)
    for f in spec.faults:
        info.fault_times.setdefault(f.kind, []).append(
            (f.start * frame_s, (f.start + f.frames) * frame_s)
        )

    container = av.open(str(path), "w", format=spec.container_format)
    stream = container.add_stream(spec.codec, rate=spec.rate)
    stream.width, stream.height = spec.width, spec.height
    stream.pix_fmt = spec.pix_fmt
    cc = stream.codec_context
    if spec.field_order is not None:
        cc.field_order = spec.field_order
    if spec.codec == "ffv1":
        opts = {"level": str(spec.level), "g": str(spec.gop)}
        if spec.level >= 2:  # versions 0 and 1 have neither slices nor slice CRCs
            opts.update(slicecrc=str(spec.slicecrc), slices=str(spec.slices))
        stream.options = opts
    else:
        stream.options = {"g": str(spec.gop)}
    cc.thread_type = "SLICE"
    cc.thread_count = 2
    astream = None
    if spec.audio:
        astream = container.add_stream(spec.audio, rate=48000, layout="stereo")
    stream.time_base = 1 / spec.rate

    corrupt_frames = set()
    previous = None
    pts = 0
    audio_samples = 0
    for n in range(spec.frames):
        kinds = per_frame.get(n, [])
        if "gap" in kinds:
            pts += 1
            continue
        if "freeze" in kinds and previous is not None:
            planes = [p.copy() for p in previous]
        else:
            planes = painter.planes(n)
            for kind in kinds:
                _apply(kind, planes, painter, rng)
        if "corrupt" in kinds:
            corrupt_frames.add(pts)
        frame = av.VideoFrame(spec.width, spec.height, spec.pix_fmt)
        _write_planes(frame, planes)
        frame.pts = pts
        frame.time_base = 1 / spec.rate
        for packet in stream.encode(frame):
            container.mux(packet)
        info.frame_times_s.append(float(pts / spec.rate))
        previous = planes
        pts += 1
        if astream is not None:
            want = int(round((pts / spec.rate) * 48000)) - audio_samples
            _mux_audio(container, astream, want, audio_samples)
            audio_samples += want
    for packet in stream.encode(None):
        container.mux(packet)
    if astream is not None:
        for packet in astream.encode(None):
            container.mux(packet)
    container.close()
    if corrupt_frames:
        _corrupt(path, corrupt_frames, spec.rate)
    return info


def _mux_audio(container, astream, samples: int, start: int) -> None:
    if samples <= 0:
        return
    t = (np.arange(start, start + samples) / 48000.0).astype(np.float64)
    tone = (0.25 * np.sin(2 * np.pi * 440 * t) * 2**31).astype(np.int32)
    fmt = "s32" if astream.codec_context.name.startswith("pcm_s24") else astream.format.name
    if fmt.startswith("s16"):
        data = (tone >> 16).astype(np.int16)
    else:
        data = tone
    packed = np.ascontiguousarray(np.stack([data, data], axis=1).reshape(1, -1))
    frame = av.AudioFrame.from_ndarray(packed, format=fmt.rstrip("p"), layout="stereo")
    frame.sample_rate = 48000
    frame.pts = start
    for packet in astream.encode(frame):
        container.mux(packet)


def _corrupt(path: Path, pts_set: set[int], rate: Fraction) -> None:
    """Overwrite bytes in the middle of the coded frames whose pts (in frames) are listed."""
    spans = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        for packet in c.demux(vs):
            if packet.pts is None or packet.pos is None:
                continue
            n = int(round(float(packet.pts * vs.time_base) * rate))
            if n in pts_set:
                spans.append((packet.pos, packet.size))
    with open(path, "r+b") as fh:
        for pos, size in spans:
            at = pos + size // 2
            fh.seek(at)
            chunk = bytearray(fh.read(64))
            fh.seek(at)
            fh.write(bytes(b ^ 0x5A for b in chunk))


def ffmpeg_signalstats(path: Path, max_frames: int | None = None) -> list[dict[str, float]]:
    """FFmpeg's own ``signalstats=stat=tout+vrep+brng`` per frame, through PyAV's filter graph."""
    out: list[dict[str, float]] = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        graph = av.filter.Graph()
        src = graph.add_buffer(template=vs)
        stats = graph.add("signalstats", "stat=tout+vrep+brng")
        sink = graph.add("buffersink")
        src.link_to(stats)
        stats.link_to(sink)
        graph.configure()
        for frame in c.decode(vs):
            graph.push(frame)
            while True:
                try:
                    res = graph.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    break
                out.append({k.rsplit(".", 1)[-1]: float(v) for k, v in res.metadata.items()})
            if max_frames is not None and len(out) >= max_frames:
                break
    return out
