"""Playback of a master (WAV, or a Matroska's audio) through the default audio output, in
either direction at any shuttle speed.

The PortAudio callback only copies blocks a reader thread has prepared, so a slow disk or a
seek never makes the output stutter.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError


def shuttle_block(read, total_frames: int, pos: int, n: int, speed: int):
    """``n`` output frames of a shuttle at ``speed`` (±1, ±2, ±4) from frame ``pos``.

    ``read(start, count) -> ndarray (count, channels)``. Reverse play reads the span before
    ``pos`` and turns it round; faster play keeps every ``|speed|``-th frame. Returns
    (block or None at either end, new position).
    """
    step = abs(int(speed)) or 1
    span = n * step
    if speed > 0:
        if pos >= total_frames:
            return None, pos
        count = min(span, total_frames - pos)
        data = read(pos, count)[::step]
        return data, pos + count
    if pos <= 0:
        return None, 0
    start = max(0, pos - span)
    data = read(start, pos - start)[::-1][::step]
    return data, start


class AudioPlayer:
    """Plays a WAV or a Matroska's audio, in either direction at any shuttle speed, through
    the default output. The callback copies prepared blocks only; a reader thread prepares
    them."""

    BLOCK = 2048

    def __init__(self, master: Path):
        self.master = Path(master)
        self._sf = None
        self._av = None
        if self.master.suffix.lower() == ".wav":
            import soundfile as sf

            self._sf = sf.SoundFile(str(self.master))
            self.rate_hz = self._sf.samplerate
            self.channels = self._sf.channels
            self.total_frames = self._sf.frames
        else:
            import av

            self._av = av.open(str(self.master))
            if not self._av.streams.audio:
                self._av.close()
                raise HeadblockError(f"{self.master.name} has no audio to play")
            stream = self._av.streams.audio[0]
            self.rate_hz = stream.codec_context.sample_rate
            self.channels = stream.codec_context.channels
            duration_s = float(stream.duration * stream.time_base) if stream.duration else 0.0
            if not duration_s and self._av.duration:
                duration_s = self._av.duration / 1_000_000
            self.total_frames = int(duration_s * self.rate_hz)
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._stream = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pos_frames = 0  # where the listener is (callback side)
        self._cur = None  # (block, start_frame, direction)
        self._cur_i = 0
        self.speed = 0
        self.error = ""
        # Matroska decoding state: where the decoder stands, what it decoded ahead
        self._av_iter = None
        self._av_buf = np.zeros((0, self.channels), np.float32)
        self._av_buf_start: int | None = None
        self._av_next: int | None = None  # the frame a forward read continues from
        self._av_prev: tuple[int, np.ndarray] | None = None  # the last block: start, head

    # reader side
    def _read(self, start: int, count: int) -> np.ndarray:
        if self._sf is not None:
            self._sf.seek(start)
            return self._sf.read(count, dtype="float32", always_2d=True)
        return self._read_av(start, count)

    ALIGN_FRAMES = 64  # first samples of a block, kept to place the block before it (reverse)

    def _read_av(self, start: int, count: int) -> np.ndarray:
        prev = self._av_prev
        if prev is None or prev[0] != start + count or self._av_next == start:
            data = self._decode_av(start, count)
        else:  # the block just before the one played last: reverse play
            data = self._read_av_before(start, count, prev[1])
        self._av_prev = (start, data[: self.ALIGN_FRAMES].copy())
        return data

    def _read_av_before(self, start: int, count: int, head: np.ndarray) -> np.ndarray:
        """``count`` frames ending exactly where ``head`` (the block played before) begins.

        A seek lands within a millisecond of ``start``; decoding a margin on both sides and
        finding ``head`` in it gives the exact place, so reverse play has no seam."""
        slack = min(start, self.rate_hz // 500 + 2)
        data = self._decode_av(start - slack, slack + count + slack + len(head))
        self._av_next = None  # the margin read past the block: the next read seeks
        nominal = slack + count
        if len(head) and np.ptp(head) > 0:  # silence matches anywhere: keep the nominal place
            for d in sorted(range(-slack, slack + 1), key=abs):
                at = nominal + d
                if 0 <= at - count and np.array_equal(data[at : at + len(head)], head):
                    return data[at - count : at]
        return data[slack : slack + count]

    def _decode_av(self, start: int, count: int) -> np.ndarray:
        # Forward: continue decoding from where we are, seek when asked elsewhere.
        stream = self._av.streams.audio[0]
        if self._av_next != start:
            self._av.seek(
                int(start / self.rate_hz / stream.time_base), stream=stream, backward=True
            )
            self._av_buf = np.zeros((0, self.channels), np.float32)
            self._av_buf_start = None
            self._av_iter = self._av.decode(stream)
        out = self._av_buf
        while out.shape[0] < count + max(0, start - (self._av_buf_start or start)):
            try:
                frame = next(self._av_iter)
            except StopIteration:
                break
            arr = frame.to_ndarray()
            if arr.dtype.kind == "i":
                arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
            arr = arr.T if frame.format.is_planar else arr.reshape(-1, self.channels)
            if self._av_buf_start is None:
                self._av_buf_start = int(round(float(frame.pts * frame.time_base) * self.rate_hz))
            out = np.concatenate([out, arr.astype(np.float32)])
        offset = max(0, start - (self._av_buf_start or start))
        data = out[offset : offset + count]
        self._av_buf = out[offset + len(data) :]
        self._av_buf_start = start + len(data)
        self._av_next = start + len(data)
        return data

    def _reader(self, pos: int, speed: int) -> None:
        while not self._stop.is_set():
            try:
                block, new_pos = shuttle_block(
                    self._read, self.total_frames, pos, self.BLOCK, speed
                )
            except Exception as exc:
                self.error = str(exc)
                block = None
            item = None if block is None else (block, pos, 1 if speed > 0 else -1, abs(speed))
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item is None:
                return
            pos = new_pos

    # device side
    def _callback(self, outdata, frames, _time, _status):
        filled = 0
        while filled < frames:
            if self._cur is None:
                try:
                    self._cur = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._cur_i = 0
                if self._cur is None:  # the end: let it finish
                    self.speed = 0
                    break
            block, start, direction, step = self._cur
            count = min(frames - filled, block.shape[0] - self._cur_i)
            part = block[self._cur_i : self._cur_i + count]
            shared = min(part.shape[1], outdata.shape[1])  # channels both sides have
            outdata[filled : filled + count, :shared] = part[:, :shared]
            if outdata.shape[1] > shared:  # mono on both speakers
                outdata[filled : filled + count, shared:] = part[:, :1] if shared == 1 else 0
            self._cur_i += count
            filled += count
            self._pos_frames = start + direction * self._cur_i * step
            if self._cur_i >= block.shape[0]:
                self._cur = None
        if filled < frames:
            outdata[filled:] = 0

    @property
    def position_s(self) -> float:
        return self._pos_frames / self.rate_hz

    def play(self, from_s: float, speed: int = 1) -> None:
        """Start (or restart) at ``from_s`` at ``speed``; raises HeadblockError without output."""
        self.stop()
        pos = int(min(max(from_s, 0.0), self.total_frames / self.rate_hz) * self.rate_hz)
        self._pos_frames = pos
        self._stop.clear()
        self._queue = queue.Queue(maxsize=8)
        self._cur = None
        self.speed = speed
        self._thread = threading.Thread(
            target=self._reader, args=(pos, speed), daemon=True, name="review-audio-reader"
        )
        self._thread.start()
        try:
            import sounddevice as sd

            self._stream = sd.OutputStream(
                samplerate=self.rate_hz,
                channels=min(self.channels, 2),
                dtype="float32",
                blocksize=1024,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            self.stop()
            raise HeadblockError(f"no audio output: {exc}") from exc

    def stop(self) -> None:
        self._stop.set()
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.speed = 0

    @property
    def playing(self) -> bool:
        return self._stream is not None and self.speed != 0

    def close(self) -> None:
        self.stop()
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av.close()
