"""The health strip: what can cost the take, in words the technician can act on."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.widgets.restyle import restyle
from app.widgets.steady import SteadyRow

DISK_AMBER_S = 30 * 60
DISK_RED_S = 5 * 60


@dataclass
class HealthFigures:
    samples_lost: int = 0
    last_sample_loss_at_s: float | None = None  # take time of the last loss
    frames_dropped: int | None = None  # None: no video input
    last_frame_drop_at_s: float | None = None
    queue_depth: int | None = None  # encoder (video) or writer (audio) queue
    queue_fill: float | None = None  # fraction of the queue's capacity
    disk_free_bytes: int | None = None
    disk_time_left_s: float | None = None
    cpu_percent: float | None = None


def disk_level(time_left_s: float | None) -> str:
    """ "ok", "amber" (< 30 min) or "red" (< 5 min) for the time left on the disk."""
    if time_left_s is None or not math.isfinite(time_left_s):
        return "ok"
    if time_left_s < DISK_RED_S:
        return "red"
    if time_left_s < DISK_AMBER_S:
        return "amber"
    return "ok"


def cpu_level(cpu_percent: float, queue_fill: float | None) -> str:
    """A busy processor is a warning only when the take falls behind (its queue fills):
    during video capture the encoder keeps the cores busy by design."""
    fill = queue_fill or 0.0
    if cpu_percent > 95 and fill > 0.4:
        return "red"
    if cpu_percent > 80 and fill > 0.1:
        return "amber"
    return "ok"


def fmt_duration(seconds: float) -> str:
    """A duration a person reads at a glance: ``3 h 05 min``, ``12 min``, ``40 s``."""
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m >= 10:
        return f"{m} min"
    return f"{m} min {s:02d} s" if m else f"{s} s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class _Cell(QLabel):
    def __init__(self, title: str, tooltip: str):
        super().__init__()
        self.title = title
        self.setObjectName("healthCell")
        self.setToolTip(tooltip)
        self.level = "ok"
        self.set(title + " —", "idle")

    def set(self, text: str, level: str) -> None:
        if text != self.text():
            self.setText(text)
        if level != self.level:
            self.level = level
            restyle(self, level=level)


class HealthStrip(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("healthStrip")
        self.samples = _Cell(
            "Audio lost", "Samples lost in capture (input overflow or a gap against the clock)."
        )
        self.frames = _Cell("Video dropped", "Frames dropped by the device or missing timestamps.")
        self.queue = _Cell("Queue", "Writer/encoder queue: frames waiting to reach the disk.")
        self.disk = _Cell(
            "Disk",
            "Free space in the library and recording time left at the current rate "
            "(amber under 30 min, red under 5 min; the take stops cleanly before the disk fills).",
        )
        self.cpu = _Cell(
            "CPU",
            "Processor load of the whole machine. A video encoder keeps two cores busy: that "
            "is normal while the take keeps up. Amber and red only when the take's queue "
            "fills at the same time.",
        )
        row = SteadyRow([self.samples, self.frames, self.queue, self.disk, self.cpu], spacing=6)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(row)

    def show_figures(self, figures: HealthFigures) -> None:
        if figures.samples_lost:
            at = _at(figures.last_sample_loss_at_s)
            self.samples.set(f"Audio lost {figures.samples_lost:,} samples{at}", "red")
        else:
            self.samples.set("Audio lost 0", "ok")
        if figures.frames_dropped is None:
            self.frames.set("Video —", "idle")
        elif figures.frames_dropped:
            at = _at(figures.last_frame_drop_at_s)
            self.frames.set(f"Video dropped {figures.frames_dropped:,}{at}", "red")
        else:
            self.frames.set("Video dropped 0", "ok")
        if figures.queue_depth is None and figures.queue_fill is None:
            self.queue.set("Queue —", "idle")
        else:
            fill = figures.queue_fill or 0.0
            level = "red" if fill > 0.8 else "amber" if fill > 0.4 else "ok"
            depth = (
                f"{figures.queue_depth} frames"
                if figures.queue_depth is not None
                else f"{fill:.0%}"
            )
            self.queue.set(f"Write queue {depth}", level)
        if figures.disk_free_bytes is None:
            self.disk.set("Disk —", "idle")
        else:
            level = disk_level(figures.disk_time_left_s)
            left = (
                f", {fmt_duration(figures.disk_time_left_s)} left"
                if figures.disk_time_left_s is not None and math.isfinite(figures.disk_time_left_s)
                else ""
            )
            self.disk.set(f"Disk {fmt_bytes(figures.disk_free_bytes)} free{left}", level)
        if figures.cpu_percent is None:
            self.cpu.set("CPU —", "idle")
        else:
            self.cpu.set(
                f"CPU {figures.cpu_percent:.0f}%",
                cpu_level(figures.cpu_percent, figures.queue_fill),
            )


def _at(take_s: float | None) -> str:
    if take_s is None:
        return ""
    return f", last at {fmt_duration(take_s)} into the take"
