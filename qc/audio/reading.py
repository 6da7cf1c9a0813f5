"""Reading audio for QC: WAV/BWF/RF64 through soundfile, the audio of Matroska (or anything
FFmpeg decodes) through PyAV, as channel-major float32 chunks of whole 10 ms blocks."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metadata.errors import HeadblockError
from qc.inputs import first_line

BLOCK_S = 0.01  # envelope and level block
CHUNK_BLOCKS = 400  # 4 s chunks
SOUNDFILE_EXTS = {".wav", ".bwf", ".rf64", ".w64", ".flac", ".aif", ".aiff"}


@dataclass
class AudioInfo:
    path: Path
    rate_hz: int
    channels: int
    frames: int | None  # None when the container does not say
    container: str  # "WAV", "RF64", "Matroska", ...
    subtype: str = ""
    stream_index: int | None = None
    start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return (self.frames or 0) / self.rate_hz


def block_frames_for(rate_hz: int) -> int:
    return max(1, int(round(rate_hz * BLOCK_S)))


class AudioSource:
    """An open audio file or audio stream; ``chunks()`` yields (channels, n) float32 arrays.

    Every chunk but the last has the same length, a whole number of 10 ms blocks.
    """

    def __init__(self, path: Path, stream_index: int | None = None):
        self.path = Path(path)
        self._sf = None
        self._av = None
        if self.path.suffix.lower() in SOUNDFILE_EXTS and stream_index is None:
            self._open_soundfile()
        else:
            self._open_av(stream_index)

    def _open_soundfile(self) -> None:
        import soundfile as sf

        try:
            f = sf.SoundFile(str(self.path))
        except Exception as exc:  # libsndfile says why in its message
            raise HeadblockError(
                f"{self.path.name}: not a readable audio file ({first_line(exc, 200)})"
            ) from exc
        if f.frames <= 0:
            f.close()
            raise HeadblockError(f"{self.path.name}: the audio file holds no samples")
        self._sf = f
        self.info = AudioInfo(self.path, f.samplerate, f.channels, f.frames, f.format, f.subtype)

    def _open_av(self, stream_index: int | None) -> None:
        import av

        try:
            c = av.open(str(self.path))
        except Exception as exc:
            raise HeadblockError(
                f"{self.path.name}: cannot be opened as media ({first_line(exc, 200)})"
            ) from exc
        streams = [s for s in c.streams if s.type == "audio"]
        if stream_index is not None:
            streams = [s for s in streams if s.index == stream_index]
        if not streams:
            c.close()
            raise HeadblockError(f"{self.path.name}: no audio stream")
        st = streams[0]
        rate = st.codec_context.sample_rate or st.rate
        channels = st.codec_context.channels
        frames = None
        if st.duration is not None and st.time_base is not None:
            frames = int(round(float(st.duration * st.time_base) * rate))
        elif c.duration:
            frames = int(round(c.duration / 1_000_000 * rate))
        start_s = (
            float(st.start_time * st.time_base)
            if st.start_time is not None and st.time_base
            else 0.0
        )
        self._av = (c, st)
        self.info = AudioInfo(
            self.path,
            int(rate),
            int(channels),
            frames,
            c.format.name,
            st.codec_context.name,
            st.index,
            start_s,
        )

    def chunk_frames(self) -> int:
        return block_frames_for(self.info.rate_hz) * CHUNK_BLOCKS

    def chunks(self, start_frame: int = 0) -> Iterator[np.ndarray]:
        """From ``start_frame`` (a whole number of chunks from the start, so the chunks are
        those a read from the start gives)."""
        n = self.chunk_frames()
        if self._sf is not None:
            if start_frame:
                self._sf.seek(start_frame)
            yield from self._sf_chunks(n)
            return
        skip = start_frame
        for chunk in self._av_chunks(n):
            if skip >= chunk.shape[1]:
                skip -= chunk.shape[1]
                continue
            yield chunk[:, skip:] if skip else chunk
            skip = 0

    def _sf_chunks(self, n: int) -> Iterator[np.ndarray]:
        f = self._sf
        buf = np.empty((n, self.info.channels), dtype=np.float32)
        while True:
            try:
                got = f.read(n, dtype="float32", out=buf)
            except Exception as exc:
                raise HeadblockError(
                    f"{self.path.name}: read error ({first_line(exc, 200)})"
                ) from exc
            if len(got) == 0:
                return
            yield np.array(
                got.T, dtype=np.float32, order="C"
            )  # a copy: buf is reused (mono .T is a view)
            if len(got) < n:
                return

    def _av_chunks(self, n: int) -> Iterator[np.ndarray]:
        import av

        c, st = self._av
        ch = self.info.channels
        resampler = av.AudioResampler(
            format="fltp", layout=st.codec_context.layout, rate=self.info.rate_hz
        )
        pending: list[np.ndarray] = []
        have = 0
        try:
            for packet in c.demux(st):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        a = out.to_ndarray().astype(np.float32, copy=False).reshape(ch, -1)
                        pending.append(a)
                        have += a.shape[1]
                        while have >= n:
                            allx = (
                                np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
                            )
                            yield np.ascontiguousarray(allx[:, :n])
                            rest = allx[:, n:]
                            pending = [rest] if rest.shape[1] else []
                            have = rest.shape[1]
            for out in resampler.resample(None):
                a = out.to_ndarray().astype(np.float32, copy=False).reshape(ch, -1)
                pending.append(a)
                have += a.shape[1]
        except av.error.FFmpegError as exc:
            raise HeadblockError(
                f"{self.path.name}: audio decoding failed ({first_line(exc, 200)})"
            ) from exc
        if have:
            allx = np.concatenate(pending, axis=1)
            for i in range(0, allx.shape[1], n):
                yield np.ascontiguousarray(allx[:, i : i + n])

    def close(self) -> None:
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av[0].close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def iter_audio_blocks(
    path: Path, stream_index: int | None = None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start_frame, rate_hz, chunk) for every chunk of a WAV/BWF/RF64 or a media file's audio.

    ``chunk`` is channel-major float32 (channels, n); transpose for (frames, channels).
    """
    with AudioSource(path, stream_index) as src:
        start = 0
        for xc in src.chunks():
            yield start, src.info.rate_hz, xc
            start += xc.shape[1]


def prefetch(it: Iterator[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """Read the next chunks in a thread while this one is analysed (libsndfile releases the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def reader():
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    th = threading.Thread(target=reader, name="qc-reader", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        th.join(timeout=5)
