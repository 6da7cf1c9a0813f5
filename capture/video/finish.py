"""The end of a video take: the essence check (the packets stored in the closed master
against the MD5s taken as they were muxed), then the shared end of every take."""

from __future__ import annotations

from capture.finalize import finalize_take
from capture.integrity import ESSENCE_DETAIL, verify_essence  # moved to the after-take job
from capture.take import TakeResult
from capture.timecode.master import log_source_timecode
from metadata.take.record import TakeRecord


def finish_video_take(take, record: TakeRecord, reason: str) -> TakeResult:
    """The shared end of ``take`` (a ``capture.video.take.VideoTake`` whose master is closed):
    md5, PBCore, PREMIS, QC, catalogue via capture.finalize; the essence check compares the
    packets stored with those muxed (``verify_essence``)."""

    def closing(start: float):  # the packets, then the whole file: half the read-back each
        def report(fraction: float, _message: str = "") -> None:
            take.set_closing(start + 0.5 * fraction)

        return report

    if take.settings.ltc_channel is not None:  # before the MD5: the tag changes the file
        _write_timecode(take)
    else:  # the source's own timecode (RP188/VITC through FFmpeg), when it carries one
        log_source_timecode(take)

    def essence_check() -> tuple[bool, str]:
        ok, detail = verify_essence(take.master, take.writer.stats.essence_md5, closing(0.0))
        take.log.write("essence_check", "INFO" if ok else "ERROR", verified=ok, detail=detail)
        return ok, ESSENCE_DETAIL

    return finalize_take(
        record,
        take.paths,
        log=take.log,
        essence_md5=None,
        essence_check=essence_check,
        readback_progress=closing(0.5),
        reason=reason,
        run_qc=take.settings.run_qc,
        profile=take.settings.profile,
        on_event=take.on_event,
        reserve=take.reserve,
        live=take.live,
        on_verdict=take.set_verdict,
    )


def _write_timecode(take) -> None:
    """The tape's LTC on the take's audio channel ``ltc_channel``: the video track's TIMECODE
    tag and the .timecode.vtt (``capture.timecode.master``). Never fails the take."""
    from capture.timecode.master import write_mkv_timecode

    channel = take.settings.ltc_channel
    try:
        fields = write_mkv_timecode(take.master, channel)
    except Exception as exc:
        take.log.write("timecode", "WARN", channel=channel, error=f"{type(exc).__name__}: {exc}")
        return
    if not fields["found"]:
        fields["text"] = f"no LTC on audio channel {channel}: no timecode written"
    level = "INFO" if fields["found"] and not fields["breaks"] else "WARN"
    take.log.write("timecode", level, **fields)
