"""The facts of a take's QC report, gathered once for the HTML and the PDF: item and carrier
(capture log ``take_start`` or PBCore), technical metadata of the master (soundfile / PyAV),
fixity (the ``.md5`` sidecar, verified now), the QC result with the reviewer's marks, plots
and thumbnails."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from metadata.clock import utc_now
from metadata.errors import HeadblockError
from metadata.formats.checksums import file_md5, read_md5_file
from metadata.formats.framemd5 import frame_lines, read_framemd5
from metadata.progress import ProgressFn, no_progress
from metadata.review.marks import MARK_LABELS, current_marks, event_key
from metadata.take.log import read_log
from metadata.take.meta import TakeMeta
from metadata.take.naming import TakePaths, paths_for_master, paths_for_take_dir
from qc.integrity import describe, read_integrity
from qc.report.plots import plots, thumbnails
from qc.timecode import TakeTimecode, read_take_timecode, time_label

MAX_EVENT_ROWS = 5000  # HTML; beyond this the table lists the first ones and says how many more
EVENT_HEADERS = ["check", "start (s)", "end (s)", "ch", "severity", "value", "detail", "review"]


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
    timecode: TakeTimecode | None = None  # the tape's, when the master records it


def event_headers(facts: ReportFacts) -> list[str]:
    """``EVENT_HEADERS``; with the tape's timecode, the times say so."""
    if facts.timecode is None:
        return list(EVENT_HEADERS)
    return ["check", "start (s, tape TC)", "end (s, tape TC)", *EVENT_HEADERS[3:]]


def timecode_rows(timecode: TakeTimecode | None, duration_s: float | None) -> list[tuple[str, str]]:
    """The tape's timecode in the technical metadata: first and last, rate, where it is read."""
    if timecode is None:
        return []
    rate = f"{float(timecode.rate):.3f}".rstrip("0").rstrip(".")
    first = timecode.at(0.0) or (timecode.text(timecode.cues[0].frame) if timecode.cues else "?")
    text = f"{first} at 0 s, {rate} fps{' drop-frame' if timecode.drop_frame else ''}"
    if duration_s:
        last = timecode.at(max(0.0, float(duration_s) - 1.0 / float(timecode.rate)))
        if last:
            text += f", {last} at the end"
    breaks = _breaks(timecode) if timecode.cues else 0
    if breaks:
        text += f", {breaks} break(s) in the code"
    return [("Tape timecode", f"{text} (from the {timecode.source})")]


def _breaks(timecode: TakeTimecode) -> int:
    """Cues that do not follow the one before (a jump in the tape's code, or none between)."""
    count = 0
    for before, after in zip(timecode.cues, timecode.cues[1:], strict=False):
        expected = before.frame + round((after.start_s - before.start_s) * float(timecode.rate))
        if abs(after.start_s - before.end_s) > 0.02 or abs(after.frame - expected) > 1:
            count += 1
    return count


def _item_rows(paths: TakePaths) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("Item", paths.item), ("Take", f"{paths.take_number:02d}")]
    try:
        start = next((e for e in read_log(paths.log) if e.event == "take_start"), None)
    except Exception:  # no log, or a damaged one: the PBCore record says what it can
        start = None
    if start is not None:
        rows.append(("Captured (UTC)", start.time))
        fields = start.fields
        device = fields.get("device")
        if isinstance(device, dict):  # audio takes log the input as a dict
            name = device.get("device") or device.get("name") or ""
            rest = ", ".join(f"{k}={v}" for k, v in device.items() if k not in ("device", "name"))
            device = f"{name} ({rest})" if name and rest else (name or rest)
        if device:
            rows.append(("Device", str(device)))
        settings = fields.get("settings")
        if isinstance(settings, dict):
            shown = ", ".join(f"{k}={v}" for k, v in settings.items() if not isinstance(v, dict))
            if shown:
                rows.append(("Settings", shown))
        meta = fields.get("meta") if isinstance(fields.get("meta"), dict) else {}
        try:
            take_meta = TakeMeta.from_dict(meta)
            if take_meta.carrier:
                rows.append(("Carrier", take_meta.carrier_label))
            for name in TakeMeta.field_names():
                value = getattr(take_meta, name)
                if value and name != "carrier":
                    rows.append((name.replace("_", " ").capitalize(), value))
            for k, v in take_meta.extra.items():
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


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    hours, rest = divmod(float(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):d}:{int(minutes):02d}:{secs:06.3f}"


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
                ("Duration", f"{format_duration(info.duration)} ({info.frames:,} frames)"),
            ]
        except Exception as exc:
            rows.append(("Read error", str(exc)))
        return rows
    try:
        import av

        with av.open(str(master)) as container:
            fmt = container.format
            rows.append(("Container", fmt.long_name or fmt.name))
            if container.duration:
                rows.append(("Duration", format_duration(container.duration / 1_000_000)))
            for stream in container.streams:
                cc = stream.codec_context
                if stream.type == "video":
                    rate = stream.average_rate or stream.guessed_rate
                    rows.append(
                        (
                            f"Video stream {stream.index}",
                            f"{cc.name} {cc.width}×{cc.height} {cc.pix_fmt}, {rate} fps"
                            + (f", {stream.frames} frames" if stream.frames else ""),
                        )
                    )
                elif stream.type == "audio":
                    rows.append(
                        (
                            f"Audio stream {stream.index}",
                            f"{cc.name} {cc.sample_rate} Hz, {cc.channels} ch, {cc.format.name}",
                        )
                    )
    except Exception as exc:
        rows.append(("Read error", str(exc)))
    return rows


def _fixity(master: Path | None, progress: ProgressFn) -> tuple[list[tuple[str, str]], bool | None]:
    if master is None:
        return [("Master", "missing")], False
    md5_path = master.with_name(master.name + ".md5")
    if not md5_path.exists():
        return [("Checksum file", f"{md5_path.name} missing")], None
    try:
        entries = read_md5_file(md5_path)
    except HeadblockError:
        return [("Checksum file", f"{md5_path.name} unreadable")], False
    recorded = next((digest for digest, name in entries if name == master.name), entries[0][0])
    actual = file_md5(master, lambda f, m="": progress(0.1 + 0.5 * f, f"verifying {m}"))
    ok = actual == recorded
    rows = [
        ("Algorithm", "MD5 (md5sum -c format)"),
        ("Recorded", recorded),
        ("Computed now", actual),
        ("Result", "verified" if ok else "MISMATCH"),
    ]
    framemd5 = master.with_suffix(".framemd5")
    if framemd5.exists():
        frames = len(frame_lines(read_framemd5(framemd5)))
        rows.append(("framemd5", f"{framemd5.name}: {frames:,} frame checksums"))
    return rows, ok


def integrity_rows(entry: dict | None) -> list[tuple[str, str]]:
    """The after-take integrity job's state (pending / done / failed, and what failed)."""
    rows = [("After-take integrity", describe(entry))]
    if entry and entry.get("state") != "pending":
        words = {"pass": "verified", "fail": "FAILED", None: "not checked"}
        rows.append(("Essence read back", words.get(entry.get("fixity"), "not checked")))
        if entry.get("framemd5") is not None:
            rows.append(("Decoded frames vs framemd5", words.get(entry.get("framemd5"))))
        if entry.get("finished_utc"):
            rows.append(("Checked (UTC)", f"{entry['finished_utc']} by {entry.get('by', '')}"))
    return rows


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
    timecode = read_take_timecode(master)
    tech_rows += timecode_rows(timecode, qc.get("duration_s"))
    fixity_rows, fixity_ok = _fixity(master, progress)
    fixity_rows += integrity_rows(read_integrity(paths.qc_json, paths.log))
    marks = current_marks(paths.review_json) if paths.review_json.exists() else {}
    return ReportFacts(
        paths,
        qc,
        master,
        item_rows,
        tech_rows,
        fixity_rows,
        fixity_ok,
        marks,
        plots(paths, qc, progress),
        thumbnails(master, qc.get("events") or [], progress, timecode),
        utc_now().strftime("%Y-%m-%d %H:%M:%S UTC"),
        timecode,
    )


def event_rows(facts: ReportFacts, limit: int = MAX_EVENT_ROWS) -> list[list[str]]:
    """The events as table rows (``event_headers``), each with the reviewer's mark; with the
    tape's timecode, start and end read "12.345 s (TC 01:00:12;10)"."""
    rows = []
    timecode = facts.timecode

    def when(t_s) -> str:
        t_s = float(t_s or 0)
        return time_label(t_s, timecode) if timecode is not None else f"{t_s:.3f}"

    for ev in (facts.qc.get("events") or [])[:limit]:
        if not isinstance(ev, dict):
            continue
        review = facts.marks.get(event_key(ev))
        mark = ""
        if review:
            label = MARK_LABELS.get(review.get("mark"), review.get("mark"))
            mark = f"{label} ({review.get('reviewer', '')})"
            if review.get("note"):
                mark += f": {review['note']}"
        value = ev.get("value")
        rows.append(
            [
                str(ev.get("check", "")),
                when(ev.get("start_s")),
                when(ev.get("end_s")),
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
