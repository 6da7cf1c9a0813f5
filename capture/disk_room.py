"""Room kept on a take's disk to finish the take should another program fill the disk.

The disk watchdog stops a take in time when the take itself fills the disk; another program
can take the last free bytes faster than it looks. ``DiskReserve`` is a file of that room,
made when the take starts; ``RoomyFile`` is a raw file whose write, on ENOSPC, deletes the
reserve once and carries on: the write that met the full disk completes, the take learns the
disk is full (``DiskReserve.released``) and stops, and the room is there for closing the
master (Matroska's last cluster, cues and trailer), its framemd5, the log and the sidecars.
Writers that cannot take a file object call ``DiskReserve.release`` on their own ENOSPC.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from pathlib import Path

RESERVE_FILE = ".headblock-reserve"  # in the take folder; ``headblock recover`` removes it


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class DiskReserve:
    """``size_bytes`` kept in ``directory/RESERVE_FILE`` (less when the disk has less)."""

    def __init__(self, directory: Path, size_bytes: int):
        self.path = Path(directory) / RESERVE_FILE
        self.size_bytes = 0
        self.released = threading.Event()  # set once a full disk made us use the room
        self._lock = threading.Lock()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return
        try:
            try:
                os.posix_fallocate(fd, 0, size_bytes)  # real blocks, tmpfs included
            except OSError:
                _write_zeros(fd, size_bytes)
            self.size_bytes = size_bytes
        except OSError:
            self.size_bytes = os.fstat(fd).st_size
        finally:
            os.close(fd)

    def release(self) -> bool:
        """The disk is full: give the room back. True when this call freed some (a writer
        then tries again); False when it was already given back."""
        with self._lock:
            if self.released.is_set():
                return False
            self.released.set()
            return self._unlink()

    def discard(self) -> None:
        """The take is over: the room is not needed any more (not a full disk)."""
        with self._lock:
            self._unlink()
            self.size_bytes = 0

    def _unlink(self) -> bool:
        try:
            self.path.unlink()
        except OSError:
            return False
        freed = self.size_bytes > 0
        self.size_bytes = 0
        _sync_directory(self.path.parent)
        return freed

    def retry_on_full(self, write, *args, **kwargs):
        """``write(*args, **kwargs)``; on a full disk the room is given back (once) and it is
        tried again. The second full disk is the caller's."""
        try:
            return write(*args, **kwargs)
        except OSError as exc:
            if not is_disk_full(exc) or not self.release():
                raise
        return write(*args, **kwargs)


def _sync_directory(directory: Path) -> None:
    """Commit the unlink: a journaling filesystem may hold freed blocks until it commits."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_zeros(fd: int, size_bytes: int) -> None:
    block = b"\0" * (1 << 20)
    left = size_bytes
    while left > 0:
        left -= os.write(fd, block[: min(left, len(block))])


class RoomyFile(io.RawIOBase):
    """A file opened for writing (and seeking: a Matroska muxer goes back to its header)
    whose ``write`` meets a full disk by releasing ``reserve`` once and trying again."""

    def __init__(self, path: Path, reserve: DiskReserve | None):
        super().__init__()
        self.name = str(path)
        self.reserve = reserve
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            try:
                done += os.write(self._fd, view[done:])
            except OSError as exc:
                if is_disk_full(exc) and self.reserve is not None and self.reserve.release():
                    continue
                raise
        return done

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def fileno(self) -> int:
        return self._fd

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()


def roomy_text(path: Path, reserve: DiskReserve | None, encoding: str = "ascii"):
    """A text file over ``RoomyFile`` (the framemd5)."""
    return io.TextIOWrapper(
        io.BufferedWriter(RoomyFile(path, reserve), 1 << 16), encoding=encoding, newline="\n"
    )
