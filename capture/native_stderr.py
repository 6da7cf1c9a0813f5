"""What C libraries print on the process's stderr (PortAudio's "Expression ... failed", ALSA's
"ALSA lib ..."), kept off the terminal and handed to whoever listens (a take's log).

PortAudio writes its error lines with ``fprintf(stderr)`` from its own threads and offers no
exported hook to take them. While ``catch(sink)`` is held, file descriptor 2 is a pipe read
by a thread of ours, line by line, into ``sink``; Python's ``sys.stderr`` (when it was the
terminal) keeps writing to the terminal through a copy of the original descriptor, so the
command line's own lines are untouched. The pipe's write end is non-blocking: a library that
prints while nobody reads loses its line, it never waits. Holds nest; the last release puts
descriptor 2 back.
"""

from __future__ import annotations

import fcntl
import io
import os
import sys
import threading
from collections.abc import Callable

Sink = Callable[[str], None]


class _Catcher:
    def __init__(self):
        self._lock = threading.Lock()  # the listeners
        self._fd_lock = threading.Lock()  # descriptor 2 and sys.stderr
        self._holds: list[Sink] = []
        self._saved_fd: int | None = None
        self._saved_stderr = None
        self._read_fd: int | None = None
        self._thread: threading.Thread | None = None

    def hold(self, sink: Sink) -> None:
        with self._fd_lock:
            with self._lock:
                self._holds.append(sink)
                first = len(self._holds) == 1
            if first:
                self._redirect()

    def release(self, sink: Sink) -> None:
        with self._fd_lock:
            with self._lock:
                if sink not in self._holds:
                    return
                last = len(self._holds) == 1
            if last:  # the reader hands its last lines to ``sink`` before it goes
                self._restore()
            with self._lock:
                self._holds.remove(sink)

    def _redirect(self) -> None:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
        read_fd, write_fd = os.pipe()
        flags = fcntl.fcntl(write_fd, fcntl.F_GETFL)
        fcntl.fcntl(write_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._saved_fd = os.dup(2)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._read_fd = read_fd
        if _is_fd2(sys.stderr):  # Python's own lines still reach the terminal
            self._saved_stderr = sys.stderr
            sys.stderr = io.TextIOWrapper(
                io.FileIO(self._saved_fd, "w", closefd=False),
                encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                errors="backslashreplace",
                line_buffering=True,
                write_through=True,
            )
        self._thread = threading.Thread(
            target=self._read, args=(read_fd,), name="native-stderr", daemon=True
        )
        self._thread.start()

    def _restore(self) -> None:
        if self._saved_fd is None:
            return
        if self._saved_stderr is not None:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            sys.stderr = self._saved_stderr
            self._saved_stderr = None
        os.dup2(self._saved_fd, 2)  # the pipe's last write end closes: the reader ends
        os.close(self._saved_fd)
        self._saved_fd = None
        if self._thread is not None:
            self._thread.join(2.0)
        self._thread = None

    def _read(self, read_fd: int) -> None:
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(read_fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._hand(line)
            if pending:
                self._hand(pending)
        finally:
            os.close(read_fd)

    def to_terminal(self, text: str) -> None:
        """A line that is not the listener's: where it would have gone (the terminal)."""
        fd = self._saved_fd if self._saved_fd is not None else 2
        try:
            os.write(fd, text.encode("utf-8", "replace") + b"\n")
        except OSError:
            pass

    def _hand(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return
        with self._lock:
            sinks = list(self._holds)
        for sink in sinks:
            try:
                sink(text)
            except Exception:  # noqa: BLE001 - a listener's bug never reaches the library
                pass


def _is_fd2(stream) -> bool:
    try:
        return stream is not None and stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


_CATCHER = _Catcher()


def catch(sink: Sink) -> None:
    """From now on, lines C libraries print on stderr go to ``sink`` (from a thread)."""
    _CATCHER.hold(sink)


def release(sink: Sink) -> None:
    """``sink`` no longer listens; descriptor 2 is the terminal again after the last one."""
    _CATCHER.release(sink)


def to_terminal(text: str) -> None:
    """Pass on a caught line that the listener does not keep (another library's)."""
    _CATCHER.to_terminal(text)
