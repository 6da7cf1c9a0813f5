"""An input read by an external FFmpeg: ``--device ffmpeg:ARGS``.

PyAV's FFmpeg has no DeckLink input (nor AJA, nor the platform devices of macOS and
Windows); a station's own FFmpeg build may. Headblock starts that binary (``ffmpeg_binary``:
``$HEADBLOCK_FFMPEG``, else the station settings' ``video.ffmpeg``, else ``ffmpeg`` on PATH)
with ARGS as its input options (split as a shell would, no shell involved), and reads the
raw picture and sound it hands through a pipe (NUT, rawvideo and PCM: nothing is converted
or compressed on the way) into the same take as every other video input.

FFmpeg's own reports come on its stderr, read on a thread of their own so that capture never
waits for them: ``-progress`` blocks give the frames its output sync dropped or duplicated,
and its warnings and errors (DeckLink's "input buffer overrun", "dropped" frames, errors) are
lines tagged with their level. ``parse_report`` turns each into a ``Report``; the take hands
them to its log and its listener (``VideoSource.report``), and the frames they lost count as
the device's drops (``reported_drops``).

An FFmpeg that never starts (no binary, bad ARGS, an input that cannot be opened) is one
HeadblockError before the take folder exists. One that ends on its own with status 0 ends
the take as an input does at its end; one that dies (a signal, a non-zero status) fails the
input with its last error line: the take keeps and finishes what was captured.
"""

from __future__ import annotations

import collections
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import av

from capture.video_input import ContainerSource, VideoDeviceSpec
from metadata.errors import HeadblockError

FFMPEG_ENV = "HEADBLOCK_FFMPEG"
OPEN_TIMEOUT_S = 15.0  # FFmpeg must hand over its stream headers within this
STOP_GRACE_S = 3.0  # after SIGTERM, before SIGKILL
PROGRESS_PERIOD_S = 0.5
EXAMPLE = (
    "ffmpeg:-re -f lavfi -i testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le "
    "-re -f lavfi -i sine=sample_rate=48000"
)

# "[decklink @ 0x5581] [warning] Decklink input buffer overrun!" (-loglevel level+warning)
_LEVEL_LINE = re.compile(
    r"^(?:\[(?P<ctx>[^\]]*@[^\]]*)\]\s*)?\[(?P<level>[a-z]+)\]\s*(?P<text>.*)$"
)
_LEVELS = {"panic": "ERROR", "fatal": "ERROR", "error": "ERROR", "warning": "WARN"}
# lines that say frames were lost: "input buffer overrun", "Frames dropped 3", "dropped 3 frames"
_OVERRUN = re.compile(r"buffer overrun|overrun", re.IGNORECASE)
_DROPPED_N = re.compile(
    r"(?:frames?\s+dropped[:\s]+(?P<a>\d+))|(?:dropp(?:ed|ing)\s+(?P<b>\d+)\s+frames?)",
    re.IGNORECASE,
)
_DROPPED = re.compile(r"\bdropp(?:ed|ing)\b.*\bframe", re.IGNORECASE)


def ffmpeg_binary() -> str:
    """The station's FFmpeg: ``$HEADBLOCK_FFMPEG``, the settings' ``video.ffmpeg``, ``ffmpeg``."""
    override = os.environ.get(FFMPEG_ENV, "").strip()
    if override:
        return override
    try:
        from metadata.settings import load_settings

        configured = load_settings().video.ffmpeg.strip()
    except Exception:  # noqa: BLE001 - unreadable settings: the default binary
        configured = ""
    return configured or "ffmpeg"


def _resolve(binary: str) -> str | None:
    if os.sep in binary:
        return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def missing_text() -> str:
    """The one line for an FFmpeg binary that is not there."""
    return (
        f"the station's FFmpeg {ffmpeg_binary()!r} is not there "
        f"(set video.ffmpeg in the settings or ${FFMPEG_ENV})"
    )


def available() -> bool:
    """True when the station's FFmpeg binary exists here."""
    return _resolve(ffmpeg_binary()) is not None


@lru_cache(maxsize=4)
def _describe(path: str) -> tuple[str, bool]:
    """(version line, has a decklink input) of an FFmpeg binary."""
    try:
        version = subprocess.run(
            [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10
        ).stdout.splitlines()
        devices = subprocess.run(
            [path, "-hide_banner", "-devices"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "", False
    first = version[0].split(" Copyright")[0] if version else ""
    return first, bool(re.search(r"^\s*D\S*\s+decklink\b", devices, re.MULTILINE))


def inputs() -> list[dict]:
    """What ``headblock devices`` lists: the test signal through the station's FFmpeg, and
    a DeckLink card when that FFmpeg was built with the SDK."""
    path = _resolve(ffmpeg_binary())
    if path is None:
        return []
    version, decklink = _describe(path)
    label = f"through {path}" + (f" ({version})" if version else "")
    out = [
        {
            "kind": "video",
            "device": EXAMPLE,
            "name": f"FFmpeg test signal {label}",
            "format": "ffmpeg",
        }
    ]
    if decklink:
        out.append(
            {
                "kind": "video",
                "device": "ffmpeg:-f decklink -raw_format yuv422p10 -i 'NAME'",
                "name": f"Blackmagic DeckLink {label}",
                "format": "ffmpeg",
            }
        )
    return out


# -- FFmpeg's reports ---------------------------------------------------------------------------


@dataclass
class Report:
    """One thing FFmpeg said during a take: ``level`` "WARN" or "ERROR", its ``text``, and
    the video frames it says were lost (dropped, duplicated over a gap, overrun)."""

    level: str
    text: str
    frames_lost: int = 0


class ReportParser:
    """FFmpeg's stderr, line by line (``-loglevel level+warning -progress pipe:2``): level-
    tagged lines and ``-progress`` blocks (``dup_frames``/``drop_frames`` totals)."""

    def __init__(self):
        self._block: dict[str, str] = {}
        self.dup_frames = 0
        self.drop_frames = 0

    def feed(self, line: str) -> Report | None:
        line = line.rstrip("\r\n")
        if not line.strip():
            return None
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z_0-9]+", key):
            self._block[key] = value.strip()
            if key == "progress":
                return self._progress()
            return None
        return parse_report(line)

    def _progress(self) -> Report | None:
        block, self._block = self._block, {}
        try:
            dup, drop = int(block.get("dup_frames", 0)), int(block.get("drop_frames", 0))
        except ValueError:
            return None
        new_dup, new_drop = dup - self.dup_frames, drop - self.drop_frames
        self.dup_frames, self.drop_frames = max(dup, self.dup_frames), max(drop, self.drop_frames)
        if new_dup <= 0 and new_drop <= 0:
            return None
        parts = []
        if new_drop > 0:
            parts.append(f"dropped {new_drop} frame{'s' if new_drop != 1 else ''}")
        if new_dup > 0:
            parts.append(f"duplicated {new_dup} frame{'s' if new_dup != 1 else ''}")
        return Report(
            "WARN",
            f"ffmpeg {' and '.join(parts)} (drop_frames={drop}, dup_frames={dup})",
            max(new_dup, 0) + max(new_drop, 0),
        )


def parse_report(line: str) -> Report | None:
    """A level-tagged FFmpeg log line as a ``Report`` (None for lines below warning)."""
    match = _LEVEL_LINE.match(line.strip())
    if not match:
        return None
    level = _LEVELS.get(match["level"])
    if level is None:
        return None
    text = match["text"].strip()
    if match["ctx"]:
        text = f"[{match['ctx'].split(' @')[0].strip()}] {text}"
    counted = _DROPPED_N.search(text)
    if counted:
        lost = int(counted["a"] or counted["b"])
    elif _OVERRUN.search(text) or _DROPPED.search(text):
        lost = 1
    else:
        lost = 0
    return Report(level, text, lost)


# -- the source ------------------------------------------------------------------------------


def _split_args(target: str) -> list[str]:
    try:
        args = shlex.split(target)
    except ValueError as exc:
        raise HeadblockError(f"cannot read the FFmpeg arguments {target!r}: {exc}") from None
    if "-i" not in args:
        raise HeadblockError(
            f"ffmpeg:ARGS needs FFmpeg input options with at least one -i, got {target!r} "
            f"(e.g. {EXAMPLE})"
        )
    return args


def _paced_test_signal(args: list[str]) -> bool:
    """lavfi inputs without ``-re``/``-readrate``: FFmpeg makes them as fast as it can, so we
    pace them in real time, as a device paces itself."""
    formats = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-f"]
    return "lavfi" in formats and "-re" not in args and "-readrate" not in args


def ffmpeg_command(binary: str, args: list[str], *, want_audio: bool, pix_fmt: str | None):
    """The command line: ARGS as input options, then raw picture and PCM in NUT on stdout,
    level-tagged warnings and ``-progress`` totals on stderr."""
    out = ["-c:v", "rawvideo"]  # no -map: FFmpeg's own choice of the best streams
    if pix_fmt:
        out += ["-pix_fmt", pix_fmt]
    out += ["-c:a", "pcm_s32le"] if want_audio else ["-an"]
    return [
        binary,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "level+warning",
        "-nostats",
        "-progress",
        "pipe:2",
        "-stats_period",
        str(PROGRESS_PERIOD_S),
        *args,
        *out,
        "-sn",
        "-dn",
        "-f",
        "nut",
        "pipe:1",
    ]


class FFmpegSource(ContainerSource):
    """``ffmpeg:ARGS``: see the module docstring."""

    def __init__(self, spec: VideoDeviceSpec, *, want_audio: bool = True):
        self.spec = spec
        if spec.options:
            raise HeadblockError(
                "--option does not apply to ffmpeg:ARGS; put FFmpeg's options in ARGS"
            )
        self.args = _split_args(spec.target)
        self.binary = ffmpeg_binary()
        path = _resolve(self.binary)
        if path is None:
            raise HeadblockError(missing_text())
        self.pace = _paced_test_signal(self.args)
        self.device_drops = 0
        self.device_errors = 0
        self.reported_drops = 0
        self.report: Callable[[Report], None] | None = None
        self._stop = threading.Event()
        self._lines: collections.deque[str] = collections.deque(maxlen=20)
        self._pending: list[Report] = []
        self._report_lock = threading.Lock()
        self.command = ffmpeg_command(path, self.args, want_audio=want_audio, pix_fmt=spec.pix_fmt)
        try:
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C reaches us; we stop FFmpeg ourselves
            )
        except OSError as exc:
            raise HeadblockError(
                f"cannot start the station's FFmpeg {path}: {exc.strerror or exc}"
            ) from exc
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, name="ffmpeg-stderr", daemon=True
        )
        self._stderr_thread.start()
        self.container = self._open_pipe()
        try:
            self._use_streams(
                want_audio,
                f"the station's FFmpeg gives no video for {self.spec.target}",
                f"the station's FFmpeg declares no frame rate for {self.spec.text}",
            )
        except BaseException:
            self._release()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- opening ---------------------------------------------------------------------------
    def _open_pipe(self):
        opened: dict = {}

        def open_it():
            try:
                opened["container"] = av.open(self.proc.stdout, format="nut", mode="r")
            except BaseException as exc:  # noqa: BLE001 - carried to the caller
                opened["error"] = exc

        opener = threading.Thread(target=open_it, name="ffmpeg-open", daemon=True)
        opener.start()
        opener.join(OPEN_TIMEOUT_S)
        if opener.is_alive():  # the input gives nothing: stop FFmpeg, its pipe then ends
            self._terminate()
            opener.join(STOP_GRACE_S + 2)
            self._terminate()
            raise HeadblockError(
                f"the station's FFmpeg gave no picture within {OPEN_TIMEOUT_S:g} s "
                f"({self._last_words() or 'it said nothing'})"
            )
        if "error" in opened:
            self._terminate()
            raise HeadblockError(
                f"the station's FFmpeg could not open its input ({self.spec.target}): "
                f"{self._last_words() or opened['error']}"
            )
        return opened["container"]

    # -- stderr ----------------------------------------------------------------------------
    def _read_stderr(self) -> None:
        parser = ReportParser()
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            if "=" not in line.split(" ", 1)[0]:
                self._lines.append(line.strip())
            report = parser.feed(line)
            if report is None:
                continue
            with self._report_lock:
                self.reported_drops += report.frames_lost
                sink = self.report
                if sink is None:
                    self._pending.append(report)
                    continue
            sink(report)

    def attach(self, sink: Callable[[Report], None]) -> None:
        """Hand FFmpeg's reports to ``sink`` (called from the stderr thread), those said
        before the take started first."""
        with self._report_lock:
            pending, self._pending = self._pending, []
            self.report = sink
        for report in pending:
            sink(report)

    def _last_words(self) -> str:
        self._stderr_thread.join(1.0)
        tagged = [parse_report(line) for line in self._lines]
        errors = [r.text for r in tagged if r is not None and r.level == "ERROR"]
        if errors:
            return errors[-1]
        plain = [line for line in self._lines if line]
        return plain[-1] if plain else ""

    # -- reading ---------------------------------------------------------------------------
    def frames(self):
        try:
            yield from self._demuxed()
        except av.error.FFmpegError as exc:
            if self._stop.is_set():
                return
            self._fail(f"its stream broke off ({exc})")
        if self._stop.is_set():
            return
        # the pipe ended: FFmpeg finished its input, or died
        try:
            status = self.proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._fail("it closed its output but did not exit")
        if status != 0 and not self._stop.is_set():
            self._fail(_exit_text(status))

    def _fail(self, why: str) -> None:
        words = self._last_words()
        raise HeadblockError(
            f"the station's FFmpeg (pid {self.proc.pid}) stopped during the take: {why}"
            + (f": {words}" if words else "")
        )

    # -- stopping --------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._terminate()

    def _terminate(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except OSError:
                pass

    def _release(self) -> None:
        self._stop.set()
        container = getattr(self, "container", None)
        if container is not None:
            container.close()
        try:  # FFmpeg blocked writing into a pipe nobody reads ends on EPIPE
            self.proc.stdout.close()
        except OSError:
            pass
        self._terminate()
        try:
            self.proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_GRACE_S)
        self._stderr_thread.join(1.0)
        try:
            self.proc.stderr.close()
        except OSError:
            pass


def _exit_text(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"
