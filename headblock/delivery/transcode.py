"""A master to an access copy with PyAV: what the master declares, and the encode itself.

Video (FFV1/Matroska): ``bwdif`` by the field order the master declares (none when it is
progressive), scaled to square pixels at the display aspect the master declares (Matroska
DisplayWidth/DisplayHeight, read by FFmpeg as the sample aspect): every line is kept and the
width follows, so 720x486 at 4:3 becomes 648x486 and 720x576 becomes 768x576. Then 8-bit
4:2:0, H.264 (x264, CRF and preset of the profile), colour description copied, AAC sound,
MP4 with the index first (``movflags=+faststart``). Audio (BWF/RF64): MP3 or AAC at 48 kHz.

Loudness (EBU R 128) is two passes: FFmpeg's ``ebur128`` measures the whole programme, then
one linear gain brings it to the target (a look-ahead limiter only when that gain would push
the true peak over the profile's ceiling). A linear gain keeps the programme's dynamics, which
a one-pass dynamic normaliser would not.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.filter
from av.video.frame import PictureType

from headblock.delivery.profiles import AUDIO_CODECS, DeriveProfile
from metadata.errors import HeadblockError
from metadata.progress import ProgressFn

# FFmpeg's AVFieldOrder as capture.mkv_writer writes it (5 = NTSC's bottom field first)
FIELD_ORDERS = {1: "progressive", 2: "tff", 3: "bff", 4: "tff", 5: "bff"}
SILENT_LUFS = -70.0  # EBU R 128's absolute gate: nothing to normalise below it


class _WriteError(HeadblockError):
    """The access copy could not be written (a full disk): not the master's fault."""


class Cancelled(HeadblockError):
    """The derivation was stopped (Ctrl-C); nothing was left behind."""

    exit_status = 130


@dataclass(frozen=True)
class MasterFacts:
    """What a master declares, as the derivative is made from it."""

    kind: str  # "video" | "audio"
    duration_s: float
    width: int = 0
    height: int = 0
    rate: Fraction | None = None
    pix_fmt: str = ""
    field_order: str = "progressive"  # "tff" | "bff" | "progressive"
    sample_aspect: Fraction = Fraction(1)
    audio_rate_hz: int = 0
    audio_channels: int = 0

    @property
    def display_aspect(self) -> Fraction:
        return Fraction(self.width, self.height) * self.sample_aspect

    @property
    def access_size(self) -> tuple[int, int]:
        """Square pixels at the display aspect: the height kept, the width (even) follows."""
        height = self.height - self.height % 2
        width = int(round(height * self.display_aspect / 2)) * 2
        return width, height


@dataclass
class Outcome:
    """What the encode did, for the records."""

    duration_s: float
    frames: int = 0
    width: int = 0
    height: int = 0
    frame_rate: str = ""
    deinterlace: str = ""  # "" when progressive, else e.g. "bwdif, bottom field first"
    audio_rate_hz: int = 0
    audio_channels: int = 0
    loudness: str = ""  # what the normalisation measured and did; "" when not asked
    burn_in: bool = False  # the identifier and timecode burnt into the picture


def _open(master: Path):
    try:
        return av.open(str(master))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise HeadblockError(f"cannot read the master {master.name}: {exc}") from exc


def probe_master(master: Path) -> MasterFacts:
    """The master's declared picture and sound; HeadblockError when it holds neither."""
    with _open(master) as container:
        duration_s = (container.duration or 0) / 1_000_000
        audio = container.streams.audio[0] if container.streams.audio else None
        a_rate = audio.rate if audio else 0
        a_channels = audio.channels if audio else 0
        if not container.streams.video:
            if audio is None:
                raise HeadblockError(f"the master {master.name} has neither picture nor sound")
            return MasterFacts("audio", duration_s, audio_rate_hz=a_rate, audio_channels=a_channels)
        video = container.streams.video[0]
        cc = video.codec_context
        field_order = FIELD_ORDERS.get(int(cc.field_order or 0), "")
        if not field_order:  # undeclared: the first frame's own flags decide
            try:
                frame = next(container.decode(video=0))
            except (av.FFmpegError, StopIteration) as exc:
                raise HeadblockError(f"cannot decode the master {master.name}: {exc}") from exc
            field_order = "tff" if frame.interlaced_frame else "progressive"
        sar = video.sample_aspect_ratio or cc.sample_aspect_ratio
        return MasterFacts(
            "video",
            duration_s,
            width=cc.width,
            height=cc.height,
            rate=video.average_rate or video.guessed_rate,
            pix_fmt=cc.pix_fmt or "",
            field_order=field_order,
            sample_aspect=Fraction(sar) if sar else Fraction(1),
            audio_rate_hz=a_rate,
            audio_channels=a_channels,
        )


# --------------------------------------------------------------------------- filter graphs


def _drain(graph: av.filter.Graph):
    while True:
        try:
            yield graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def _chain(graph: av.filter.Graph, source, filters: list[tuple[str, str]], sink_name: str):
    node = source
    for name, args in filters:
        nxt = graph.add(name, args)
        node.link_to(nxt)
        node = nxt
    sink = graph.add(sink_name)
    node.link_to(sink)
    graph.configure()


def _audio_layout(channels: int) -> str:
    """Access copies carry mono or stereo (more channels are folded down to stereo)."""
    return "mono" if channels == 1 else "stereo"


def _audio_graph(stream, out_rate_hz: int, gain_db: float, limit_dbtp: float | None):
    graph = av.filter.Graph()
    source = graph.add_abuffer(
        format=stream.format.name,
        sample_rate=stream.rate,
        layout=_audio_layout(stream.channels) if stream.channels <= 2 else stream.layout.name,
        time_base=stream.time_base,
    )
    filters = []
    if gain_db:
        filters.append(("volume", f"volume={gain_db:.3f}dB:precision=double"))
    if limit_dbtp is not None:  # a sample-peak limiter set 0.5 dB under the true-peak ceiling
        limit = 10 ** ((limit_dbtp - 0.5) / 20)
        filters.append(("alimiter", f"limit={limit:.6f}:attack=5:release=50:level=0"))
    layout = _audio_layout(stream.channels)
    filters += [
        ("aresample", str(out_rate_hz)),
        ("aformat", f"sample_fmts=fltp:sample_rates={out_rate_hz}:channel_layouts={layout}"),
    ]
    _chain(graph, source, filters, "abuffersink")
    return graph


def _push_pull(graph: av.filter.Graph, frame):
    graph.push(frame)
    yield from _drain(graph)


@dataclass
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


def measure_loudness(
    master: Path,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    duration_s: float = 0.0,
) -> Loudness:
    """Integrated loudness and true peak of the master's sound (ITU-R BS.1770, ``ebur128``)."""
    with _open(master) as container:
        stream = container.streams.audio[0]
        graph = av.filter.Graph()
        source = graph.add_abuffer(template=stream)
        _chain(graph, source, [("ebur128", "metadata=1:peak=true")], "abuffersink")
        last: dict = {}
        try:
            for frame in container.decode(stream):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("derivation stopped")
                for out in _push_pull(graph, frame):
                    last = out.metadata if "lavfi.r128.I" in out.metadata else last
                if progress and duration_s and frame.pts is not None:
                    progress(float(frame.pts * frame.time_base) / duration_s, "measuring loudness")
            for out in _push_pull(graph, None):
                last = out.metadata if "lavfi.r128.I" in out.metadata else last
        except av.FFmpegError as exc:
            raise HeadblockError(f"cannot decode the master {master.name}: {exc}") from exc
    try:
        integrated = float(last["lavfi.r128.I"])
        peak = float(last["lavfi.r128.true_peak"])
    except (KeyError, ValueError) as exc:
        raise HeadblockError(f"the master {master.name} gave no loudness measurement") from exc
    return Loudness(integrated, 20 * math.log10(peak) if peak > 0 else -math.inf)


def loudness_plan(measured: Loudness, profile: DeriveProfile) -> tuple[float, float | None, str]:
    """(gain dB, true-peak ceiling for the limiter or None, what is done, in words)."""
    target, ceiling = profile.target_lufs, profile.max_true_peak_dbtp
    if not math.isfinite(measured.integrated_lufs) or measured.integrated_lufs < SILENT_LUFS:
        return 0.0, None, f"silent (below {SILENT_LUFS:.0f} LUFS): not normalised"
    gain = target - measured.integrated_lufs
    limit = ceiling if measured.true_peak_dbtp + gain > ceiling else None
    words = (
        f"EBU R 128: measured {measured.integrated_lufs:.1f} LUFS, true peak "
        f"{measured.true_peak_dbtp:.1f} dBTP; gain {gain:+.2f} dB to {target:.1f} LUFS"
    )
    if limit is not None:
        words += f", peaks limited under {ceiling:.1f} dBTP"
    return gain, limit, words


# --------------------------------------------------------------------------- the encode


def _video_graph(stream, facts: MasterFacts) -> tuple[av.filter.Graph, str]:
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    width, height = facts.access_size
    filters = []
    words = ""
    if facts.field_order in ("tff", "bff"):
        filters.append(("bwdif", f"mode=send_frame:parity={facts.field_order}:deint=all"))
        first = "top" if facts.field_order == "tff" else "bottom"
        words = f"bwdif (one frame per frame), {first} field first"
    filters += [
        ("scale", f"{width}:{height}:interl=0"),
        ("setsar", "1"),
        ("format", "yuv420p"),
    ]
    _chain(graph, source, filters, "buffersink")
    return graph, words


def _output(path: Path, kind: str, profile: DeriveProfile):
    fmt = "mp4" if kind == "video" else AUDIO_CODECS[profile.audio_codec][2]
    options = {"movflags": "+faststart"} if fmt in ("mp4", "ipod") else {}
    try:
        return av.open(str(path), "w", format=fmt, options=options)
    except (av.FFmpegError, OSError) as exc:
        raise HeadblockError(f"cannot write {path}: {exc}") from exc


def _add_audio_stream(out, codec: str, rate_hz: int, channels: int, bitrate_kbps: int):
    stream = out.add_stream(codec, rate=rate_hz, layout=_audio_layout(channels))
    stream.bit_rate = bitrate_kbps * 1000
    return stream


def transcode(
    master: Path,
    target: Path,
    facts: MasterFacts,
    profile: DeriveProfile,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Outcome:
    """Write the access copy of ``master`` to ``target`` (the file is written in full)."""
    progress = progress or (lambda fraction, message="": None)
    has_sound = facts.audio_channels > 0
    gain, limit, loud_words = 0.0, None, ""
    share = 0.0  # of the progress bar taken by the loudness pass
    if profile.normalise and has_sound:
        share = 0.1 if facts.kind == "video" else 0.4
        measured = measure_loudness(
            master, lambda f, m: progress(share * f, m), cancel, facts.duration_s
        )
        gain, limit, loud_words = loudness_plan(measured, profile)

    outcome = Outcome(duration_s=facts.duration_s, loudness=loud_words)
    with _open(master) as container, _output(target, facts.kind, profile) as out:
        streams = []
        video_in = video_out = audio_in = audio_out = vgraph = agraph = None
        if facts.kind == "video":
            video_in = container.streams.video[0]
            video_in.thread_type = "AUTO"
            vgraph, outcome.deinterlace = _video_graph(video_in, facts)
            rate = facts.rate or Fraction(30000, 1001)
            video_out = out.add_stream("libx264", rate=rate)
            video_out.width, video_out.height = facts.access_size
            video_out.pix_fmt = "yuv420p"
            video_out.options = {"crf": f"{profile.crf:g}", "preset": profile.preset}
            # frame threads, as the ffmpeg command line has them: PyAV's default (slices)
            # measured 15 % more bits at the same CRF here
            video_out.thread_type = "AUTO"
            video_out.thread_count = 0
            enc = video_out.codec_context
            enc.sample_aspect_ratio = Fraction(1)
            for attr in ("color_primaries", "color_trc", "colorspace", "color_range"):
                setattr(enc, attr, getattr(video_in.codec_context, attr))
            streams.append(video_in)
            outcome.width, outcome.height = facts.access_size
            outcome.frame_rate = f"{rate.numerator}/{rate.denominator}"
        if has_sound:
            audio_in = container.streams.audio[0]
            if facts.kind == "video":
                codec, kbps, rate_hz = "aac", profile.video_audio_bitrate_kbps, 48000
            else:
                codec = AUDIO_CODECS[profile.audio_codec][0]
                kbps, rate_hz = profile.audio_bitrate_kbps, profile.audio_rate_hz
            agraph = _audio_graph(audio_in, rate_hz, gain, limit)
            audio_out = _add_audio_stream(out, codec, rate_hz, audio_in.channels, kbps)
            streams.append(audio_in)
            outcome.audio_rate_hz = rate_hz
            outcome.audio_channels = 1 if audio_in.channels == 1 else 2

        tb = 1 / Fraction(video_out.codec_context.rate) if video_out is not None else None

        def mux(packets) -> None:
            try:
                out.mux(packets)
            except (av.FFmpegError, OSError) as exc:
                raise _WriteError(f"cannot write the access copy: {exc}") from exc

        last_pts = [-1]

        burn = None
        if video_out is not None and profile.burn_in:
            from headblock.delivery.burn_in import BurnIn
            from qc.timecode import read_take_timecode

            ident = master.stem
            burn = BurnIn(ident, *facts.access_size, rate, read_take_timecode(master))
            outcome.burn_in = True

        def put_video(frame) -> None:
            if burn is not None:  # at the master's own time of the frame
                t_s = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                frame = burn.apply(frame, t_s)
            # the master's own time in output frames (its sound keeps its own time too, so the
            # two stay together); strictly increasing, as the encoder needs
            if frame.pts is not None:
                pts = int(round(frame.pts * frame.time_base / tb))
            else:
                pts = last_pts[0] + 1
            pts = max(pts, last_pts[0] + 1)
            last_pts[0] = pts
            frame.pts, frame.time_base = pts, tb
            # FFV1 frames are all intra and say so; x264 would make each an I-frame (ffmpeg
            # clears the type before encoding too)
            frame.pict_type = PictureType.NONE
            mux(video_out.encode(frame))
            outcome.frames += 1

        duration = facts.duration_s or 0.0
        try:
            for packet in container.demux(streams):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("derivation stopped")
                for frame in packet.decode():
                    if packet.stream is video_in:
                        for filtered in _push_pull(vgraph, frame):
                            put_video(filtered)
                    else:
                        for filtered in _push_pull(agraph, frame):
                            mux(audio_out.encode(filtered))
                    if duration and frame.pts is not None:
                        done = float(frame.pts * frame.time_base) / duration
                        progress(share + (1 - share) * min(done, 1.0), "encoding")
            if vgraph is not None:
                for filtered in _push_pull(vgraph, None):
                    put_video(filtered)
                mux(video_out.encode(None))
            if agraph is not None:
                for filtered in _push_pull(agraph, None):
                    mux(audio_out.encode(filtered))
                mux(audio_out.encode(None))
        except _WriteError:
            raise
        except av.FFmpegError as exc:
            raise HeadblockError(f"cannot decode the master {master.name}: {exc}") from exc
    if facts.kind == "video" and outcome.frames == 0:
        raise HeadblockError(f"the master {master.name} gave no picture to encode")
    progress(1.0, "written")
    return outcome
