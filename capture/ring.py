"""A preallocated ring buffer between the audio callback and the writer thread.

One producer (the audio callback) and one consumer (the writer thread). The producer only
copies into memory allocated once; it never blocks, never logs. Positions are monotonically
increasing frame counters, each written by one side only (a single attribute store is atomic
under the GIL), so no lock is needed. ``latest(n)`` is a non-consuming copy for meters.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Frames shaped (capacity, channels) of one dtype; see the module docstring."""

    def __init__(self, capacity_frames: int, channels: int, dtype=np.int32):
        if capacity_frames <= 0 or channels <= 0:
            raise ValueError("capacity and channels must be positive")
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self.dtype = np.dtype(dtype)
        self._buf = np.empty((self.capacity, self.channels), self.dtype)
        self._buf.fill(0)  # touch every page now, not in the audio callback
        self._written = 0  # frames ever written (producer only)
        self._read = 0  # frames ever consumed (consumer only)
        self._dropped = 0  # frames refused because the ring was full (producer only)
        self._drops = 0  # how many writes lost frames (producer only)

    # -- producer -----------------------------------------------------------------------------
    def write(self, block: np.ndarray) -> int:
        """Copy ``block`` (n, channels) in; returns frames stored. When full, the newest frames
        that do not fit are dropped and counted (the writer thread reports them)."""
        n = block.shape[0]
        free = self.capacity - (self._written - self._read)
        if n > free:
            self._dropped += n - free
            self._drops += 1
            n = free
        if n <= 0:
            return 0
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = block[:first]
        if n > first:
            self._buf[: n - first] = block[first:n]
        self._written += n
        return n

    # -- consumer -----------------------------------------------------------------------------
    @property
    def available(self) -> int:
        """Frames written and not yet consumed."""
        return self._written - self._read

    @property
    def fill(self) -> float:
        """Fraction of the capacity in use (0..1)."""
        return self.available / self.capacity

    @property
    def frames_written(self) -> int:
        return self._written

    @property
    def frames_dropped(self) -> int:
        return self._dropped

    @property
    def drop_count(self) -> int:
        return self._drops

    def read(self, max_frames: int | None = None) -> np.ndarray:
        """Consume up to ``max_frames`` (all available when None); returns a new array."""
        n = self.available
        if max_frames is not None:
            n = min(n, max_frames)
        out = np.empty((n, self.channels), self.dtype)
        self.read_into(out)
        return out

    def read_into(self, out: np.ndarray) -> int:
        """Consume up to ``len(out)`` frames into ``out``; returns the number copied."""
        n = min(self.available, out.shape[0])
        if n <= 0:
            return 0
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start : start + first]
        if n > first:
            out[first:n] = self._buf[: n - first]
        self._read += n
        return n

    def peek_views(self, max_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The oldest unconsumed frames as up to two views (no copy); pair with ``advance``."""
        n = self.available
        if max_frames is not None:
            n = min(n, max_frames)
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        return self._buf[start : start + first], self._buf[: n - first]

    def advance(self, n: int) -> None:
        """Mark ``n`` frames consumed (after ``peek_views``)."""
        if n < 0 or n > self.available:
            raise ValueError(f"cannot advance {n} frames ({self.available} available)")
        self._read += n

    # -- meters -------------------------------------------------------------------------------
    def latest(self, n_frames: int) -> np.ndarray:
        """A copy of the newest ``n_frames`` written (fewer at the start); does not consume.

        The producer writes over the slots of frames one capacity old: when ``n_frames`` comes
        near the capacity the oldest frames returned may be newer ones. Meters ask for far less.
        """
        end = self._written
        n = min(n_frames, end, self.capacity)
        out = np.empty((n, self.channels), self.dtype)
        if n == 0:
            return out
        start = (end - n) % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start : start + first]
        if n > first:
            out[first:] = self._buf[: n - first]
        return out
