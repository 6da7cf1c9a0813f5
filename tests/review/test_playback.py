"""Playback of a take through a real audio output (the private PulseAudio server's sink)."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from tests.review.takes import AUDIO_RATE


class _Recorder:
    """parec on the sink's monitor, read by a thread; ready once data flows."""

    def __init__(self, server):
        import threading

        self.proc = subprocess.Popen(
            [
                "parec",
                "-d",
                "vsink.monitor",
                "--raw",
                "--format=float32le",
                f"--rate={AUDIO_RATE}",
                "--channels=2",
                "--latency-msec=20",
            ],
            env=server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while chunk := self.proc.stdout.read1(65536):
            self.chunks.append(chunk)

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while sum(map(len, self.chunks)) < AUDIO_RATE * 8 // 10 and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> np.ndarray:
        self.proc.terminate()
        self.proc.wait(10)
        self.thread.join(5)
        raw = b"".join(self.chunks)
        return np.frombuffer(raw[: len(raw) // 8 * 8], np.float32).reshape(-1, 2)


def _dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / AUDIO_RATE)[np.argmax(spec)])


@pytest.mark.slow
def test_play_forward_and_reverse_through_the_output(pulse_server, audio_take):
    from capture.playback import AudioPlayer

    player = AudioPlayer(audio_take.master("audio"))
    rec = _Recorder(pulse_server)
    rec.wait_ready()

    def pace(from_s: float, speed: int) -> float:
        """Seconds of the take heard per second of wall clock, once sound flows."""
        player.play(from_s, speed)
        deadline = time.monotonic() + 5
        # past the pre-filled first blocks and the stall of a new PulseAudio stream
        while abs(player.position_s - from_s) < 0.2 and time.monotonic() < deadline:
            time.sleep(0.01)
        t0, p0 = time.monotonic(), player.position_s
        time.sleep(0.6)
        return (player.position_s - p0) / (time.monotonic() - t0)

    try:
        forward = pace(0.2, 1)
        reverse = pace(3.5, -1)  # J: backwards from 3.5 s
        double = pace(0.5, 2)  # L pressed twice
        player.stop()
    finally:
        player.close()
        audio = rec.stop()
    assert forward == pytest.approx(1.0, abs=0.3)
    assert reverse == pytest.approx(-1.0, abs=0.3)
    assert double == pytest.approx(2.0, abs=0.5)
    loud = np.flatnonzero(np.abs(audio[:, 0]) > 0.05)
    assert loud.size > AUDIO_RATE // 2, "nothing reached the sink"
    chunk = audio[loud[0] + 2400 : loud[0] + 2400 + 16384]
    assert _dominant_hz(chunk[:, 0]) == pytest.approx(440, abs=6)  # the take's left channel
    assert _dominant_hz(chunk[:, 1]) == pytest.approx(660, abs=6)


def test_matroska_audio_is_read_in_order_and_after_a_seek(video_take):
    from capture.playback import AudioPlayer

    player = AudioPlayer(video_take.master("video"))
    try:
        assert player.rate_hz == AUDIO_RATE and player.channels == 2
        t = np.arange(AUDIO_RATE * 2) / AUDIO_RATE
        ref = 0.5 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
        # in order: sample-exact; after a seek: within Matroska's 1 ms timestamp precision
        for start, count, slack in (
            (0, 3000, 0),
            (3000, 3000, 0),
            (6000, 500, 0),
            (48000, 2048, 24),
            (50048, 4096, 24),
        ):
            got = player._read(start, count)
            assert got.shape == (count, 2)
            errors = {
                lag: np.abs(got - ref[start + lag : start + lag + count]).max()
                for lag in range(-slack, slack + 1)
                if start + lag >= 0
            }
            lag = min(errors, key=errors.get)
            assert errors[lag] < 1e-3, (start, lag, errors[lag])
    finally:
        player.close()


def test_matroska_audio_plays_backwards_without_a_seam(video_take):
    """Reverse play seeks before every block; Matroska's millisecond timestamps place a seek
    only to within a millisecond, so each block is aligned on the one played before it."""
    from capture.playback import AudioPlayer, shuttle_block

    player = AudioPlayer(video_take.master("video"))
    try:
        t = np.arange(AUDIO_RATE * 3) / AUDIO_RATE
        ref = 0.5 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
        for speed in (-1, -2):
            pos, played = AUDIO_RATE * 3 // 2 + 777, []
            for _ in range(12):
                block, pos = shuttle_block(player._read, player.total_frames, pos, 2048, speed)
                played.append(block)
            heard = np.concatenate(played)[::-1]  # what was played, turned the right way round
            want = ref[pos : pos + len(heard) * -speed : -speed]
            errors = {
                lag: np.abs(heard - ref[pos + lag : pos + lag + len(heard) * -speed : -speed]).max()
                for lag in range(-24, 25)
            }
            lag = min(errors, key=errors.get)
            assert len(heard) == len(want) and errors[lag] < 1e-3, (speed, lag, errors[lag])
    finally:
        player.close()
