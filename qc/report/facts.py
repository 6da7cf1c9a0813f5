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
        thumbnails(master, qc.get("events") or [], progress),
        utc_now().strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def event_rows(facts: ReportFacts, limit: int = MAX_EVENT_ROWS) -> list[list[str]]:
    """The events as table rows (``EVENT_HEADERS``), each with the reviewer's mark."""
    rows = []
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
