"""The tape's timecode during a take, for its status line and the bench.

``LiveTimecode(take).now()`` is what ``take.status().timecode`` says:

* with an LTC channel (``settings.ltc_channel``), the code decoded from that channel of the
  audio the take's meters read (``take.latest_audio``): each call feeds the decoder what
  arrived since the last one, and the newest decoded frame is counted on to the newest sample
  (a frame is confirmed by the next one and the rate by a seconds rollover, so the first code
  shows about a second into the take; a stop or a break in the code shows as none, then the
  new code);
* else the source's own timecode (``take.source_timecode``: RP188/VITC through FFmpeg, a
  file's timecode track), at the newest frame;
* else None.

It runs on the caller's thread (the window's refresh, the terminal's status line), never on
the take's real-time threads; decoding costs ~20 ms per second of audio.
"""

from __future__ import annotations

import threading

import numpy as np

from capture.timecode.ltc import LtcDecoder, LtcFrame
from capture.timecode.smpte import from_frames

MAX_CATCH_UP_S = 1.5  # fed at most this much at once; a longer pause starts the decoder again
STALE_S = 0.5  # no new frame decoded for this long: the code stopped


class LiveTimecode:
    def __init__(self, take):
        self.take = take
        self._lock = threading.Lock()
        self._decoder: LtcDecoder | None = None
        self._rate_hz = 0
        self._seen = None  # the audio frame count at the last feed
        self._fed = 0  # samples fed to the decoder
        self._last: LtcFrame | None = None

    def now(self) -> str | None:
        """The tape's timecode now, or None (see the module docstring). Never raises."""
        try:
            settings = getattr(self.take, "settings", None)
            channel = getattr(settings, "ltc_channel", None)
            if channel:
                return self._ltc(channel)
            source = getattr(self.take, "source_timecode", None)
            return source.newest() if source is not None else None
        except Exception:  # noqa: BLE001 - a figure on a display, never a reason to fail
            return None

    # -- LTC ------------------------------------------------------------------------------------
    def _count_and_rate(self) -> tuple[int, int] | None:
        take = self.take
        metered = getattr(take, "audio_frames_metered", None)  # a video take's meter ring
        if metered is not None:
            params = getattr(take, "audio_params", None)
            return (int(metered), params.rate_hz) if params else None
        source = getattr(take, "input", None)  # an audio take's input
        if source is None:
            return None
        return int(source.stats().frames_received), int(source.rate_hz)

    def _ltc(self, channel: int) -> str | None:
        with self._lock:
            counted = self._count_and_rate()
            if counted is None:
                return None
            count, rate_hz = counted
            if self._decoder is None or rate_hz != self._rate_hz:
                self._restart(rate_hz)
            new = count - self._seen if self._seen is not None else int(rate_hz * 0.5)
            self._seen = count
            if new > rate_hz * MAX_CATCH_UP_S or new < 0:  # a pause: the stream is not whole
                self._restart(rate_hz)
                new = int(rate_hz * 0.5)
            if new > 0:
                block = self.take.latest_audio(new)
                if block is not None and len(block) and block.shape[1] >= channel:
                    samples = np.ascontiguousarray(block[:, channel - 1], dtype=np.float32)
                    frames = self._decoder.feed(samples)
                    self._fed += len(samples)
                    if frames:
                        self._last = frames[-1]
            last = self._last
            if last is None:
                return None
            behind = self._fed - last.position
            if behind > rate_hz * (STALE_S + 0.1):
                return None
            frames_on = int(behind * float(last.rate.rate) / rate_hz)
            return from_frames(last.frame_number + frames_on, last.rate)

    def _restart(self, rate_hz: int) -> None:
        self._decoder = LtcDecoder(rate_hz)
        self._rate_hz = rate_hz
        self._fed = 0
        self._last = None
