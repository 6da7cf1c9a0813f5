"""``derive``: a take's access copy by profile, and the records that say where it came from.

The master's MD5 is verified first (a master that no longer matches its ``.md5`` is refused:
an access copy must not spread damage as if it were the tape); then the copy is written beside
it as ``ITEM_tNN.<profile>.mp4|.mp3|.m4a`` (to a temporary name, renamed when complete), with
its ``.md5``, its own PBCore instantiation ``ITEM_tNN.<profile>.pbcore.xml`` (generation
"Access copy", ``Is Derived From`` the master), a PREMIS ``creation`` event and object in the
take's PREMIS, and a row in the catalogue's ``derivatives`` table. A record that cannot be
written (a damaged PREMIS file, a catalogue that cannot be opened) does not undo the copy: it
is a ``record_failed`` line in the take's log and in ``DeriveResult.record_failures``.

The copy is made in a process of its own at ``capture.priority.AFTER_TAKE_NICE`` (the
encoder's threads start from it and inherit that), so a take recording at the same time keeps
the cores and never waits for a low-priority thread holding the GIL. A process that may not
have children (a Dask worker is a daemon) makes it on a thread of its own at that priority:
no take records in a batch worker. PREMIS events written inside ``premis.keyed_events`` keep
their keys in either.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av

from capture.priority import AFTER_TAKE_NICE, lower_this_thread
from headblock.delivery.profiles import DeriveProfile, load_derive_profile
from headblock.delivery.transcode import Cancelled, MasterFacts, Outcome, probe_master, transcode
from metadata.errors import HeadblockError, VerificationFailed
from metadata.files import atomic_path
from metadata.formats import premis
from metadata.formats.checksums import (
    file_md5,
    md5_path_for,
    read_md5_file,
    verify_md5_file,
    write_md5_file,
)
from metadata.formats.pbcore import write_derivative_pbcore
from metadata.progress import ProgressFn
from metadata.take.log import say_record_failures
from metadata.take.naming import TakePaths, paths_for_take_dir
from metadata.take.record import DerivativeRecord, software_string

SHORT_TOLERANCE_S = 0.5  # a copy this much shorter than its master declares is refused
VERIFY_SHARE = 0.05  # of the progress bar: re-hashing the master is quick next to encoding
_CONTAINERS = {  # extension -> (MIME type, PBCore standard / PREMIS format name)
    ".mp4": ("video/mp4", "MPEG-4 Part 14"),
    ".m4a": ("audio/mp4", "MPEG-4 Part 14"),
    ".mp3": ("audio/mpeg", "MPEG-1 Audio Layer III"),
}


@dataclass
class DeriveResult:
    record: DerivativeRecord
    md5_path: Path
    pbcore_path: Path
    record_failures: list[str] = field(default_factory=list)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _verify_master(
    paths: TakePaths, master: Path, progress: ProgressFn, failures: list[tuple[str, str, str]]
) -> str:
    """The master's recorded MD5, once the file is seen to match it; VerificationFailed if not."""
    md5_path = md5_path_for(master)
    if not md5_path.exists():
        raise VerificationFailed(
            f"{master.name} has no .md5 sidecar, so it cannot be verified before derivation "
            "(a take still open or left open? run `headblock recover`)"
        )
    recorded = next((h for h, n in read_md5_file(md5_path) if n == master.name), "")
    if not recorded:
        raise VerificationFailed(f"{md5_path.name} does not list {master.name}")
    ok, message = verify_md5_file(md5_path, lambda f, m: progress(VERIFY_SHARE * f, "verifying"))
    if paths.premis.exists():
        try:
            premis.add_event(
                paths.premis,
                premis.fixity_check_event(
                    datetime.now(UTC), ok, f"before derivation: {message}", software_string()
                ),
            )
        except Exception as exc:  # the verdict stands without its record
            failures.append(("PREMIS", paths.premis.name, _first_line(exc)))
    if not ok:
        raise VerificationFailed(
            f"{master.name} fails its MD5 verification, not derived: {message}"
        )
    return recorded


def _process_words(profile: DeriveProfile, facts: MasterFacts, outcome: Outcome) -> str:
    if facts.kind == "video":
        words = (
            f"H.264 (libx264 CRF {profile.crf:g}, preset {profile.preset}) "
            f"{outcome.width}x{outcome.height} yuv420p square pixels"
        )
        words += f", deinterlaced with {outcome.deinterlace}" if outcome.deinterlace else ""
        words += ", identifier and timecode burnt in" if outcome.burn_in else ""
        if outcome.audio_channels:
            words += f"; AAC {profile.video_audio_bitrate_kbps} kbit/s {outcome.audio_rate_hz} Hz"
        words += "; MP4 with the index first (faststart)"
    else:
        codec = "MP3 (libmp3lame)" if profile.audio_codec == "mp3" else "AAC in MP4 (.m4a)"
        words = f"{codec} {profile.audio_bitrate_kbps} kbit/s {outcome.audio_rate_hz} Hz"
    return f"{words}; PyAV {av.__version__}"


_ERRORS = {"VerificationFailed": VerificationFailed, "Cancelled": Cancelled}
PROGRESS_INTERVAL_S = 0.1


def _derivation_process(
    messages, stop, paths: TakePaths, master: Path, profile, event_key: str | None = None
) -> None:
    """The child process (or thread) that makes the copy: it lowers itself first, so every
    thread the decoder, the filters and x264 start later inherits that; it reports through
    ``messages``."""
    lower_this_thread(AFTER_TAKE_NICE)
    if event_key:
        with premis.keyed_events(event_key):
            _derive_here(messages, stop, paths, master, profile)
    else:
        _derive_here(messages, stop, paths, master, profile)


def _derive_here(messages, stop, paths: TakePaths, master: Path, profile) -> None:
    last = [0.0]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            messages.put(("progress", fraction, message))

    failures: list[tuple[str, str, str]] = []
    try:
        record = _write_copy(paths, master, profile, progress, stop, failures)
    except HeadblockError as exc:
        messages.put(("error", type(exc).__name__, exc.exit_status, str(exc)))
        return
    except BaseException as exc:  # carried to the caller as one line
        messages.put(("error", "", 2, f"unexpected error: {type(exc).__name__}: {exc}"))
        return
    messages.put(("done", record, failures))


def _run_low(paths: TakePaths, master: Path, profile, progress: ProgressFn, cancel):
    """Make the copy in a process of its own at after-take priority; returns (record, record
    failures). A process, not a thread: a thread of this one at low priority would hold the
    GIL that a take's threads wait for, and they would wait at its priority."""
    key = premis.current_event_key()
    if multiprocessing.current_process().daemon:  # a Dask worker: no children allowed
        messages, stop = queue.Queue(), threading.Event()
        child = threading.Thread(
            target=_derivation_process,
            args=(messages, stop, paths, master, profile, key),
            name="headblock-derive",
            daemon=True,
        )
    else:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that may be capturing
        messages = ctx.Queue()
        stop = ctx.Event()
        child = ctx.Process(
            target=_derivation_process,
            args=(messages, stop, paths, master, profile, key),
            name="headblock-derive",
            daemon=True,
        )
    child.start()
    try:
        while True:
            if cancel.is_set():
                stop.set()
            try:
                message = messages.get(timeout=0.2)
            except queue.Empty:
                if child.is_alive():
                    continue
                try:
                    message = messages.get(timeout=1.0)
                except queue.Empty:
                    raise HeadblockError(
                        f"the derivation of {master.name} ended unexpectedly "
                        f"(exit code {getattr(child, 'exitcode', None)})"
                    ) from None
            if message[0] == "progress":
                progress(message[1], message[2])
                continue
            break
    except KeyboardInterrupt:
        stop.set()
        child.join()
        raise
    child.join()
    if message[0] == "error":
        _, name, status, text = message
        error = _ERRORS.get(name, HeadblockError)(text)
        error.exit_status = status
        raise error
    return message[1], message[2]


def _write_copy(
    paths: TakePaths,
    master: Path,
    profile: DeriveProfile,
    progress: ProgressFn,
    cancel: threading.Event,
    failures: list[tuple[str, str, str]],
) -> DerivativeRecord:
    master_md5 = _verify_master(paths, master, progress, failures)
    facts = probe_master(master)
    target = paths.file(profile.suffix(facts.kind))
    ext = target.suffix

    def encode_progress(fraction: float, message: str = "") -> None:
        progress(VERIFY_SHARE + (1 - VERIFY_SHARE) * fraction, message)

    with atomic_path(target, suffix=ext) as tmp:
        outcome = transcode(master, tmp, facts, profile, encode_progress, cancel)
        md5 = file_md5(tmp)
        with av.open(str(tmp)) as written:
            duration_s = (written.duration or 0) / 1_000_000 or outcome.duration_s
        size = tmp.stat().st_size
        if facts.duration_s and duration_s < facts.duration_s - SHORT_TOLERANCE_S:
            raise HeadblockError(
                f"the master {master.name} decodes to {duration_s:.2f} s of the "
                f"{facts.duration_s:.2f} s it declares (damaged or cut?); no copy made"
            )
    write_md5_file(target, md5)
    mime, container = _CONTAINERS[ext]
    video = facts.kind == "video"
    has_sound = bool(outcome.audio_channels)
    audio_codec = "AAC" if video or profile.audio_codec == "aac" else "MP3"
    kbps = profile.video_audio_bitrate_kbps if video else profile.audio_bitrate_kbps
    dar = Fraction(outcome.width, outcome.height) if video else None
    return DerivativeRecord(
        item=paths.item,
        take_number=paths.take_number,
        profile=profile.name,
        path=target,
        master=master,
        master_md5=master_md5,
        size_bytes=size,
        md5=md5,
        duration_s=duration_s,
        created_utc=datetime.now(UTC).replace(microsecond=0),
        mime_type=mime,
        container=container,
        process=_process_words(profile, facts, outcome),
        video_codec="H.264/AVC" if video else "",
        width=outcome.width,
        height=outcome.height,
        frame_rate=outcome.frame_rate,
        frames=outcome.frames,
        display_aspect_ratio=f"{dar.numerator}:{dar.denominator}" if dar else "",
        deinterlace=outcome.deinterlace,
        audio_codec=audio_codec if has_sound else "",
        audio_rate_hz=outcome.audio_rate_hz,
        audio_channels=outcome.audio_channels,
        audio_bitrate_bps=kbps * 1000 if has_sound else 0,
        loudness=outcome.loudness,
    )


def _records(
    paths: TakePaths,
    record: DerivativeRecord,
    pbcore_path: Path,
    failures: list[tuple[str, str, str]],
    catalogue: bool = True,
) -> list[str]:
    """PBCore, PREMIS and catalogue for a written copy; what could not be written, said."""
    try:
        write_derivative_pbcore(record, pbcore_path)
    except Exception as exc:
        failures.append(("PBCore", pbcore_path.name, _first_line(exc)))
    if paths.premis.exists():
        try:
            premis.add_derivative(paths.premis, record)
        except Exception as exc:
            failures.append(("PREMIS", paths.premis.name, _first_line(exc)))
    else:
        failures.append(("PREMIS", paths.premis.name, "the take has no PREMIS file"))
    from metadata.catalogue import database

    if catalogue and not database.sync_take(paths.directory):
        failures.append(("catalogue", paths.directory.name, "the catalogue could not be written"))
    return say_record_failures(paths.log, failures)


def derive_take(
    take_dir: str | Path,
    profile: DeriveProfile | str | Path = "access",
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    catalogue: bool = True,
) -> DeriveResult:
    """Make the access copy of one take by ``profile`` (a name, a path or a DeriveProfile).
    ``catalogue=False`` leaves the catalogue to the caller (a batch worker: its client).

    HeadblockError (exit 2): not a take folder, no master, an unknown or malformed profile,
    a master that cannot be decoded. VerificationFailed (exit 1): the master does not match
    its ``.md5``. On any error nothing of the copy is left behind.
    """
    paths = paths_for_take_dir(Path(take_dir))
    master = paths.master_if_present()
    if master is None:
        raise HeadblockError(f"{paths.directory} holds no master ({paths.stem}.wav or .mkv)")
    profile = load_derive_profile(profile)
    progress = progress or (lambda fraction, message="": None)
    cancel = cancel or threading.Event()
    record, failures = _run_low(paths, master, profile, progress, cancel)
    pbcore_path = paths.file(f".{profile.name}.pbcore.xml")
    said = _records(paths, record, pbcore_path, failures, catalogue)
    return DeriveResult(record, md5_path_for(record.path), pbcore_path, said)
