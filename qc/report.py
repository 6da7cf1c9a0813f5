"""The QC report of a take: ``ITEM_tNN.qc.html`` (self-contained) and ``ITEM_tNN.qc.pdf``.

Both are written from the same facts: item and carrier (capture log ``take_start`` or PBCore),
technical metadata of the master (soundfile / PyAV), fixity (the ``.md5`` sidecar, verified
now), the verdict per check, the events with the reviewer's marks, and plots (matplotlib, Agg)
from the review sidecars, so a two-hour take does not need decoding again. Video events get a
thumbnail of the frame (PyAV seek). The PDF is laid out by reportlab for A4 (fits Letter).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError
from metadata.progress import ProgressFn, TerminalProgress, no_progress
from metadata.take.naming import TakePaths, paths_for_master, paths_for_take_dir
from qc.sidecars import VIDEO_CHECKS, Envelope, VStats, frame_at, read_envelope, read_vstats  # noqa: F401

log = logging.getLogger(__name__)

MAX_EVENT_ROWS = 5000  # HTML; beyond this the table lists the first ones and says how many more
MAX_EVENT_ROWS_PDF = 300  # a printed report stays a readable length
MAX_THUMBNAILS = 12
STATUS_COLOURS = {"pass": "#2e7d32", "warn": "#b26a00", "fail": "#c62828"}


# ---------------------------------------------------------------------------------------------
# review sidecars, through the QC runner's and video statistics' own readers


# ---------------------------------------------------------------------------------------------
# facts


@dataclass
class ReportFacts:
    paths: TakePaths
    qc: dict
    master: Path | None
    item_rows: list[tuple[str, str]]
    tech_rows: list[tuple[str, str]]
    fixity_rows: list[tuple[str, str]]
    fixity_ok: bool | None
    marks: dict
    plots: list[tuple[str, bytes]]  # (caption, PNG)
    thumbnails: list[tuple[str, bytes]]
    generated_utc: str


def _item_rows(paths: TakePaths) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("Item", paths.item), ("Take", f"{paths.take_number:02d}")]
    start = None
    try:
        from metadata.take.log import read_log

        start = next((e for e in read_log(paths.log) if e.event == "take_start"), None)
    except Exception:
        start = None
    if start is not None:
        rows.append(("Captured (UTC)", start.time))
        f = start.fields
        device = f.get("device")
        if isinstance(device, dict):  # audio takes log the input as a dict
            name = device.get("device") or device.get("name") or ""
            rest = ", ".join(f"{k}={v}" for k, v in device.items() if k not in ("device", "name"))
            device = f"{name} ({rest})" if name and rest else (name or rest)
        if device:
            rows.append(("Device", str(device)))
        settings = f.get("settings")
        if isinstance(settings, dict):
            shown = ", ".join(f"{k}={v}" for k, v in settings.items() if not isinstance(v, dict))
            if shown:
                rows.append(("Settings", shown))
        meta = f.get("meta") if isinstance(f.get("meta"), dict) else {}
        try:
            from metadata.take.meta import TakeMeta

            tm = TakeMeta.from_dict(meta)
            if tm.carrier:
                rows.append(("Carrier", tm.carrier_label))
            for name in TakeMeta.field_names():
                value = getattr(tm, name)
                if value and name != "carrier":
                    rows.append((name.replace("_", " ").capitalize(), value))
            for k, v in tm.extra.items():
                rows.append((k, v))
        except Exception:
            for k, v in meta.items():
                rows.append((str(k), str(v)))
    elif paths.pbcore.exists():
        rows += _pbcore_rows(paths.pbcore)
    return rows


def _pbcore_rows(path: Path) -> list[tuple[str, str]]:
    try:
        from lxml import etree

        tree = etree.parse(str(path))
    except Exception:
        return []
    rows = []
    for label, local in (
        ("Title", "pbcoreTitle"),
        ("Carrier", "instantiationPhysical"),
        ("Date", "instantiationDate"),
        ("Description", "pbcoreDescription"),
    ):
        found = tree.xpath(f"//*[local-name()='{local}']/text()")
        if found:
            rows.append((label, str(found[0]).strip()))
    return rows


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = float(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h):d}:{int(m):02d}:{sec:06.3f}"


def _tech_rows(master: Path | None) -> list[tuple[str, str]]:
    if master is None:
        return [("Master", "missing")]
    rows = [("File", master.name), ("Size", f"{master.stat().st_size:,} bytes")]
    if master.suffix.lower() == ".wav":
        try:
            import soundfile as sf

            info = sf.info(str(master))
            rows += [
                ("Format", f"{info.format_info} ({info.format})"),
                ("Encoding", f"{info.subtype_info}"),
                ("Sample rate", f"{info.samplerate} Hz"),
                ("Channels", str(info.channels)),
                ("Duration", f"{_fmt_duration(info.duration)} ({info.frames:,} frames)"),
            ]
        except Exception as exc:
            rows.append(("Read error", str(exc)))
        return rows
    try:
        import av

        with av.open(str(master)) as c:
            rows.append(("Container", c.format.long_name or c.format.name))
            if c.duration:
                rows.append(("Duration", _fmt_duration(c.duration / 1_000_000)))
            for s in c.streams:
                cc = s.codec_context
                if s.type == "video":
                    rate = s.average_rate or s.guessed_rate
                    rows.append(
                        (
                            f"Video stream {s.index}",
                            f"{cc.name} {cc.width}×{cc.height} {cc.pix_fmt}, {rate} fps"
                            + (f", {s.frames} frames" if s.frames else ""),
                        )
                    )
                elif s.type == "audio":
                    rows.append(
                        (
                            f"Audio stream {s.index}",
                            f"{cc.name} {cc.sample_rate} Hz, {cc.channels} ch, {cc.format.name}",
                        )
                    )
    except Exception as exc:
        rows.append(("Read error", str(exc)))
    return rows


def _file_md5(path: Path, progress: ProgressFn) -> str:
    from metadata.formats.checksums import file_md5

    return file_md5(path, lambda f, m="": progress(0.1 + 0.5 * f, f"verifying {m}"))


def _fixity(master: Path | None, progress: ProgressFn) -> tuple[list[tuple[str, str]], bool | None]:
    if master is None:
        return [("Master", "missing")], False
    md5_path = master.with_name(master.name + ".md5")
    if not md5_path.exists():
        return [("Checksum file", f"{md5_path.name} missing")], None
    try:
        recorded = md5_path.read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError):
        return [("Checksum file", f"{md5_path.name} unreadable")], False
    actual = _file_md5(master, progress)
    ok = actual == recorded
    rows = [
        ("Algorithm", "MD5 (md5sum -c format)"),
        ("Recorded", recorded),
        ("Computed now", actual),
        ("Result", "verified" if ok else "MISMATCH"),
    ]
    fm = master.with_suffix(".framemd5")
    if fm.exists():
        lines = [ln for ln in fm.read_text(errors="replace").splitlines() if ln and ln[0] != "#"]
        rows.append(("framemd5", f"{fm.name}: {len(lines):,} frame checksums"))
    return rows, ok


# ---------------------------------------------------------------------------------------------
# plots


def _fig_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _event_spans(ax, events: list[dict], checks: set[str] | None = None) -> None:
    """Events as shaded spans and start lines: one collection per severity, so thousands of
    events on a two-hour take cost no more than a few."""
    by_colour: dict[str, tuple[list, list]] = {}
    for ev in events:
        if checks is not None and ev.get("check") not in checks:
            continue
        colour = STATUS_COLOURS.get(ev.get("severity"), "#555555")
        start = float(ev.get("start_s") or 0)
        end = float(ev.get("end_s") or start)
        spans, starts = by_colour.setdefault(colour, ([], []))
        spans.append((start, max(end - start, 1e-3)))
        starts.append(start)
    trans = ax.get_xaxis_transform()  # x in data, y in axes fraction
    n = sum(len(st) for _, st in by_colour.values())
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


def _decimate(t: np.ndarray, y: np.ndarray, n: int = 4000):
    """Envelope-preserving reduction for long takes: min and max per bucket."""
    if len(t) <= 2 * n:
        return t, y, y
    step = len(t) // n
    m = (len(t) // step) * step
    yy = y[:m].reshape(-1, step)
    return t[:m:step], yy.min(axis=1), yy.max(axis=1)


def _plots(paths: TakePaths, qc: dict, progress: ProgressFn) -> list[tuple[str, bytes]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    events = [e for e in qc.get("events") or [] if isinstance(e, dict)]
    out: list[tuple[str, bytes]] = []
    env = read_envelope(paths)
    if env is not None:
        progress(0.65, "plotting levels")
        t = env.times_s()
        fig, axes = plt.subplots(
            env.channels, 1, figsize=(7.2, 1.5 + 1.2 * env.channels), sharex=True, squeeze=False
        )
        for ch in range(env.channels):
            ax = axes[ch][0]
            tt, lo, hi = _decimate(t, env.peak_dbfs[:, ch])
            ax.fill_between(tt, -120, hi, color="#5c7cfa", lw=0, label="peak")
            tr, _, rms_hi = _decimate(t, env.rms_dbfs[:, ch])
            ax.plot(tr, rms_hi, color="#1a237e", lw=0.6, label="RMS")
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
                    and e.get("check") not in VIDEO_CHECKS | {"loudness"}  # on its own plot
                ],
                None,
            )
        axes[0][0].legend(loc="lower right", fontsize=7)
        _time_axis(axes[-1][0])
        fig.suptitle("Level envelope per channel (QC events shaded)", fontsize=9)
        fig.tight_layout()
        out.append(("Level envelope per channel", _fig_png(fig)))

        progress(0.7, "plotting loudness")
        fig, ax = plt.subplots(figsize=(7.2, 2.2))
        # Short-term (3 s) mean power over all channels: QC keeps no loudness curve.
        power = np.mean(10 ** (env.rms_dbfs / 10.0), axis=1)
        win = max(1, int(round(3.0 / env.block_s)))
        kernel = np.ones(win) / win
        st = 10 * np.log10(np.maximum(np.convolve(power, kernel, mode="same"), 1e-12))
        tt, _, hi = _decimate(t, st)
        ax.plot(tt, hi, color="#6a1b9a", lw=0.8)
        label = "3 s RMS (dBFS)"
        stats = qc.get("stats") or {}
        # An audio take keeps its loudness at the top; a video take under "audio".
        audio_stats = stats.get("audio") if isinstance(stats.get("audio"), dict) else stats
        integ = audio_stats.get("integrated_lufs")
        if isinstance(integ, int | float):
            ax.axhline(
                float(integ),
                color="#c62828",
                lw=0.8,
                ls="--",
                label=f"integrated {float(integ):.1f} LUFS",
            )
            ax.legend(loc="lower right", fontsize=7)
        ax.set_ylim(-70, 0)
        ax.set_ylabel(label, fontsize=7)
        _time_axis(ax)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        fig.suptitle("Loudness", fontsize=9)
        fig.tight_layout()
        out.append(("Loudness", _fig_png(fig)))

    vs = read_vstats(paths)
    if vs is not None:
        progress(0.75, "plotting video statistics")
        groups = [
            ("Luma range", ("YMIN", "YLOW", "YAVG", "YHIGH", "YMAX")),
            ("Saturation", ("SATAVG", "SATHIGH", "SATMAX")),
            ("TOUT (temporal outliers)", ("TOUT",)),
            ("VREP (repeated lines)", ("VREP",)),
            ("BRNG (out of broadcast range)", ("BRNG",)),
        ]
        groups = [(g, [n for n in names if n in vs.series]) for g, names in groups]
        groups = [(g, names) for g, names in groups if names]
        fig, axes = plt.subplots(
            len(groups), 1, figsize=(7.2, 1.0 + 1.25 * len(groups)), sharex=True, squeeze=False
        )
        video_events = [e for e in events if e.get("check") in VIDEO_CHECKS]
        for (title, names), row in zip(groups, axes, strict=True):
            ax = row[0]
            for n in names:
                tt, _, hi = _decimate(vs.times_s, vs.series[n])
                ax.plot(tt, hi, lw=0.7, label=n)
            if title == "Luma range":
                top = (1 << vs.bit_depth) - 1
                lo_legal, hi_legal = 16 * (top + 1) / 256, 235 * (top + 1) / 256
                ax.axhline(lo_legal, color="#999", lw=0.5, ls=":")
                ax.axhline(hi_legal, color="#999", lw=0.5, ls=":")
            _event_spans(ax, video_events)
            ax.set_title(title, fontsize=8, loc="left")
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if len(names) > 1:
                ax.legend(fontsize=6, ncol=len(names), loc="upper right")
        _time_axis(axes[-1][0])
        fig.suptitle("Video statistics per frame", fontsize=9)
        fig.tight_layout()
        out.append(("Video statistics", _fig_png(fig)))
    return out


def _thumbnails(master: Path | None, events: list[dict], progress: ProgressFn):
    if master is None or master.suffix.lower() != ".mkv":
        return []
    video_events = [e for e in events if e.get("check") in VIDEO_CHECKS][:MAX_THUMBNAILS]
    if not video_events:
        return []
    out = []
    try:
        import av
        import PIL.Image  # noqa: F401  (frame.to_image needs Pillow)
    except ImportError:
        return []
    try:
        with av.open(str(master)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for i, ev in enumerate(video_events):
                progress(0.8 + 0.15 * i / len(video_events), "thumbnails")
                frame = frame_at(c, stream, float(ev.get("start_s") or 0))
                if frame is None:
                    continue
                img = frame.to_image()
                img = img.resize((240, int(round(240 / display_aspect(stream, frame)))))
                buf = io.BytesIO()
                img.save(buf, format="PNG")
                caption = f"{ev.get('check')} at {float(ev.get('start_s') or 0):.3f} s"
                out.append((caption, buf.getvalue()))
    except Exception as exc:
        log.warning("thumbnails of %s: %s", master.name, exc)
    return out


def display_aspect(stream, frame) -> float:
    """Width/height as shown: the sample aspect ratio when known, 4:3 for SD frames."""
    sar = getattr(stream, "sample_aspect_ratio", None) or getattr(
        stream.codec_context, "sample_aspect_ratio", None
    )
    if sar and float(sar) > 0 and float(sar) != 1.0:
        return frame.width * float(sar) / frame.height
    if frame.height in (480, 486, 576, 608) and frame.width in (704, 720):
        return 4 / 3
    return frame.width / frame.height


# ---------------------------------------------------------------------------------------------
# gathering


def gather(take_dir: Path, progress: ProgressFn = no_progress) -> ReportFacts:
    take_dir = Path(take_dir)
    if take_dir.is_dir():
        paths = paths_for_take_dir(take_dir)
    elif take_dir.is_file():
        paths = paths_for_master(take_dir)
    else:
        raise HeadblockError(f"{take_dir} does not exist")
    if not paths.qc_json.exists():
        raise HeadblockError(
            f"{paths.stem} has no QC result ({paths.qc_json.name}); run `headblock qc` first"
        )
    try:
        qc = json.loads(paths.qc_json.read_text(encoding="utf-8"))
        if not isinstance(qc, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise HeadblockError(f"{paths.qc_json.name} is not a QC result: {exc}") from exc
    master = paths.master_if_present()
    if master is None and qc.get("file"):
        cand = paths.directory / str(qc["file"])
        master = cand if cand.exists() else None
    progress(0.02, "metadata")
    item_rows = _item_rows(paths)
    tech_rows = _tech_rows(master)
    fixity_rows, fixity_ok = _fixity(master, progress)
    from metadata.review.marks import current_marks

    marks = current_marks(paths.review_json) if paths.review_json.exists() else {}
    plots = _plots(paths, qc, progress)
    thumbs = _thumbnails(master, qc.get("events") or [], progress)
    return ReportFacts(
        paths=paths,
        qc=qc,
        master=master,
        item_rows=item_rows,
        tech_rows=tech_rows,
        fixity_rows=fixity_rows,
        fixity_ok=fixity_ok,
        marks=marks,
        plots=plots,
        thumbnails=thumbs,
        generated_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def _event_rows(facts: ReportFacts, limit: int = MAX_EVENT_ROWS) -> list[list[str]]:
    from metadata.review.marks import MARK_LABELS, event_key

    rows = []
    for ev in (facts.qc.get("events") or [])[:limit]:
        if not isinstance(ev, dict):
            continue
        m = facts.marks.get(event_key(ev))
        mark = ""
        if m:
            mark = f"{MARK_LABELS.get(m.get('mark'), m.get('mark'))} ({m.get('reviewer', '')})"
            if m.get("note"):
                mark += f": {m['note']}"
        value = ev.get("value")
        rows.append(
            [
                str(ev.get("check", "")),
                f"{float(ev.get('start_s') or 0):.3f}",
                f"{float(ev.get('end_s') or 0):.3f}",
                "" if ev.get("channel") is None else str(ev.get("channel")),
                str(ev.get("severity", "")),
                ""
                if value is None
                else (f"{value:.2f}" if isinstance(value, float) else str(value)),
                str(ev.get("detail", "")),
                mark,
            ]
        )
    return rows


EVENT_HEADERS = ["check", "start (s)", "end (s)", "ch", "severity", "value", "detail", "review"]


# ---------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:10.5pt;color:#222;
 max-width:190mm;margin:1em auto;padding:0 4mm}
h1{font-size:17pt;margin:.2em 0}h2{font-size:12.5pt;border-bottom:1px solid #bbb;margin-top:1.2em}
table{border-collapse:collapse;width:100%;margin:.3em 0}
td,th{border:1px solid #ccc;padding:2px 5px;vertical-align:top;text-align:left}
th{background:#eee}table.kv td:first-child{width:32%;color:#555}
.verdict{display:inline-block;padding:2px 10px;color:#fff;border-radius:3px;font-weight:bold}
.pass{background:#2e7d32}.warn{background:#b26a00}.fail{background:#c62828}
td.pass,td.warn,td.fail{color:#fff;font-weight:bold}
img.plot{width:100%;page-break-inside:avoid}figure{margin:.4em 0;page-break-inside:avoid}
figure.thumb{display:inline-block;width:31%;margin:.5%;font-size:8pt}
figure.thumb img{width:100%;border:1px solid #999}.small{font-size:8.5pt;color:#555}
table.events{font-size:8.5pt}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0}h2{page-break-after:avoid}
 tr{page-break-inside:avoid}}
"""


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f'<table class="kv">{body}</table>'


def render_html(facts: ReportFacts) -> str:
    qc = facts.qc
    e = html.escape
    verdict = str(qc.get("verdict", "?"))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>QC report {e(facts.paths.stem)}</title><style>{_CSS}</style></head><body>",
        f"<h1>QC report — {e(facts.paths.stem)}</h1>",
        f"<p>Verdict: <span class='verdict {e(verdict)}'>{e(verdict.upper())}</span> "
        f"&nbsp; {e(str(qc.get('kind', '')))} · {e(_fmt_duration(qc.get('duration_s')))} · "
        f"profile {e(str(qc.get('profile', '')))} · "
        f"{len(qc.get('events') or [])} event(s)</p>",
        f"<p class='small'>File {e(str(qc.get('file', '')))} · report generated "
        f"{e(facts.generated_utc)}</p>",
        "<h2>Item and carrier</h2>",
        _kv_table(facts.item_rows),
        "<h2>Technical metadata of the master</h2>",
        _kv_table(facts.tech_rows),
        "<h2>Fixity</h2>",
        _kv_table(facts.fixity_rows),
        "<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>count</th>"
        "<th>summary</th></tr>",
    ]
    for c in qc.get("checks") or []:
        if not isinstance(c, dict):
            continue
        st = str(c.get("status", ""))
        parts.append(
            f"<tr><td>{e(str(c.get('id', '')))}</td><td class='{e(st)}'>{e(st)}</td>"
            f"<td>{e(str(c.get('count', '')))}</td><td>{e(str(c.get('summary', '')))}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h2>Events</h2>")
    rows = _event_rows(facts)
    if rows:
        parts.append("<table class='events'><tr>")
        parts += [f"<th>{e(h)}</th>" for h in EVENT_HEADERS]
        parts.append("</tr>")
        for r in rows:
            sev = r[4]
            parts.append(
                "<tr>"
                + "".join(
                    f"<td class='{e(sev)}'>{e(c)}</td>" if i == 4 else f"<td>{e(c)}</td>"
                    for i, c in enumerate(r)
                )
                + "</tr>"
            )
        parts.append("</table>")
        more = len(qc.get("events") or []) - len(rows)
        if more > 0:
            parts.append(f"<p class='small'>… and {more} more event(s) in the QC result.</p>")
    else:
        parts.append("<p>No events.</p>")
    if facts.plots:
        parts.append("<h2>Plots</h2>")
        for caption, png in facts.plots:
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img class='plot' alt='{e(caption)}' src='{uri}'>"
                f"<figcaption class='small'>{e(caption)}</figcaption></figure>"
            )
    if facts.thumbnails:
        parts.append("<h2>Frames at video events</h2><div>")
        for caption, png in facts.thumbnails:
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure class='thumb'><img alt='{e(caption)}' src='{uri}'>"
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# PDF


def render_pdf(facts: ReportFacts, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    body = styles["BodyText"].clone("body", fontSize=9, leading=11)
    h1, h2 = styles["Title"], styles["Heading2"]
    # Letter is shorter and A4 narrower: these margins keep every page inside both.
    width = A4[0] - 36 * mm
    qc = facts.qc
    e = html.escape

    def para(text, style=body):
        return Paragraph(e(str(text)), style)

    def kv(rows):
        data = [[para(k, small), para(v, small)] for k, v in rows]
        t = Table(data, colWidths=[0.3 * width, 0.7 * width])
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#555555")),
                ]
            )
        )
        return t

    verdict = str(qc.get("verdict", "?"))
    story = [
        Paragraph(f"QC report — {e(facts.paths.stem)}", h1),
        Paragraph(
            f"Verdict: <font color='{STATUS_COLOURS.get(verdict, '#000')}'><b>"
            f"{e(verdict.upper())}</b></font> &nbsp; {e(str(qc.get('kind', '')))} · "
            f"{e(_fmt_duration(qc.get('duration_s')))} · profile {e(str(qc.get('profile', '')))}"
            f" · {len(qc.get('events') or [])} event(s)",
            body,
        ),
        Paragraph(f"File {e(str(qc.get('file', '')))} · generated {facts.generated_utc}", small),
        Paragraph("Item and carrier", h2),
        kv(facts.item_rows),
        Paragraph("Technical metadata of the master", h2),
        kv(facts.tech_rows),
        Paragraph("Fixity", h2),
        kv(facts.fixity_rows),
        Paragraph("Checks", h2),
    ]
    data = [[para(h, small) for h in ("check", "status", "count", "summary")]]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, c in enumerate([c for c in qc.get("checks") or [] if isinstance(c, dict)], start=1):
        st = str(c.get("status", ""))
        data.append(
            [
                para(c.get("id", ""), small),
                para(st, small),
                para(c.get("count", ""), small),
                para(c.get("summary", ""), small),
            ]
        )
        if st in STATUS_COLOURS:
            style.append(("BACKGROUND", (1, i), (1, i), colors.HexColor(STATUS_COLOURS[st])))
            style.append(("TEXTCOLOR", (1, i), (1, i), colors.white))
    t = Table(data, colWidths=[0.2 * width, 0.1 * width, 0.1 * width, 0.6 * width], repeatRows=1)
    t.setStyle(TableStyle(style))
    story.append(t)
    story.append(Paragraph("Events", h2))
    rows = _event_rows(facts, MAX_EVENT_ROWS_PDF)
    if rows:
        data = [[para(h, small) for h in EVENT_HEADERS]] + [
            [para(c, small) for c in r] for r in rows
        ]
        fr = [0.13, 0.08, 0.08, 0.05, 0.08, 0.08, 0.28, 0.22]
        t = Table(data, colWidths=[f * width for f in fr], repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        for i, r in enumerate(rows, start=1):
            if r[4] in STATUS_COLOURS:
                style.append(("BACKGROUND", (4, i), (4, i), colors.HexColor(STATUS_COLOURS[r[4]])))
        t.setStyle(TableStyle(style))
        story.append(t)
        more = len(qc.get("events") or []) - len(rows)
        if more > 0:
            story.append(para(f"… and {more} more event(s) in the QC result.", small))
    else:
        story.append(para("No events."))
    for i, (caption, png) in enumerate(facts.plots):
        reader = ImageReader(io.BytesIO(png))
        w, h = reader.getSize()
        img = Image(io.BytesIO(png), width=width, height=width * h / w)
        block = [img, para(caption, small), Spacer(1, 3 * mm)]
        if i == 0:
            block.insert(0, Paragraph("Plots", h2))
        story.append(KeepTogether(block))
    if facts.thumbnails:
        story.append(Paragraph("Frames at video events", h2))
        cells, row = [], []
        for caption, png in facts.thumbnails:
            reader = ImageReader(io.BytesIO(png))
            w, h = reader.getSize()
            cw = width / 3 - 4 * mm
            thumb = Table([[Image(io.BytesIO(png), width=cw, height=cw * h / w)]])
            thumb.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, colors.grey)]))
            row.append([thumb, para(caption, small)])
            if len(row) == 3:
                cells.append(row)
                row = []
        if row:
            cells.append(row + [""] * (3 - len(row)))
        t = Table(cells, colWidths=[width / 3] * 3)
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(t)

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(18 * mm, 10 * mm, f"Headblock QC report {facts.paths.stem}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=24 * mm,  # Letter is 18 mm shorter than A4
        title=f"QC report {facts.paths.stem}",
        author="Headblock",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


# ---------------------------------------------------------------------------------------------
# entry points


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _signed_report_files(paths: TakePaths) -> set[str]:
    """Names of the files the last sign-off hashed: rewriting them would void the sign-off."""
    try:
        data = json.loads(paths.signoff_json.read_text(encoding="utf-8"))
        last = data["decisions"][-1]
        return {str(v) for v in (last.get("files") or {}).values()}
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return set()


def write_report(
    take_dir: Path, pdf: bool = False, progress: ProgressFn | None = None
) -> list[Path]:
    """Write ``.qc.html`` (and ``.qc.pdf``) of a take folder (or a loose master); return paths."""
    progress = progress or no_progress
    facts = gather(Path(take_dir), progress)
    signed = _signed_report_files(facts.paths)
    wanted = [facts.paths.qc_html] + ([facts.paths.qc_pdf] if pdf else [])
    if signed and all(p.name in signed for p in wanted):
        raise HeadblockError(
            f"the report of {facts.paths.stem} is signed off; it is kept as signed "
            f"(a new take or a new decision is the way forward)"
        )
    progress(0.95, "writing")
    out = []
    if facts.paths.qc_html.name not in signed:
        _atomic_write_bytes(facts.paths.qc_html, render_html(facts).encode("utf-8"))
        out.append(facts.paths.qc_html)
    if pdf and facts.paths.qc_pdf.name not in signed:
        tmp = facts.paths.qc_pdf.with_name(facts.paths.qc_pdf.name + ".tmp")
        render_pdf(facts, tmp)
        tmp.replace(facts.paths.qc_pdf)
        out.append(facts.paths.qc_pdf)
    progress(1.0, "done")
    if facts.paths.take_number:
        from metadata.catalogue.database import sync_take

        sync_take(facts.paths.directory)
    return out


def cmd_report(args) -> int:
    prog = TerminalProgress("report")
    try:
        paths = write_report(
            Path(args.take_dir), pdf=bool(getattr(args, "pdf", False)), progress=prog
        )
    except BaseException:
        if prog.enabled:  # the error goes on a line of its own
            prog.stream.write("\n")
        raise
    prog.done()
    for p in paths:
        print(p)
    return 0
