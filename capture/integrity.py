"""The after-take integrity job: the proof that nothing stored or decoded differs from what
was captured, out of the verdict's way.

``run_integrity(take_dir, record, written)`` does, for a take whose master is closed:

1. one read of the master: its whole-file MD5 (``MASTER.md5``) and its essence against the
   MD5 taken while writing (``written``: the BWF ``data`` payload's MD5 for audio; for video
   ``{"video": md5, "audio": md5}`` of the packets as they were muxed, read back without
   decoding). ``record.md5``/``size_bytes`` are filled, PBCore is rewritten with the MD5, the
   PREMIS object gets its fixity and the events ``message digest calculation`` and ``fixity
   check``; the log gets ``fixity`` (and ``essence_check`` for video);
2. video with a ``.framemd5``: every frame decoded (nothing else computed) and compared with
   it: the ``framemd5`` check in ``qc.json`` (a failure turns the verdict to fail, with events
   at the frames that differ), a PREMIS ``fixity check`` event;
3. the state ``done`` or ``failed`` in ``qc.json``'s ``integrity`` key, the take's log, the
   catalogue (``takes.integrity``); the report rewritten when the take has one.

``spawn_integrity`` runs it in a spawned process at idle priority (``SCHED_IDLE`` on Linux,
else nice 19) and reports progress and the result back; a process that dies leaves the state
``failed`` with the reason, and ``headblock verify`` checks the take again later
(``record_verification``). ``mark_pending`` says "pending" before the job ends.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from capture.mkv_writer import essence_md5_of
from metadata.clock import utc_now
from metadata.errors import HeadblockError
from metadata.formats import premis
from metadata.formats.framemd5 import FrameComparison, compare_framemd5
from metadata.progress import ProgressFn
from metadata.take.log import TakeLog, say_record_failures
from metadata.take.naming import TakePaths, paths_for_take_dir
from metadata.take.record import TakeRecord, software_string
from qc.integrity import decode_checks, integrity_entry, record_in_qc

ESSENCE_DETAIL = (
    "the packets of every stream: MD5 taken as they were muxed, compared with the file read back"
)
AUDIO_DETAIL = "essence MD5 computed while writing compared with the file read back"
FRAMES_DETAIL = "every frame decoded again and compared with the framemd5 written at capture"
READ_SHARE = 0.3  # of the progress: the read of the file (the decode takes the rest)
PROGRESS_INTERVAL_S = 0.2


# -- the read-back (moved here from capture.finalize and capture.video.finish) -------------


def read_back_md5(master: Path, kind: str, progress=None) -> tuple[str, str | None]:
    """One read of the closed master: (whole-file MD5, essence MD5 as stored). The essence is
    the BWF ``data`` payload; for video it is None (the caller checks its packets itself)."""
    if kind == "audio":
        from metadata.formats.bwf import file_and_data_md5

        return file_and_data_md5(master, progress)
    from metadata.formats.checksums import file_md5

    return file_md5(master, progress), None


def verify_essence(master: Path, written: dict[str, str], progress=None) -> tuple[bool, str]:
    """The packets stored in the closed master against the MD5s taken as they were muxed.

    Reads the file without decoding, at the disk's speed rather than the decoder's."""
    if not written:
        return False, "no essence MD5 was taken while writing"
    try:
        stored = essence_md5_of(master, progress)
    except HeadblockError as exc:
        return False, str(exc)
    differ = [k for k in written if stored.get(k) != written[k]]
    if differ:
        return False, ", ".join(
            f"{k} packets: {written[k]} written, {stored.get(k)} read back" for k in differ
        )
    return True, ", ".join(f"{k} packets {written[k]}" for k in written) + " read back alike"


def premis_events(record: TakeRecord, *, fixity_ok: bool, detail: str = ""):
    """The PREMIS events of a take: capture, message digest calculation, fixity check."""
    detail = detail or AUDIO_DETAIL
    return [
        *premis.default_events(record),
        premis.fixity_check_event(utc_now(), fixity_ok, detail, record.software),
    ]


def _read_video(master: Path, written: dict[str, str], progress) -> tuple[str, bool, str]:
    """(file MD5, essence verified, detail): the whole-file hash and the packet read run side
    by side over the same bytes, so the disk serves them once (the second from the cache)."""
    from metadata.formats.checksums import file_md5

    done = {"file": 0.0, "packets": 0.0}
    out: dict = {}

    def report(part: str):
        def inner(fraction: float, _message: str = "") -> None:
            done[part] = fraction
            if progress:
                progress(0.5 * (done["file"] + done["packets"]), "reading the master")

        return inner

    def whole() -> None:
        try:
            out["md5"] = file_md5(master, report("file"))
        except BaseException as exc:  # carried to the caller
            out["error"] = exc

    reader = threading.Thread(target=whole, name="integrity-md5", daemon=True)
    reader.start()
    ok, detail = verify_essence(master, written, report("packets"))
    reader.join()
    if "error" in out:
        raise out["error"]
    return out["md5"], ok, detail


def decode_against_framemd5(master: Path, sidecar: Path, progress=None):
    """(``FrameComparison``, decoder errors as ``qc.video_stats.DecodeIssue``): every frame
    decoded once, hashed against the framemd5, the decoder's errors kept at their times (the
    ``decode_error`` check QC leaves to this decode after a live take)."""
    import av.logging

    from qc.video_stats import DecodeIssue, decoder_messages

    issues: list = []
    saved = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)  # FFmpeg's errors reach Python to be kept
    try:
        with av.logging.Capture(local=False) as logs:

            def drain(index: int, seconds: float) -> None:
                if not logs:
                    return
                items = list(logs)
                logs.clear()
                for message, at in decoder_messages(items):
                    issues.append(DecodeIssue(at if at is not None else seconds, message, index))

            frames = compare_framemd5(master, sidecar, progress, drain)
            drain(frames.decoded, frames.decoded * frames.frame_s)
    finally:
        av.logging.set_level(saved)
    return frames, issues


# -- the job ------------------------------------------------------------------------------


@dataclass
class IntegrityResult:
    """What the job found and recorded."""

    take_dir: Path
    state: str  # "done" | "failed"
    fixity_ok: bool | None  # None: not reached
    md5: str = ""
    fixity_detail: str = ""
    frames: FrameComparison | None = None  # None: no framemd5 (audio) or not reached
    decode_issues: list = field(default_factory=list)  # the decoder's errors in that decode
    detail: str = ""  # the state in words
    entry: dict = field(default_factory=dict)  # qc.json's integrity key
    qc_verdict: str | None = None  # the verdict after the framemd5 check, when QC had run
    record_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the job
    cpu_s: float = 0.0  # CPU time of the process that ran it (every thread)

    @property
    def ok(self) -> bool:
        return self.state == "done"


def _status(ok: bool | None) -> str | None:
    return None if ok is None else "pass" if ok else "fail"


def _log(paths: TakePaths, event: str, level: str, **fields) -> str | None:
    """One line in the take's log (appended beside a take that may still hold it open)."""
    try:
        with TakeLog(paths.log) as log:
            log.write(event, level, **fields)
    except OSError as exc:
        return f"the take's log {paths.log.name} was not written: {exc.strerror}"
    return None


def _log_or_note(failures: list, paths: TakePaths, event: str, ok: bool, **fields) -> None:
    note = _log(paths, event, "INFO" if ok else "ERROR", **fields)
    if note:
        failures.append(("log", paths.log.name, note))


def _sync_catalogue(paths: TakePaths, failures: list) -> None:
    from metadata.catalogue.database import sync_take

    if not sync_take(paths.directory):
        failures.append(("catalogue", paths.directory.name, "the catalogue could not be written"))


def _record_state(
    paths: TakePaths,
    entry: dict,
    checks=None,
    failures: list | None = None,
    report: bool = True,
    catalogue: bool = True,
) -> str | None:
    """The state in qc.json (with the framemd5 check), the log, the catalogue, the report.
    Returns the verdict after the check when the take has a QC result."""
    failures = failures if failures is not None else []
    verdict = None
    try:
        written = record_in_qc(paths.qc_json, entry, checks)
        verdict = written.verdict if written is not None else None
    except Exception as exc:  # the state still reaches the log and the catalogue
        failures.append(("QC", paths.qc_json.name, _first_line(exc)))
    level = "INFO" if entry["state"] != "failed" else "ERROR"
    note = _log(paths, "integrity", level, **entry)
    if note:
        failures.append(("log", paths.log.name, note))
    if catalogue:
        _sync_catalogue(paths, failures)
    if report and entry["state"] != "pending":
        _rewrite_report(paths, failures)
    return verdict


def _rewrite_report(paths: TakePaths, failures: list) -> None:
    """The report again when the take has one (it shows the integrity state)."""
    if not (paths.qc_html.exists() or paths.qc_pdf.exists()):
        return
    from qc.report import _signed_report_files, write_report

    pdf = paths.qc_pdf.exists()
    signed = _signed_report_files(paths)
    if paths.qc_html.name in signed and (not pdf or paths.qc_pdf.name in signed):
        return  # a signed report is kept as signed
    try:
        write_report(paths.directory, pdf=pdf)
    except Exception as exc:
        failures.append(("report", paths.qc_html.name, _first_line(exc)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _premis_fixity(paths: TakePaths, record: TakeRecord, ok: bool, detail: str, failures) -> None:
    """The object's fixity and the events ``message digest calculation`` and ``fixity check``
    (a take whose PREMIS was not written at Stop gets the whole document)."""
    now = utc_now()
    digest = dataclasses.replace(premis.digest_event(record), datetime=now)
    check = premis.fixity_check_event(now, ok, detail, record.software)
    try:
        if paths.premis.exists():
            premis.set_fixity(paths.premis, record.md5, record.size_bytes, record.software)
            premis.add_event(paths.premis, digest)
            premis.add_event(paths.premis, check)
        else:
            premis.write_premis(record, [premis.capture_event(record), digest, check], paths.premis)
    except Exception as exc:
        failures.append(("PREMIS", paths.premis.name, _first_line(exc)))


def _premis_frames(paths: TakePaths, frames: FrameComparison, failures) -> None:
    event = premis.fixity_check_event(utc_now(), frames.ok, frames.summary(), software_string())
    event.detail = FRAMES_DETAIL
    try:
        premis.add_event(paths.premis, event)
    except Exception as exc:
        failures.append(("PREMIS", paths.premis.name, _first_line(exc)))


def _fixity(
    paths: TakePaths, record: TakeRecord, written, progress: ProgressFn, failures
) -> tuple[bool, str]:
    """Step 1: one read of the master; .md5, record, PBCore, PREMIS, log."""
    master = Path(record.master)
    record.size_bytes = master.stat().st_size
    if record.kind == "video":
        record.md5, ok, detail = _read_video(master, written or {}, progress)
        _log_or_note(failures, paths, "essence_check", ok, verified=ok, detail=detail)
        premis_detail = ESSENCE_DETAIL + ": " + detail
    else:
        record.md5, on_disk = read_back_md5(master, "audio", progress)
        ok = bool(written) and on_disk == written
        detail = (
            f"audio data MD5 {on_disk} read back alike"
            if ok
            else f"audio data MD5 {on_disk} read back, {written or 'none'} written"
        )
        premis_detail = AUDIO_DETAIL + ": " + detail
    from metadata.formats.checksums import write_md5_file

    write_md5_file(master, record.md5)
    _log_or_note(failures, paths, "fixity", ok, md5=record.md5, essence_md5=written, verified=ok)
    try:
        from metadata.formats.pbcore import write_pbcore

        write_pbcore(record, paths.pbcore)
    except Exception as exc:
        failures.append(("PBCore", paths.pbcore.name, _first_line(exc)))
    _premis_fixity(paths, record, ok, premis_detail, failures)
    return ok, detail


def run_integrity(
    take_dir: str | os.PathLike,
    record: TakeRecord,
    written: dict[str, str] | str | None,
    progress: ProgressFn | None = None,
) -> IntegrityResult:
    """The job (see the module docstring), in the calling process. Never raises for a bad
    take: a master that cannot be read ends as state ``failed`` with the reason."""
    started, cpu_started = time.monotonic(), time.process_time()
    paths = paths_for_take_dir(Path(take_dir))
    progress = progress or (lambda fraction, message="": None)
    failures: list[tuple[str, str, str]] = []
    result = IntegrityResult(paths.directory, "failed", None)
    try:
        has_frames = record.kind == "video" and paths.framemd5.exists()
        read_share = READ_SHARE if has_frames else 1.0
        result.fixity_ok, result.fixity_detail = _fixity(
            paths, record, written, lambda f, m="": progress(read_share * f, m), failures
        )
        result.md5 = record.md5
        checks = []
        if has_frames:
            result.frames, result.decode_issues = decode_against_framemd5(
                Path(record.master),
                paths.framemd5,
                lambda f, m="": progress(read_share + (1 - read_share) * f, m),
            )
            checks = decode_checks(
                paths.qc_json, result.frames, result.decode_issues, result.frames.frame_s
            )
            _premis_frames(paths, result.frames, failures)
        problems = []
        if not result.fixity_ok:
            problems.append(f"fixity: {result.fixity_detail}")
        if result.frames is not None and not result.frames.ok:
            problems.append(f"framemd5: {result.frames.summary()}")
        result.state = "failed" if problems else "done"
        said = [f"MD5 {result.md5}", result.fixity_detail]
        if result.frames is not None:
            said.append(result.frames.summary())
        if result.decode_issues:  # a QC check of its own; named here too
            said.append(f"{len(result.decode_issues)} decoder errors")
            if problems:
                problems.append(said[-1])
        result.detail = "; ".join(problems) if problems else "; ".join(said)
    except (HeadblockError, OSError) as exc:
        checks = []
        result.state = "failed"
        result.detail = f"cannot check {Path(record.master).name}: {_first_line(exc)}"
    result.entry = integrity_entry(
        result.state,
        fixity=_status(result.fixity_ok),
        framemd5=_status(result.frames.ok) if result.frames is not None else None,
        detail=result.detail,
        decode_errors=len(result.decode_issues) if result.frames is not None else None,
    )
    result.qc_verdict = _record_state(paths, result.entry, checks, failures)
    result.record_failures = say_record_failures(paths.log, failures)
    result.seconds = time.monotonic() - started
    result.cpu_s = time.process_time() - cpu_started
    progress(1.0, result.state)
    return result


def mark_pending(take_dir: str | os.PathLike) -> list[str]:
    """The state "pending" in qc.json (when QC has written it), the log and the catalogue, so
    the window and the report can say it before the job ends. Returns records not written."""
    paths = paths_for_take_dir(Path(take_dir))
    failures: list[tuple[str, str, str]] = []
    _record_state(paths, integrity_entry("pending"), None, failures)
    return say_record_failures(paths.log, failures)


def record_failed(
    take_dir: str | os.PathLike, reason: str, by: str = "after-take job", report: bool = False
) -> dict:
    """State ``failed`` with ``reason`` (a job that died): qc.json, log, catalogue (and the
    report when ``report``: writing it re-reads the master, which the process that watched the
    job, perhaps a capturing one, must not do). Nothing else of the take is touched."""
    paths = paths_for_take_dir(Path(take_dir))
    entry = integrity_entry("failed", detail=reason, by=by)
    failures: list[tuple[str, str, str]] = []
    _record_state(paths, entry, None, failures, report=report)
    say_record_failures(paths.log, failures)
    return entry


def record_verification(
    take_dir: str | os.PathLike,
    *,
    ok: bool,
    fixity_ok: bool | None,
    frames: FrameComparison | None,
    detail: str,
    by: str = "headblock verify",
    catalogue: bool = True,
    report: bool = True,
) -> tuple[dict, list[str]]:
    """``headblock verify`` of a take: its outcome recorded as the job's is (state done or
    failed, the framemd5 check with its events in qc.json, log, catalogue, report). The
    verify's own PREMIS ``fixity check`` event is written by the verify. Returns the entry
    and the records not written. ``ok``: the MD5 checks and the framemd5 all passed.
    ``catalogue``/``report`` False on a batch worker: the client syncs the catalogue, and a
    report would read the master once more."""
    paths = paths_for_take_dir(Path(take_dir))
    entry = integrity_entry(
        "done" if ok else "failed",
        fixity=_status(fixity_ok),
        framemd5=_status(frames.ok) if frames is not None else None,
        detail=detail,
        by=by,
    )
    checks = decode_checks(paths.qc_json, frames, None, frames.frame_s) if frames else []
    failures: list[tuple[str, str, str]] = []
    _record_state(paths, entry, checks, failures, report=report, catalogue=catalogue)
    return entry, say_record_failures(paths.log, failures)


# -- the job in a process of its own at idle priority -------------------------------------


def lower_to_idle() -> str:
    """This process (and every thread it starts from now on) at the lowest priority: Linux's
    SCHED_IDLE runs it only on cores nothing else wants; elsewhere nice 19. Its reads are
    at the idle I/O class where there is one, so a take writing to the same disk goes first.
    The scheduling class is set last: once it shows, everything is set. Returns what was set."""
    said = []
    try:
        import psutil

        if hasattr(psutil, "IOPRIO_CLASS_IDLE"):
            psutil.Process().ionice(psutil.IOPRIO_CLASS_IDLE)
            said.append("idle I/O")
    except Exception:  # noqa: BLE001 - no I/O classes here: the CPU priority still holds
        pass
    try:
        os.nice(19 - os.nice(0))
    except OSError:
        pass
    cpu = "nice 19"
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            cpu = "SCHED_IDLE"
        except OSError:
            pass
    return ", ".join([cpu, *said])


def _job_process(messages, take_dir: str, record: TakeRecord, written) -> None:
    lower_to_idle()
    last = [0.0]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            messages.put(("progress", fraction, message))

    try:
        result = run_integrity(take_dir, record, written, progress)
    except BaseException as exc:  # carried to the parent as one line
        messages.put(("error", f"{type(exc).__name__}: {_first_line(exc)}"))
        return
    messages.put(("done", result))


class IntegrityJob:
    """The job running in its own process. ``progress`` (0..1), ``done()``, ``wait(timeout)``,
    ``result`` (an ``IntegrityResult`` once done), ``pid``. ``on_done(result)`` is called once
    from the job's watcher thread (the window turns it into a signal)."""

    def __init__(self, take_dir: Path, process, messages, on_done=None, on_progress=None):
        self.take_dir = Path(take_dir)
        self.progress = 0.0
        self.message = ""
        self.result: IntegrityResult | None = None
        self._process = process
        self._messages = messages
        self._on_done = on_done
        self._on_progress = on_progress
        self._stopped = ""  # why stop() ended it
        self._finished = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch, name=f"integrity-{self.take_dir.name}", daemon=True
        )
        self._watcher.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def done(self) -> bool:
        return self._finished.is_set()

    def stop(self, reason: str = "stopped") -> None:
        """End the job now (the station closing): its state becomes "failed" with ``reason``,
        and the take is checked again later with ``headblock verify``. A process that ends
        waits for a running job otherwise (its records are written whole)."""
        if not self._finished.is_set() and self._process.is_alive():
            self._stopped = reason
            self._process.terminate()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def _watch(self) -> None:
        result = None
        while result is None:
            try:
                message = self._messages.get(timeout=0.5)
            except queue.Empty:
                if self._process.is_alive():
                    continue
                try:
                    message = self._messages.get(timeout=1.0)
                except queue.Empty:
                    code = self._process.exitcode
                    why = self._stopped or (
                        f"killed by signal {-code}"
                        if code is not None and code < 0
                        else (f"exit code {code}")
                    )
                    result = self._died(f"the integrity job ended before its result ({why})")
                    break
            if message[0] == "progress":
                self.progress, self.message = message[1], message[2]
                if self._on_progress:
                    self._on_progress(self.progress, self.message)
            elif message[0] == "done":
                result = message[1]
            else:
                result = self._died(f"the integrity job failed: {message[1]}")
        self._process.join()
        self.result = result
        self.progress = 1.0
        self._finished.set()
        if self._on_done:
            self._on_done(result)

    def _died(self, reason: str) -> IntegrityResult:
        master = next(
            (p for p in (self.take_dir / f"{self.take_dir.name}{x}" for x in (".mkv", ".wav"))
             if p.exists()),
            None,
        )  # fmt: skip
        if master is not None and master.with_name(master.name + ".md5").exists():
            reason += f"; check the take again with `headblock verify {self.take_dir}`"
        else:  # recover writes the .md5 and the records from the take's log
            library = self.take_dir.parent.parent
            reason += (
                f"; its .md5 was not written: run `headblock recover {library}`, then "
                f"`headblock verify {self.take_dir}`"
            )
        try:
            entry = record_failed(self.take_dir, reason)
        except Exception as exc:  # not a take folder: the result still says why
            reason += f" (not recorded: {_first_line(exc)})"
            entry = {}
        return IntegrityResult(self.take_dir, "failed", None, detail=reason, entry=entry)


def spawn_integrity(
    take_dir: str | os.PathLike,
    record: TakeRecord,
    written: dict[str, str] | str | None,
    on_done=None,
    on_progress=None,
) -> IntegrityJob:
    """Say "pending" (``mark_pending``: before the process starts, so a quick job's "done" is
    never overwritten by it), then start ``run_integrity`` in a spawned process at idle
    priority; returns at once. A spawned process, not a thread: a thread of a capturing
    process would hold the GIL the take's threads wait for; not forked: a capturing process
    is never forked. Call it once the take's qc.json holds the verdict: a QC result written
    after it would drop what the job records there. HeadblockError when the process cannot
    start (the state is then "failed", with the reason)."""
    mark_pending(take_dir)
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    process = ctx.Process(
        target=_job_process,
        args=(messages, str(take_dir), record, written),
        name="headblock-integrity",
        daemon=False,  # a command that ends waits for it rather than killing it at exit
    )
    try:
        process.start()
    except OSError as exc:
        reason = f"the integrity job could not start: {exc.strerror or exc}"
        record_failed(take_dir, reason)
        raise HeadblockError(reason) from exc
    return IntegrityJob(Path(take_dir), process, messages, on_done, on_progress)
