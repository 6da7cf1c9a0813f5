"""The report's pictures: level, loudness and video-statistics plots (matplotlib, Agg) from the
review sidecars, so a two-hour take does not need decoding again, and a thumbnail of the frame
at each video event (PyAV seek)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from metadata.progress import ProgressFn
from metadata.take.naming import TakePaths
from metadata.verdicts import VERDICT_PRINT_COLOURS
from qc.sidecars import Envelope, VStats, frame_at, read_envelope, read_vstats
from qc.table import VIDEO_CHECK_IDS

log = logging.getLogger(__name__)

MAX_THUMBNAILS = 12
PLOT_POINTS = 4000  # a long take's curves are reduced to about this many min/max buckets
VIDEO_PLOT_GROUPS = [
    ("Luma range", ("YMIN", "YLOW", "YAVG", "YHIGH", "YMAX")),
    ("Saturation", ("SATAVG", "SATHIGH", "SATMAX")),
    ("TOUT (temporal outliers)", ("TOUT",)),
    ("VREP (repeated lines)", ("VREP",)),
    ("BRNG (out of broadcast range)", ("BRNG",)),
]


def plots(paths: TakePaths, qc: dict, progress: ProgressFn) -> list[tuple[str, bytes]]:
    """(caption, PNG) of every plot the take's sidecars allow."""
    import matplotlib

    matplotlib.use("Agg", force=False)

    events = [e for e in qc.get("events") or [] if isinstance(e, dict)]
    out: list[tuple[str, bytes]] = []
    envelope = read_envelope(paths)
    if envelope is not None:
        progress(0.65, "plotting levels")
        out.append(("Level envelope per channel", _level_plot(envelope, events)))
        progress(0.7, "plotting loudness")
        out.append(("Loudness", _loudness_plot(envelope, qc.get("stats") or {})))
    video_stats = read_vstats(paths)
    if video_stats is not None:
        progress(0.75, "plotting video statistics")
        out.append(("Video statistics", _video_plot(video_stats, events)))
    return out


def _level_plot(envelope: Envelope, events: list[dict]) -> bytes:
    import matplotlib.pyplot as plt

    times = envelope.times_s()
    channels = envelope.channels
    fig, axes = plt.subplots(
        channels, 1, figsize=(7.2, 1.5 + 1.2 * channels), sharex=True, squeeze=False
    )
    for ch in range(channels):
        ax = axes[ch][0]
        peak_t, _, peak_hi = _decimate(times, envelope.peak_dbfs[:, ch])
        ax.fill_between(peak_t, -120, peak_hi, color="#5c7cfa", lw=0, label="peak")
        rms_t, _, rms_hi = _decimate(times, envelope.rms_dbfs[:, ch])
        ax.plot(rms_t, rms_hi, color="#1a237e", lw=0.6, label="RMS")
        ax.set_ylim(-90, 3)
        ax.set_ylabel(f"ch {ch + 1}\ndBFS", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        _event_spans(
            ax,
            [
                e
                for e in events
                if e.get("channel") in (None, ch + 1)
                and e.get("check") not in VIDEO_CHECK_IDS | {"loudness"}  # on its own plot
            ],
        )
    axes[0][0].legend(loc="lower right", fontsize=7)
    _time_axis(axes[-1][0])
    fig.suptitle("Level envelope per channel (QC events shaded)", fontsize=9)
    fig.tight_layout()
    return _fig_png(fig)


def _loudness_plot(envelope: Envelope, stats: dict) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 2.2))
    # Short-term (3 s) mean power over all channels: QC keeps no loudness curve.
    power = np.mean(10 ** (envelope.rms_dbfs / 10.0), axis=1)
    # never wider than the take: np.convolve "same" returns the longer of the two
    width = max(1, min(int(round(3.0 / envelope.block_s)), len(power)))
    kernel = np.ones(width) / width
    short_term = 10 * np.log10(np.maximum(np.convolve(power, kernel, mode="same"), 1e-12))
    curve_t, _, curve_hi = _decimate(envelope.times_s(), short_term)
    ax.plot(curve_t, curve_hi, color="#6a1b9a", lw=0.8)
    # An audio take keeps its loudness at the top; a video take under "audio".
    audio_stats = stats.get("audio") if isinstance(stats.get("audio"), dict) else stats
    integrated = audio_stats.get("integrated_lufs")
    if isinstance(integrated, int | float):
        ax.axhline(
            float(integrated),
            color="#c62828",
            lw=0.8,
            ls="--",
            label=f"integrated {float(integrated):.1f} LUFS",
        )
        ax.legend(loc="lower right", fontsize=7)
    ax.set_ylim(-70, 0)
    ax.set_ylabel("3 s RMS (dBFS)", fontsize=7)
    _time_axis(ax)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    fig.suptitle("Loudness", fontsize=9)
    fig.tight_layout()
    return _fig_png(fig)


def _video_plot(video_stats: VStats, events: list[dict]) -> bytes:
    import matplotlib.pyplot as plt

    groups = [
        (title, [n for n in names if n in video_stats.series]) for title, names in VIDEO_PLOT_GROUPS
    ]
    groups = [(title, names) for title, names in groups if names]
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(7.2, 1.0 + 1.25 * len(groups)), sharex=True, squeeze=False
    )
    video_events = [e for e in events if e.get("check") in VIDEO_CHECK_IDS]
    for (title, names), row in zip(groups, axes, strict=True):
        ax = row[0]
        for name in names:
            curve_t, _, curve_hi = _decimate(video_stats.times_s, video_stats.series[name])
            ax.plot(curve_t, curve_hi, lw=0.7, label=name)
        if title == "Luma range":
            codes = 1 << video_stats.bit_depth
            ax.axhline(16 * codes / 256, color="#999", lw=0.5, ls=":")
            ax.axhline(235 * codes / 256, color="#999", lw=0.5, ls=":")
        _event_spans(ax, video_events)
        ax.set_title(title, fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(names) > 1:
            ax.legend(fontsize=6, ncol=len(names), loc="upper right")
    _time_axis(axes[-1][0])
    fig.suptitle("Video statistics per frame", fontsize=9)
    fig.tight_layout()
    return _fig_png(fig)


def _fig_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _event_spans(ax, events: list[dict]) -> None:
    """Events as shaded spans and start lines: one collection per severity, so thousands of
    events on a two-hour take cost no more than a few."""
    by_colour: dict[str, tuple[list, list]] = {}
    for ev in events:
        colour = VERDICT_PRINT_COLOURS.get(ev.get("severity"), "#555555")
        start = float(ev.get("start_s") or 0)
        end = float(ev.get("end_s") or start)
        spans, starts = by_colour.setdefault(colour, ([], []))
        spans.append((start, max(end - start, 1e-3)))
        starts.append(start)
    trans = ax.get_xaxis_transform()  # x in data, y in axes fraction
    n = sum(len(starts) for _, starts in by_colour.values())
    # Few events: shade the whole height. Many: a band along the top keeps the curve readable.
    y0, height = (0.0, 1.0) if n <= 40 else (0.9, 0.1)
    for colour, (spans, starts) in by_colour.items():
        ax.broken_barh(
            spans, (y0, height), transform=trans, facecolors=colour, alpha=0.3, lw=0, zorder=0.5
        )
        ax.vlines(starts, y0, 1, transform=trans, colors=colour, lw=0.6, alpha=0.8)


def _time_axis(ax) -> None:
    """Seconds for a short take; h:mm:ss once it runs past ten minutes."""
    lo, hi = ax.get_xlim()
    if hi - lo <= 600:
        ax.set_xlabel("time (s)", fontsize=8)
        return
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    def hms(x, _pos=None):
        x = max(0, int(round(x)))
        return f"{x // 3600}:{x % 3600 // 60:02d}:{x % 60:02d}"

    steps = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800)
    step = next((st for st in steps if (hi - lo) / st <= 8), steps[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(hms))
    ax.set_xlabel("time (h:mm:ss)", fontsize=8)


def _decimate(times: np.ndarray, values: np.ndarray, n: int = PLOT_POINTS):
    """Envelope-preserving reduction for long takes: (times, min, max) per bucket."""
    if len(times) <= 2 * n:
        return times, values, values
    step = len(times) // n
    whole = (len(times) // step) * step
    buckets = values[:whole].reshape(-1, step)
    return times[:whole:step], buckets.min(axis=1), buckets.max(axis=1)


def thumbnails(master: Path | None, events: list[dict], progress: ProgressFn, timecode=None):
    """(caption, PNG) of the frame at each of the first video events of a Matroska master;
    ``timecode`` (``qc.timecode.TakeTimecode``) puts the tape's timecode in each caption."""
    from qc.timecode import time_label

    if master is None or master.suffix.lower() != ".mkv":
        return []
    video_events = [e for e in events if e.get("check") in VIDEO_CHECK_IDS][:MAX_THUMBNAILS]
    if not video_events:
        return []
    out = []
    try:
        import av
        import PIL.Image  # noqa: F401  (frame.to_image needs Pillow)
    except ImportError:
        return []
    try:
        with av.open(str(master)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, ev in enumerate(video_events):
                progress(0.8 + 0.15 * i / len(video_events), "thumbnails")
                frame = frame_at(container, stream, float(ev.get("start_s") or 0))
                if frame is None:
                    continue
                img = frame.to_image()
                img = img.resize((240, int(round(240 / _display_aspect(stream, frame)))))
                buf = io.BytesIO()
                img.save(buf, format="PNG")
                caption = f"{ev.get('check')} at {time_label(ev.get('start_s') or 0, timecode)}"
                out.append((caption, buf.getvalue()))
    except Exception as exc:
        log.warning("thumbnails of %s: %s", master.name, exc)
    return out


def _display_aspect(stream, frame) -> float:
    """Width/height as shown: the sample aspect ratio when known, 4:3 for SD frames."""
    sar = getattr(stream, "sample_aspect_ratio", None) or getattr(
        stream.codec_context, "sample_aspect_ratio", None
    )
    if sar and float(sar) > 0 and float(sar) != 1.0:
        return frame.width * float(sar) / frame.height
    if frame.height in (480, 486, 576, 608) and frame.width in (704, 720):
        return 4 / 3
    return frame.width / frame.height
