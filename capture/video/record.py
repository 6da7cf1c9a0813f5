"""What a video take says of itself: the settings logged at its start, the Matroska tags of
its master, and its ``TakeRecord`` (the source of PBCore and PREMIS). ``take`` is the
``capture.video.take.VideoTake`` once started."""

from __future__ import annotations

from dataclasses import asdict
from fractions import Fraction

import av

from capture.finalize import record_for
from capture.mkv_writer import slices_for
from metadata.formats.pixfmt import pixel_format
from metadata.take.log import utc_now
from metadata.take.record import AudioEssence, TakeRecord, VideoEssence

COMPLETE_REASONS = ("user", "duration", "signal", "end of input", "deck out point")


def ratio_text(size: tuple[int, int]) -> str:
    ratio = Fraction(size[0], size[1])
    return f"{ratio.numerator}:{ratio.denominator}"


def chroma_subsampling(pix_fmt: str) -> str:
    """``4:2:2`` and the like; RGB pictures are 4:4:4, grey ones have no chroma."""
    pix = pixel_format(pix_fmt)
    if pix.chroma_subsampling:
        return pix.chroma_subsampling
    return "4:4:4" if av.VideoFormat(pix_fmt).is_rgb else ""


def writer_slices(take) -> int:
    return slices_for(take.vparams.width, take.vparams.height)


def settings_for_log(take) -> dict:
    """The ``settings`` of the ``take_start`` log line (enough to rebuild the record)."""
    settings, video = take.settings, take.vparams
    return {
        "width": video.width,
        "height": video.height,
        "pix_fmt": video.pix_fmt,
        "source_pix_fmt": video.source_pix_fmt,
        "frame_rate": f"{video.rate.numerator}/{video.rate.denominator}",
        "standard": video.standard,
        "field_order": video.field_order,
        "display_aspect": ratio_text(video.display_size),
        "color_primaries": video.color_primaries,
        "color_trc": video.color_trc,
        "colorspace": video.colorspace,
        "codec": "ffv1",
        "ffv1": {"level": 3, "g": 1, "slicecrc": 1, "slices": int(writer_slices(take))},
        "audio": asdict(take.aparams) if take.aparams else None,
        "audio_source": take.audio_source,
        "audio_device": settings.audio_device or "",
        "options": dict(take.spec.options),
        "seconds": settings.seconds,
        "queue_frames": settings.queue_frames,
    }


def matroska_tags(take) -> dict[str, str]:
    meta = take.settings.meta
    return {
        "TITLE": meta.title or take.paths.stem,
        "DESCRIPTION": meta.description,
        "CATALOG_NUMBER": take.settings.item,
        "ORIGINAL_MEDIA_TYPE": meta.carrier_physical if meta.carrier else "",
        "DATE_DIGITIZED": take.started_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ENCODED_BY": meta.technician,
        "ARCHIVAL_LOCATION": meta.originator,
        "PLAYBACK_DEVICE": " ".join(x for x in (meta.deck, meta.deck_serial) if x),
        "TBC": meta.tbc,
        "CAPTURE_DEVICE": meta.ad_interface or take.spec.text,
        "ENCODER_SETTINGS": f"ffv1 level 3, g 1, slicecrc 1, slices {writer_slices(take)}, "
        f"{take.vparams.pix_fmt}",
        "COMMENT": meta.notes,
    }


def take_record(take, reason: str) -> TakeRecord:
    """The record of a closed master (its MD5 and size are filled in by the finish)."""
    video_params = take.vparams
    stats = take.writer.stats
    status = take.status()
    video = VideoEssence(
        codec="FFV1",
        codec_version="3.4",
        width=video_params.width,
        height=video_params.height,
        pix_fmt=video_params.pix_fmt,
        bit_depth=video_params.bit_depth,
        chroma_subsampling=chroma_subsampling(video_params.pix_fmt),
        frame_rate=f"{video_params.rate.numerator}/{video_params.rate.denominator}",
        frames=stats.frames,
        field_order=video_params.field_order,
        display_aspect_ratio=ratio_text(video_params.display_size),
        standard=video_params.standard,
        color_primaries=video_params.color_primaries,
        color_transfer=video_params.color_trc,
        color_matrix=video_params.colorspace,
    )
    audio = None
    if take.aparams:
        audio_params = take.aparams
        audio = AudioEssence(
            audio_params.rate_hz,
            audio_params.bits,
            audio_params.channels,
            codec=audio_params.codec,
            container="Matroska",
        )
    outcome = "complete" if reason in COMPLETE_REASONS else f"stopped: {reason}"
    return record_for(
        take.paths,
        "video",
        duration_s=take.writer.duration_s,
        started_utc=take.started_utc,
        ended_utc=utc_now(),
        device=take.spec.text,
        meta=take.settings.meta,
        audio=audio,
        video=video,
        frames_lost=status.frames_lost,
        overflows=status.overflows,
        outcome=outcome,
    )
