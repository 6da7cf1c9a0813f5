"""A video take's audio from a second input (``--audio-device``), converted to the master's
format and read on its own thread: an FFmpeg test source (``lavfi:GRAPH``) or an audio input
of the audio take's engine (PortAudio or the demo deck, through ``capture.backends``)."""

from __future__ import annotations

import threading
import time

import av
import numpy as np

from capture.audio_input import AudioInput
from capture.mkv_writer import AudioParams
from capture.video_input import StoppableInput
from metadata.errors import HeadblockError


class AudioConverter:
    """Converts whatever audio arrives into ``(n, channels)`` int arrays in the master's format."""

    def __init__(self, params: AudioParams):
        self.params = params
        self._resampler = None

    def from_av(self, frame: av.AudioFrame) -> np.ndarray:
        p = self.params
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format=p.sample_format, layout=p.layout, rate=p.rate_hz
            )
        frame.pts = None
        out = [f.to_ndarray().reshape(-1, p.channels) for f in self._resampler.resample(frame)]
        if not out:
            return np.zeros((0, p.channels), self.dtype)
        return out[0] if len(out) == 1 else np.concatenate(out)

    @property
    def dtype(self):
        return np.int32 if self.params.bits == 24 else np.int16

    @property
    def full_scale(self) -> float:
        """The magnitude of the most negative sample: float samples are ints over this."""
        return 2147483648.0 if self.params.bits == 24 else 32768.0

    def from_float(self, block: np.ndarray) -> np.ndarray:
        top = self.full_scale - 1.0
        out = np.clip(np.round(block.astype(np.float64) * top), -top - 1, top).astype(self.dtype)
        if self.params.bits == 24:
            out &= ~np.int32(0xFF)  # 24-bit samples in the top bits
        return out

    def from_input(self, block: np.ndarray) -> np.ndarray:
        """A block from an audio input's ring (int16, int32 or float) in the master's format."""
        bits = self.params.bits
        if block.dtype.kind == "f":
            block = self.from_float(block)
        elif bits == 16 and block.dtype != np.int16:
            block = (block.astype(np.int32) >> 16).astype(np.int16)
        elif bits == 24 and block.dtype != np.int32:
            block = block.astype(np.int32) << 16
        return np.ascontiguousarray(block)


class LavfiAudioFeed(StoppableInput):
    """``--audio-device lavfi:GRAPH``: an FFmpeg audio test source, paced in real time."""

    def __init__(self, graph: str, converter: AudioConverter):
        self.converter = converter
        self.text = f"lavfi:{graph}"
        try:
            self.container = av.open(graph, format="lavfi")
        except av.error.FFmpegError as exc:
            raise HeadblockError(f"cannot open audio input lavfi:{graph}: {exc}") from exc
        if not self.container.streams.audio:
            self.container.close()
            raise HeadblockError(f"the audio input lavfi:{graph} has no audio stream")
        self.overflows = 0
        self.frames_lost = 0
        self._stop = threading.Event()

    def blocks(self):
        """Yields ``(block, arrival_monotonic_s)``."""
        started_at = None
        samples_done = 0
        rate = self.converter.params.rate_hz
        for frame in self.container.decode(audio=0):
            if self._stop.is_set():
                return
            block = self.converter.from_av(frame)
            if started_at is None:
                started_at = time.monotonic()
            samples_done += len(block)
            delay = started_at + samples_done / rate - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            yield block, time.monotonic()

    def start(self) -> None:
        pass

    def losses(self) -> list:
        return []

    def _release(self) -> None:
        self.container.close()


class AudioInputFeed(StoppableInput):
    """``--audio-device NAME``: an opened audio input (PortAudio or the demo deck), read from
    its ring; its losses are the input's own."""

    def __init__(self, device: str, audio_input: AudioInput, converter: AudioConverter):
        self.converter = converter
        self.text = device
        self.input = audio_input
        self._stop = threading.Event()

    @property
    def overflows(self) -> int:
        return int(getattr(self.input.stats(), "overflows", 0))

    @property
    def frames_lost(self) -> int:
        return int(getattr(self.input.stats(), "frames_lost", 0))

    def start(self) -> None:
        self.input.start()
        if not self.input.wait_first_block(10.0):
            self.input.stop()
            raise HeadblockError(f"the audio input {self.text} delivers no audio")
        self.input.begin_take()

    def losses(self) -> list:
        return list(self.input.poll_losses())

    def blocks(self):
        ring = self.input.ring
        while not self._stop.is_set():
            if ring.available == 0:
                self._stop.wait(0.005)
                continue
            block = ring.read()
            arrival = time.monotonic()
            yield self.converter.from_input(block), arrival

    def _release(self) -> None:
        self.input.stop()
