"""Repair of a Matroska video master cut off by a crash (SIGKILL, power cut).

The master is written with packets flushed as they are muxed, so what reached the disk is a
run of complete clusters and at most one torn frame, but no cues, no segment size and no
display size. ``repair_mkv`` remuxes it (stream copy, nothing re-encoded) into a valid file:
every video frame that decodes without error (FFV1 slice CRCs catch a torn one) and every
whole PCM sample, then rewrites the framemd5 from the frames kept.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import av

from capture.mkv_writer import pending_track_name, set_display_size, track_name
from capture.video_input import standard_for
from metadata.errors import HeadblockError
from metadata.formats.framemd5 import FrameMD5Writer
from metadata.take.log import read_log
from metadata.take.naming import paths_for_master


def _take_settings(master: Path) -> dict:
    """The ``take_start`` settings of the take's log, if there is one."""
    try:
        log = paths_for_master(master).log
    except HeadblockError:
        return {}
    for event in read_log(log):
        if event.event == "take_start":
            return event.fields.get("settings") or {}
    return {}


def _display_size(
    width: int, height: int, rate: Fraction | None, settings: dict
) -> tuple[int, int]:
    dar_text = settings.get("display_aspect") or ""
    dar = None
    if dar_text and ":" in dar_text:
        num, den = dar_text.split(":", 1)
        dar = Fraction(int(num), int(den))
    elif not settings:
        std = standard_for(width, height, rate)
        dar = std.display_aspect if std else None
    if not dar:
        return width, height
    return round(height * dar), height


def repair_mkv(path) -> dict:
    """Remux a torn Matroska take in place; returns what was kept (see the module docstring).

    Raises HeadblockError when the file holds no readable video at all."""
    master = Path(path)
    if not master.exists():
        raise HeadblockError(f"{master} does not exist")
    settings = _take_settings(master)
    tmp = master.with_name(f".{master.name}.recovering")
    size_before = master.stat().st_size
    try:
        damaged = av.open(str(master))
    except (av.error.FFmpegError, OSError) as exc:
        raise HeadblockError(f"cannot read {master.name}: {exc}") from exc
    kept_v = torn_v = kept_a_samples = torn_a = 0
    last_index = -1
    try:
        if not damaged.streams.video:
            raise HeadblockError(f"{master.name} has no video stream to recover")
        video_in = damaged.streams.video[0]
        audio_in = damaged.streams.audio[0] if damaged.streams.audio else None
        rate = (
            Fraction(video_in.average_rate or video_in.guessed_rate or video_in.base_rate or 0)
            or None
        )
        if rate is None and settings.get("frame_rate"):
            rate = Fraction(settings["frame_rate"])
        if rate is None:
            raise HeadblockError(f"{master.name}: the frame rate cannot be found")
        time_base = 1 / rate
        out = av.open(str(tmp), "w", format="matroska")
        for key, value in damaged.metadata.items():
            out.metadata[key] = value
        video_out = out.add_stream_from_template(video_in)
        video_out.metadata["title"] = pending_track_name(master)  # room for the display size
        audio_out = out.add_stream_from_template(audio_in) if audio_in is not None else None
        width, height = video_in.codec_context.width, video_in.codec_context.height
        display = _display_size(width, height, rate, settings)
        fmd5 = None
        decoder = video_in.codec_context
        block_align = 0
        if audio_in is not None:
            audio_codec = audio_in.codec_context
            width_bytes = {"pcm_s24le": 3, "pcm_s16le": 2, "pcm_s32le": 4}.get(audio_codec.name)
            if width_bytes:
                block_align = audio_codec.layout.nb_channels * width_bytes
        streams = [video_in] + ([audio_in] if audio_in is not None else [])
        try:
            for packet in damaged.demux(streams):
                if packet.dts is None and packet.size == 0:
                    continue
                if packet.stream is video_in:
                    try:
                        frames = decoder.decode(packet)
                    except av.error.FFmpegError:
                        torn_v += 1
                        continue
                    if packet.is_corrupt or not frames:
                        torn_v += 1
                        continue
                    frame = frames[0]
                    if frame.pts is None:
                        torn_v += 1
                        continue
                    index = round(Fraction(frame.pts) * frame.time_base / time_base)
                    if fmd5 is None:
                        fmd5 = FrameMD5Writer(
                            master.with_name(master.stem + ".framemd5"),
                            width=frame.width,
                            height=frame.height,
                            pix_fmt=frame.format.name,
                            time_base=time_base,
                            sar=Fraction(display[0] * height, display[1] * width),
                        )
                    fmd5.write(frame, pts=index)
                    packet.stream = video_out
                    out.mux(packet)
                    kept_v += 1
                    last_index = max(last_index, index)
                else:
                    if block_align and packet.size % block_align:
                        torn_a += 1
                        continue
                    kept_a_samples += packet.size // block_align if block_align else 0
                    packet.stream = audio_out
                    out.mux(packet)
        except av.error.FFmpegError:
            pass  # the torn end of the file: everything before it is kept
        finally:
            out.close()
            if fmd5 is not None:
                fmd5.close()
    except BaseException:
        damaged.close()
        tmp.unlink(missing_ok=True)
        raise
    damaged.close()
    if kept_v == 0:
        tmp.unlink(missing_ok=True)
        raise HeadblockError(f"{master.name} holds no complete video frame; nothing to recover")
    dar_status = set_display_size(tmp, *display, track_name=track_name(master))
    os.replace(tmp, master)
    audio = None
    if audio_in is not None:
        audio_codec = audio_in.codec_context
        audio = {
            "rate_hz": audio_codec.sample_rate,
            "channels": audio_codec.layout.nb_channels,
            "codec": audio_codec.name,
        }
    return {
        "master": str(master),
        "framemd5": str(master.with_name(master.stem + ".framemd5")),
        "frames": kept_v,
        "frames_torn": torn_v,
        "audio_samples": kept_a_samples,
        "audio_packets_torn": torn_a,
        "duration_s": round((last_index + 1) * float(time_base), 6),
        "width": width,
        "height": height,
        "pix_fmt": video_in.codec_context.pix_fmt,
        "frame_rate": f"{rate.numerator}/{rate.denominator}",
        "display_size": list(display),
        "display_aspect_set": dar_status,
        "audio": audio,
        "bytes_before": size_before,
        "bytes_after": master.stat().st_size,
        "settings": json.loads(json.dumps(settings)),
    }
