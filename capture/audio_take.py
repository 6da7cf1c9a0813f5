"""An audio take: input -> ring -> writer thread -> Broadcast WAV, then the shared finish.

The writer thread drains the ring into ``metadata.formats.bwf.BWFWriter``, brings the header up to
date every ``header_interval_s`` (a crash leaves a readable file), logs every loss the input
reports, runs the disk watchdog, and stops on ``--seconds`` (media time: frames written), on
``stop()`` (SIGINT/SIGTERM from the command line), on a nearly full disk or on a write
error. Everything already written is kept and finished by ``capture.finalize``.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from capture.audio_input import AudioInput
from capture.backends import open_audio_input
from capture.disk_room import DiskReserve, is_disk_full
from capture.finalize import finalize_take, record_for
from capture.take import EventFn, TakeResult, TakeStatus, log_event, notify
from capture.timecode.live import LiveTimecode
from capture.watchdog import DEFAULT_RESERVE_BYTES, DiskWatchdog, log_disk_check, log_disk_event
from metadata.clock import utc_stamp
from metadata.errors import HeadblockError, TakeCutShort
from metadata.take.log import TakeLog, utc_now
from metadata.take.meta import TakeMeta, coding_history_lines
from metadata.take.naming import TakePaths, new_take_dir, validate_item_id
from metadata.take.record import AudioEssence, software_string
from qc.live import LiveAudio, LiveTake
from qc.profiles import load_profile

RESERVE_FILE_BYTES = 1 << 20
# An input that delivers nothing this long is lost (a sound server gone, a cable pulled);
# PortAudio's callbacks come every few tens of milliseconds. A writer that was itself
# suspended this long (SIGSTOP, a stalled machine) restarts the count: the input was not
# silent, we were away.
NO_AUDIO_TIMEOUT_S = 1.5
WRITER_AWAY_S = 0.5
IXML_TIMECODE_RESERVE = 768  # bytes of iXML room for the timecode read after the take


@dataclass
class AudioTakeSettings:
    device: str | int
    item: str
    library: Path
    rate_hz: int = 96000
    bits: int = 24
    channels: int | None = None  # None: the source's (stereo for a multi-input interface)
    seconds: float | None = None  # media time; None: until stopped
    meta: TakeMeta = field(default_factory=TakeMeta)
    qc: bool = True
    profile: str = "default"
    ltc_channel: int | None = None  # channel (from 1) with the tape's LTC: written as timecode
    header_interval_s: float = 1.0
    rf64_threshold_bytes: int | None = None  # for tests; None: the BWF writer's 4 GiB limit
    disk_reserve_bytes: int = DEFAULT_RESERVE_BYTES
    disk_warn_s: tuple[float, ...] = (600.0, 120.0)
    disk_stop_margin_s: float = 2.0  # stop while this much audio would still fit
    free_space: Callable[[Path], int] | None = None  # injectable for tests
    on_event: EventFn | None = None  # called from engine threads

    def to_log(self) -> dict:
        return {
            "rate_hz": self.rate_hz,
            "bits": self.bits,
            "channels": self.channels,
            "seconds": self.seconds,
            "qc": self.qc,
            "profile": self.profile,
            "ltc_channel": self.ltc_channel,
            "header_interval_s": self.header_interval_s,
            "disk_reserve_bytes": self.disk_reserve_bytes,
        }


class AudioTake:
    """One take (``capture.take.Take``); see the module docstring. ``input`` may be an armed
    ``AudioInput`` (the window's monitoring input): the take then leaves it running when it
    ends. ``error`` is a message."""

    kind = "audio"

    def __init__(self, settings: AudioTakeSettings, input: AudioInput | None = None):
        self.settings = settings
        self.input = input
        self.live_timecode = LiveTimecode(self)  # status().timecode from the LTC channel
        self._own_input = input is None
        self.paths: TakePaths | None = None
        self.result: TakeResult | None = None
        self.error: str | None = None
        self._state = "idle"
        self._closing: float | None = None
        self._verdict: str | None = None
        self._stop = threading.Event()
        self._stop_reason = "user"
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer = None
        self._saved_on_message = None
        self._reserve: DiskReserve | None = None
        self.cut_short: TakeCutShort | None = None  # the disk had no room for the sidecars
        self._log: TakeLog | None = None
        self._frames_written = 0
        self._disk_free: int | None = None
        self._disk_left: float | None = None
        self._started_utc = None
        self._ixml_fields: dict = {}
        self.live: LiveTake | None = None  # QC measured while recording (qc.live)

    # -- control ------------------------------------------------------------------------------
    def start(self) -> TakePaths:
        """Open the input (unless given), create the take folder and the master, start writing.

        Bad input (identifier, device, rate, library) raises HeadblockError before any file
        of the take exists, except an unwritable library found while creating the folder."""
        settings = self.settings
        validate_item_id(settings.item)
        if settings.seconds is not None and not settings.seconds > 0:
            raise HeadblockError(f"--seconds must be positive, got {settings.seconds:g}")
        if settings.bits not in (16, 24, 32):
            raise HeadblockError(f"unsupported bit depth {settings.bits} (16, 24 or 32)")
        if self.input is None:
            self.input = open_audio_input(
                settings.device, settings.rate_hz, settings.channels, settings.bits
            )
        audio_input = self.input
        profile = None
        try:
            profile = load_profile(settings.profile) if settings.qc else None
        except HeadblockError:
            if self._own_input:
                audio_input.stop()
            raise
        if audio_input.rate_hz != settings.rate_hz or audio_input.bits != settings.bits:
            raise HeadblockError(
                f"the armed input runs at {audio_input.rate_hz} Hz/{audio_input.bits}-bit, "
                f"the take asks {settings.rate_hz} Hz/{settings.bits}-bit"
            )
        if (
            settings.ltc_channel is not None
            and not 1 <= settings.ltc_channel <= audio_input.channels
        ):
            if self._own_input:
                audio_input.stop()
            raise HeadblockError(
                f"--ltc-channel {settings.ltc_channel}: the input has "
                f"{audio_input.channels} channel(s)"
            )
        try:
            if not audio_input.running:
                audio_input.start()
            if not audio_input.wait_first_block(10.0):
                raise HeadblockError(f"no audio from {audio_input.device_name} within 10 s")
            self.paths = new_take_dir(Path(settings.library), settings.item)
            self._open_master()
            if profile is not None:
                self.live = LiveTake(
                    audio=LiveAudio(
                        audio_input.rate_hz,
                        audio_input.channels,
                        audio_input.bits,
                        profile,
                        on_event=self._live_event,
                    )
                )
        except BaseException:
            if self._own_input:
                audio_input.stop()
            raise
        audio_input.begin_take()
        self._saved_on_message = audio_input.on_message
        audio_input.on_message = self._device_line
        early = getattr(audio_input, "early_messages", ())
        while early:
            self._device_line(early.popleft())
        self._state = "recording"
        self._thread = threading.Thread(target=self._run, name="audio-take-writer", daemon=True)
        self._thread.start()
        return self.paths

    def stop(self, reason: str = "user") -> None:
        """Ask the take to stop; it drains the ring, closes the master and finishes."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the take is finished (master closed, sidecars and QC done)."""
        return self._done.wait(timeout)

    def status(self) -> TakeStatus:
        audio_input = self.input
        input_stats = audio_input.stats() if audio_input is not None else None
        rate = self.settings.rate_hz
        return TakeStatus(
            elapsed_s=self._frames_written / rate,
            frames_written=self._frames_written,
            frames_lost=input_stats.frames_lost if input_stats else 0,
            overflows=input_stats.overflows if input_stats else 0,
            last_loss_at_s=input_stats.last_loss_at_s if input_stats else None,
            disk_free_bytes=self._disk_free,
            disk_time_left_s=self._disk_left,
            queue_fill=audio_input.ring.fill if audio_input is not None else 0.0,
            state=self._state,
            closing=self._closing,
            verdict=self._verdict,
            timecode=self.live_timecode.now(),
        )

    def latest_audio(self, n_frames: int) -> np.ndarray | None:
        """The newest ``n_frames`` of the input, float32 (n, channels), for meters."""
        return None if self.input is None else self.input.latest(n_frames)

    # -- internals ----------------------------------------------------------------------------
    def _device_line(self, text: str) -> None:
        """A line the input's own library printed (PortAudio's errors), from its thread."""
        self._event("device_message", "WARN", text=text, source=self.input.backend)

    def _live_event(self, name: str, fields: dict) -> None:
        notify(self.settings.on_event, name, fields)

    def _set_verdict(self, verdict: str | None) -> None:
        self._verdict = verdict

    def _closing_progress(self, fraction: float, _message: str = "") -> None:
        self._closing = fraction

    def _event(self, name: str, level: str = "INFO", **fields) -> None:
        log_event(self._log, self.settings.on_event, name, level, **fields)

    def _open_master(self) -> None:
        from metadata.formats import bwf

        settings, paths, audio_input = self.settings, self.paths, self.input
        meta = settings.meta
        self._started_utc = utc_now()
        software = software_string()
        history = coding_history_lines(
            meta,
            rate_hz=audio_input.rate_hz,
            bits=audio_input.bits,
            channels=audio_input.channels,
            software=software,
        )
        bext = bwf.BextInfo.for_take(
            started=self._started_utc,
            rate_hz=audio_input.rate_hz,
            description=meta.description or meta.title or f"{paths.stem} transfer",
            originator=meta.originator or "Headblock",
            originator_reference=meta.originator_reference or paths.stem,
            coding_history=history,
        )
        info = bwf.info_from_meta(
            meta, title=paths.stem, created=self._started_utc, software=software
        )
        self._ixml_fields = {
            "project": settings.item,
            "scene": meta.carrier_label,
            "take": str(paths.take_number),
            "note": meta.notes,
            "file_uid": paths.stem,
            "rate_hz": audio_input.rate_hz,
            "bits": audio_input.bits,
        }
        ixml = bwf.build_ixml(**self._ixml_fields)
        # room to finish the take should the disk fill up anyway (capture.disk_room)
        self._reserve = DiskReserve(paths.directory, RESERVE_FILE_BYTES)
        self._log = TakeLog(paths.log, on_full=self._reserve.release)
        kwargs = {}
        if settings.rf64_threshold_bytes is not None:
            kwargs["rf64_threshold_bytes"] = settings.rf64_threshold_bytes
        if settings.ltc_channel is not None:  # the timecode's iXML fields, once read
            kwargs["ixml_reserve_bytes"] = IXML_TIMECODE_RESERVE
        master = paths.master("audio")
        self._writer = bwf.BWFWriter(
            master,
            audio_input.rate_hz,
            audio_input.channels,
            audio_input.bits,
            bext,
            info=info,
            ixml=ixml,
            **kwargs,
        )
        self._event(
            "take_start",
            kind="audio",
            device=audio_input.describe(),
            settings={**settings.to_log(), "channels": audio_input.channels},
            meta=meta.to_dict(),
            master=master.name,
            started_utc=utc_stamp(self._started_utc),
            software=software,
            coding_history=history,
        )

    def _run(self) -> None:
        reason, outcome = "error", "stopped: error"
        try:
            reason, outcome = self._record()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            reason, outcome = f"error: {self.error}", "stopped: error"
            self._event("error", "ERROR", error=self.error)
        finally:
            self._state = "finishing"
            try:
                self._finish(reason, outcome)
            except TakeCutShort as exc:  # the master is whole; its sidecars found no room
                self.error = self.error or str(exc)
                self.cut_short = exc
                self._state = "failed"
            except Exception as exc:
                self.error = self.error or f"{type(exc).__name__}: {exc}"
                self._event("error", "ERROR", error=f"finishing the take: {exc}")
                self._state = "failed"
            finally:
                if self.live is not None:
                    self.live.close()
                if self._reserve is not None:
                    self._reserve.discard()
                if self._log is not None:
                    try:
                        self._log.close()
                    except OSError:
                        pass  # its last lines found no room: the master matters more
                self._done.set()

    def _log_losses(self, settle: bool = False) -> None:
        losses = self.input.settle() if settle else self.input.poll_losses()
        for loss in losses:
            name = "overflow" if loss.source in ("portaudio", "clock", "ring") else "gap"
            self._event(
                name,
                "WARN",
                at_s=loss.at_s,
                frames_lost=loss.frames_lost,
                source=loss.source,
                detail=loss.detail,
            )

    def _record(self) -> tuple[str, str]:
        settings, audio_input, writer = self.settings, self.input, self._writer
        live = self.live.audio if self.live is not None else None
        ring = audio_input.ring
        rate = audio_input.rate_hz
        target = int(round(settings.seconds * rate)) if settings.seconds else None
        watchdog = DiskWatchdog(
            self.paths.directory,
            bytes_per_s=rate * audio_input.channels * audio_input.bits / 8,
            reserve_bytes=settings.disk_reserve_bytes,
            warn_s=settings.disk_warn_s,
            stop_margin_s=settings.disk_stop_margin_s,
            **({"free_space": settings.free_space} if settings.free_space else {}),
        )
        # whole blocks of one size: the same allocations every time keep the memory flat
        block = max(rate // 20, 1024)
        next_header = time.monotonic() + settings.header_interval_s
        next_poll = time.monotonic() + 0.2
        last_frames_at = time.monotonic()
        last_received = audio_input.stats().frames_received
        self._check_disk(watchdog)
        fill_logged = 0.0  # the highest ring fill level already logged
        last_turn = time.monotonic()
        while True:
            turn = time.monotonic()
            if turn - last_turn > WRITER_AWAY_S:
                last_frames_at = turn  # we were away, not the input
            last_turn = turn
            stopping = self._stop.is_set()
            ready = ring.available
            fill = ring.fill
            level = max((x for x in (0.25, 0.5, 0.75) if fill >= x), default=0.0)
            if level > fill_logged:  # the writer is falling behind: say so before it costs audio
                self._event(
                    "queue_depth",
                    "WARN",
                    fill=round(fill, 3),
                    frames=ready,
                    at_s=round(self._frames_written / rate, 4),
                )
                fill_logged = level
            elif fill < 0.1:
                fill_logged = 0.0
            final = stopping
            if target is not None:
                ready = min(ready, target - self._frames_written)
                final = final or ready == target - self._frames_written
            wrote = 0
            try:
                while ready >= block or (final and ready > 0):  # views straight from the ring
                    head, wrapped = ring.peek_views(min(ready, block))
                    for part in (head, wrapped):
                        if len(part):
                            writer.write(part)
                            if live is not None:
                                live.feed(part)
                    taken = len(head) + len(wrapped)
                    ring.advance(taken)
                    self._frames_written += taken
                    wrote += taken
                    ready -= taken
                now = time.monotonic()
                if now >= next_header:
                    writer.flush_header()
                    next_header = now + settings.header_interval_s
                    if self._check_disk(watchdog) == "stop":
                        return "disk full", "stopped: disk nearly full"
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    log_disk_event(
                        self._event,
                        "stop",
                        message="the disk is full (ENOSPC)",
                        at_s=self._frames_written / rate,
                    )
                    return "disk full", "stopped: disk full"
                raise
            if target is not None and self._frames_written >= target:
                self._log_losses(settle=True)
                return "duration", "complete"
            now = time.monotonic()
            if now >= next_poll:
                self._log_losses()
                next_poll = now + 0.2
                received = audio_input.stats().frames_received
                if received != last_received:
                    last_received, last_frames_at = received, now
                elif not audio_input.alive or now - last_frames_at > NO_AUDIO_TIMEOUT_S:
                    why = (
                        "the input's stream ended"
                        if not audio_input.alive
                        else f"no audio for {now - last_frames_at:.1f} s"
                    )
                    self._event("error", "ERROR", error=f"input lost: {why}")
                    return "input lost", "stopped: input lost"
            if stopping:
                self._log_losses(settle=True)
                return self._stop_reason, "complete"
            if wrote == 0:
                self._stop.wait(0.02)

    def _check_disk(self, watchdog: DiskWatchdog) -> str:
        check = watchdog.check()
        self._disk_free, self._disk_left = check.free_bytes, check.time_left_s
        log_disk_check(self._event, check, at_s=self._frames_written / self.input.rate_hz)
        return check.action

    def _close_master(self) -> str | None:
        """Close the BWF; on a full disk, free the reserve and repair what reached the disk.
        Returns the essence MD5 to check against the file."""
        from metadata.formats import bwf

        writer = self._writer
        master = self.paths.master("audio")
        try:
            return writer.close().md5
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # the disk is full: what is on disk is repaired in place, in the reserve's room
            # (kept until now: given back earlier, another program still writing takes it)
            self._reserve.release()
            self._event("error", "WARN", error=f"closing the master: {exc.strerror or exc}")
            writer.abort()
            try:
                repaired = self._reserve.retry_on_full(bwf.repair, master)
            except OSError as repair_exc:
                if not is_disk_full(repair_exc):
                    raise
                raise TakeCutShort(
                    f"the disk holding {self.paths.directory} is full: {master.name} could "
                    f"not be closed; free space on that disk, then run headblock recover "
                    f"{self.paths.directory.parent.parent} (every sample on disk is kept)"
                ) from repair_exc
            self._frames_written = repaired.frames_kept
            self._event(
                "recovery",
                "WARN",
                action="repaired after a write error",
                frames_kept=repaired.frames_kept,
                notes=repaired.notes,
            )
            return repaired.data_md5 or bwf.data_md5(master)

    def _write_timecode(self) -> None:
        """The tape's LTC on ``ltc_channel`` written into the closed master (bext TimeReference,
        iXML); without code the take keeps the station's clock. Never fails the take."""
        from capture.timecode.master import write_wav_timecode

        channel = self.settings.ltc_channel
        try:
            fields = write_wav_timecode(self.paths.master("audio"), channel, self._ixml_fields)
        except Exception as exc:
            self._event("timecode", "WARN", channel=channel, error=f"{type(exc).__name__}: {exc}")
            return
        if not fields["found"]:
            fields["text"] = f"no LTC on channel {channel}: TimeReference keeps the station's clock"
        self._event(
            "timecode", "INFO" if fields["found"] and not fields["breaks"] else "WARN", **fields
        )

    def _finish(self, reason: str, outcome: str) -> None:
        audio_input = self.input
        essence_md5 = self._close_master()
        if self.settings.ltc_channel is not None:
            self._write_timecode()
        audio_input.end_take()
        audio_input.on_message = self._saved_on_message
        stats = audio_input.stats()
        if self._own_input:
            audio_input.stop()
        settings = self.settings
        record = record_for(
            self.paths,
            "audio",
            duration_s=self._frames_written / audio_input.rate_hz,
            started_utc=self._started_utc,
            ended_utc=utc_now(),
            device=audio_input.device_name,
            meta=settings.meta,
            audio=AudioEssence(
                rate_hz=audio_input.rate_hz,
                bits=audio_input.bits,
                channels=audio_input.channels,
                container="RF64" if self._writer.rf64 else "BWF",
            ),
            frames_lost=stats.frames_lost,
            overflows=stats.overflows,
            outcome=outcome,
        )
        self.result = finalize_take(
            record,
            self.paths,
            log=self._log,
            essence_md5=essence_md5,
            reason=reason,
            run_qc=settings.qc,
            profile=settings.profile,
            on_event=settings.on_event,
            readback_progress=self._closing_progress,
            reserve=self._reserve,
            live=self.live,
            on_verdict=self._set_verdict,
        )
        self._reserve.discard()
        self._state = "done" if self.result.fixity_ok else "failed"


# --------------------------------------------------------------------------- command line
