"""The disk watchdog: time left on the library's disk, warnings, and a clean stop in time.

Time left is (free space - reserve) / data rate. The reserve is kept for what a take still
writes after its audio: the header, the MD5 chunk, the sidecars and QC's files. The take
stops while ``stop_margin_s`` of audio would still fit above the reserve, so the writer never
meets a full disk in normal operation (an ENOSPC is still handled by the take itself).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_RESERVE_BYTES = 32 << 20
DEFAULT_WARN_S = (600.0, 120.0)  # warn when less than 10 minutes, then 2 minutes, are left


def free_space_bytes(path: Path) -> int:
    """Bytes available to this user on the filesystem of ``path``."""
    return shutil.disk_usage(path).free


@dataclass
class DiskCheck:
    free_bytes: int
    time_left_s: float
    action: str  # "ok" | "warn" | "stop"
    message: str = ""


@dataclass
class DiskWatchdog:
    directory: Path
    bytes_per_s: float
    reserve_bytes: int = DEFAULT_RESERVE_BYTES
    warn_s: tuple[float, ...] = DEFAULT_WARN_S
    stop_margin_s: float = 2.0
    free_space: Callable[[Path], int] = free_space_bytes
    _warned: set = field(default_factory=set)

    def time_left_s(self, free_bytes: int) -> float:
        return max(free_bytes - self.reserve_bytes, 0) / max(self.bytes_per_s, 1.0)

    def check(self) -> DiskCheck:
        try:
            free = int(self.free_space(Path(self.directory)))
        except OSError as exc:
            return DiskCheck(0, 0.0, "warn", f"cannot read free space: {exc.strerror or exc}")
        left = self.time_left_s(free)
        if left <= self.stop_margin_s:
            return DiskCheck(
                free,
                left,
                "stop",
                f"disk nearly full: {_mb(free)} free, {_mb(self.reserve_bytes)} kept in reserve",
            )
        for threshold in sorted(self.warn_s):
            if left < threshold and threshold not in self._warned:
                # one warning per threshold crossed (the smallest one crossed)
                self._warned.update(t_s for t_s in self.warn_s if t_s >= threshold)
                return DiskCheck(
                    free, left, "warn", f"about {_duration(left)} of recording left on the disk"
                )
        return DiskCheck(free, left, "ok")


def log_disk_event(
    event,
    action: str,
    *,
    message: str,
    at_s: float,
    free_bytes: int | None = None,
    time_left_s: float | None = None,
) -> None:
    """Log a ``disk_warning`` (action "warn") or ``disk_stop`` (action "stop") through
    ``event(name, level, **fields)``, with the fields every take writes: ``message``,
    ``free_bytes``, ``time_left_s`` (None when unknown, as after ENOSPC) and ``at_s`` (media
    time into the take)."""
    event(
        "disk_warning" if action == "warn" else "disk_stop",
        "WARN" if action == "warn" else "ERROR",
        message=message,
        free_bytes=free_bytes,
        time_left_s=None if time_left_s is None else round(time_left_s, 1),
        at_s=round(at_s, 3),
    )


def log_disk_check(event, check: DiskCheck, at_s: float) -> None:
    """``log_disk_event`` for a check that warns or stops (nothing for "ok")."""
    if check.action in ("warn", "stop"):
        log_disk_event(
            event,
            check.action,
            message=check.message,
            at_s=at_s,
            free_bytes=check.free_bytes,
            time_left_s=check.time_left_s,
        )


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):.1f} MiB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
