"""The tape's LTC, read from a closed master, written where other tools look for it.

* Broadcast WAV: bext ``TimeReference`` (samples since midnight of the first sample) and the
  iXML ``SPEED`` fields, in place (``metadata.formats.bwf.write_timecode``).
* Matroska: a ``TIMECODE`` tag on the video track (as FFmpeg writes it, the timecode of the
  first frame; ``mkvpropedit``), and ``ITEM_tNN.timecode.vtt`` beside the master: one cue per
  second of tape code, split at every break, reading the tape's timecode at the cue's start;
  where there is no code there is no cue.

Each function returns the fields of the take's ``timecode`` log event and never raises for
what it finds in the audio (no code is a result, not an error).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from capture.timecode.ltc import LtcFrame
from capture.timecode.scan import LtcSummary, scan_file
from capture.timecode.smpte import from_frames
from metadata.errors import HeadblockError
from metadata.files import write_atomic

CUE_SECONDS = 1.0


def event_fields(summary: LtcSummary) -> dict:
    """What the take's log says of the code found."""
    first, last = summary.first, summary.last
    if first is None:
        return {"channel": summary.channel, "found": False}
    return {
        "channel": summary.channel,
        "found": True,
        "fps": first.fps,
        "drop_frame": first.drop_frame,
        "first": first.timecode,
        "first_at_s": round(summary.start_s + first.position / summary.rate_hz, 4),
        "last": last.timecode,
        "frames_decoded": len(summary.frames),
        "samples_since_midnight": summary.samples_since_midnight(),
        "breaks": [b.to_dict() for b in summary.breaks[:100]],
    }


def write_wav_timecode(master: Path, channel: int, ixml_fields: dict) -> dict:
    """Read the LTC of ``channel`` and write TimeReference and iXML into the closed BWF
    ``master`` (whose iXML chunk left room: ``BWFWriter(ixml_reserve_bytes=...)``).
    ``ixml_fields`` are the take's ``build_ixml`` arguments."""
    from metadata.formats import bwf

    summary = scan_file(master, channel)
    fields = event_fields(summary)
    first = summary.first
    if first is not None:
        samples = summary.samples_since_midnight()
        timecode = bwf.IxmlTimecode(first.rate.ixml_rate, first.rate.ixml_flag, samples)
        bwf.write_timecode(master, samples, bwf.build_ixml(**ixml_fields, timecode=timecode))
    return fields


# --------------------------------------------------------------------------- Matroska


def first_frame_timecode(summary: LtcSummary) -> str | None:
    """The tape timecode of the master's first video frame (media time 0), counted back from
    the first decoded LTC frame at the code's own rate."""
    first = summary.first
    if first is None:
        return None
    at_s = summary.start_s + first.position / summary.rate_hz
    back = round(at_s * float(first.rate.rate))
    return from_frames(first.frame_number - back, first.rate)


def _vtt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def vtt_text(summary: LtcSummary) -> str:
    """WebVTT cues of the tape's timecode (see the module docstring)."""
    lines = [
        "WEBVTT",
        "",
        "NOTE tape timecode read from LTC; one cue per second, split at breaks",
        "",
    ]
    if not summary.frames:
        return "\n".join(lines)
    rate_hz, start_s = summary.rate_hz, summary.start_s
    breaks = {b.position for b in summary.breaks}
    stretches: list[list[LtcFrame]] = [[]]
    for frame in summary.frames:
        if frame.position in breaks and stretches[-1]:
            stretches.append([])
        stretches[-1].append(frame)
    cue = 0
    for stretch in stretches:
        frame_s = 1.0 / float(stretch[0].rate.rate)
        end_of_stretch = start_s + stretch[-1].position / rate_hz + frame_s
        i = 0
        while i < len(stretch):
            begin = start_s + stretch[i].position / rate_hz
            j = i
            while (
                j + 1 < len(stretch)
                and start_s + stretch[j + 1].position / rate_hz < begin + CUE_SECONDS
            ):
                j += 1
            end = (
                start_s + stretch[j + 1].position / rate_hz
                if j + 1 < len(stretch)
                else end_of_stretch
            )
            cue += 1
            lines += [
                str(cue),
                f"{_vtt_time(begin)} --> {_vtt_time(end)}",
                escape(stretch[i].timecode),
                "",
            ]
            i = j + 1
    return "\n".join(lines)


def _track_tags_xml(tags: dict[str, str]) -> str:
    simple = "".join(
        f"<Simple><Name>{escape(k)}</Name><String>{escape(v)}</String></Simple>"
        for k, v in tags.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Tags><Tag><Targets/>{simple}</Tag></Tags>\n'


def set_video_timecode_tag(master: Path, timecode: str) -> None:
    """Add ``TIMECODE`` to the video track's tags (keeping the others) with mkvpropedit."""
    import av

    tool = shutil.which("mkvpropedit")
    if tool is None:
        raise HeadblockError("mkvpropedit (mkvtoolnix) is not installed: no Matroska timecode tag")
    try:
        with av.open(str(master)) as container:
            tags = dict(container.streams.video[0].metadata)
        tags.pop("title", None)  # the track's name (TrackName), not one of its tags
    except Exception as exc:
        raise HeadblockError(f"cannot read the video track of {master.name}: {exc}") from exc
    tags["TIMECODE"] = timecode
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as xml:
        xml.write(_track_tags_xml(tags))
    try:
        run = subprocess.run(
            [tool, "--quiet", str(master), "--tags", f"track:v1:{xml.name}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        Path(xml.name).unlink(missing_ok=True)
    if run.returncode not in (0, 1):  # 1: warnings only
        raise HeadblockError(f"mkvpropedit failed: {(run.stdout + run.stderr).strip()[:200]}")


def source_vtt_text(timecode, duration_s: float) -> str:
    """WebVTT cues of the source's own timecode (``capture.timecode.source.SourceTimecode``):
    one per second of code (a whole second's frames, so that each cue begins on a frame and
    reads that frame's code) for each stretch of continuous code, split at breaks."""
    lines = [
        "WEBVTT",
        "",
        "NOTE tape timecode carried by the source; one cue per second, split at breaks",
        "",
    ]
    rate = timecode.rate
    frame_s = 1.0 / float(timecode.frame_rate)
    cue = 0
    for stretch in list(timecode.stretches):
        end = min(stretch.end_s, duration_s) if duration_s else stretch.end_s
        offset = 0
        while stretch.start_s + offset * frame_s < end - 1e-6:
            begin = stretch.start_s + offset * frame_s
            until = min(begin + rate.count * frame_s, end)
            cue += 1
            lines += [
                str(cue),
                f"{_vtt_time(begin)} --> {_vtt_time(until)}",
                escape(from_frames(stretch.frame + offset, rate)),
                "",
            ]
            offset += rate.count
    return "\n".join(lines)


def write_source_timecode(master: Path, timecode, duration_s: float) -> dict:
    """The source's own timecode (RP188/VITC through FFmpeg, a timecode track) written as for
    LTC: the video track's ``TIMECODE`` tag and the ``.timecode.vtt``. Returns the fields of
    the take's ``timecode`` log event (``found`` False when the source carried none)."""
    first = timecode.first_frame() if timecode is not None else None
    if first is None:
        return {"source": "source", "found": False}
    set_video_timecode_tag(master, first)
    vtt = vtt_path_for(master)
    write_atomic(vtt, source_vtt_text(timecode, duration_s).encode("utf-8"))
    return {
        "source": "source",
        "found": True,
        "carried_by": timecode.origin or "frames",  # stream or container metadata, frames
        "per_frame": timecode.per_frame,
        "fps": timecode.rate.label,
        "drop_frame": timecode.rate.drop_frame,
        "first_frame": first,
        "breaks": timecode.breaks()[:100],
        "vtt": vtt.name,
    }


def log_source_timecode(take) -> None:
    """After a video take's master closed (before its MD5): the source's timecode, when it
    carried one, into the master and the log. Never fails the take."""
    timecode = getattr(take, "source_timecode", None)
    if timecode is None or not timecode.found:
        return
    try:
        fields = write_source_timecode(take.master, timecode, take.writer.duration_s)
    except Exception as exc:  # noqa: BLE001 - a timecode never costs the take
        take.log.write("timecode", "WARN", source="source", error=f"{type(exc).__name__}: {exc}")
        return
    take.log.write("timecode", "WARN" if fields.get("breaks") else "INFO", **fields)


def vtt_path_for(master: Path) -> Path:
    return master.with_name(f"{master.stem}.timecode.vtt")


def write_mkv_timecode(master: Path, channel: int) -> dict:
    """Read the LTC of audio ``channel`` of a closed Matroska master; write the video track's
    ``TIMECODE`` tag and the ``.timecode.vtt`` beside it. Without code, neither is written."""
    summary = scan_file(master, channel)
    fields = event_fields(summary)
    if summary.first is None:
        return fields
    timecode = first_frame_timecode(summary)
    set_video_timecode_tag(master, timecode)
    vtt = vtt_path_for(master)
    write_atomic(vtt, vtt_text(summary).encode("utf-8"))
    fields.update(first_frame=timecode, vtt=vtt.name)
    return fields
