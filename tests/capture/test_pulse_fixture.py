"""The private PulseAudio server records exactly what is played into its null sink."""

import threading
import time

import numpy as np
import sounddevice as sd

from tests.capture.helpers import best_offset


def record_while_playing(server, signal, rate_hz, channels, sink="vsink"):
    """Open a PortAudio input on 'pulse', wait for its first block, play, and keep recording
    until the frames that cover the whole signal (and 0.3 s more) have arrived."""
    blocks = []
    count = [0]
    first = threading.Event()

    def callback(indata, frames, time_info, status):
        blocks.append(indata.copy())
        count[0] += frames
        first.set()

    with sd.InputStream(
        samplerate=rate_hz, channels=channels, dtype="int32", device="pulse", callback=callback
    ):
        assert first.wait(10), "no audio block from the private PulseAudio server"
        t_play = time.monotonic()
        at_play = count[0]
        server.play(signal, rate_hz, sink=sink)
        # the monitor delivers in real time, late under load: wait for the frames, not a time
        needed = at_play + len(signal) + int(0.4 * rate_hz)
        while count[0] < needed and time.monotonic() - t_play < 30:
            time.sleep(0.02)
    return np.concatenate(blocks)


def test_private_pulse_records_sample_exact(pulse_server):
    rate = 96000
    rng = np.random.default_rng(1)
    # 24-bit noise in the top of int32: the path is exact, so the recording is too.
    ref = rng.integers(-(2**22), 2**22, size=(rate // 4, 2), dtype=np.int32) << 8
    rec = record_while_playing(pulse_server, ref, rate, 2)
    off = best_offset(rec, ref)
    np.testing.assert_array_equal(rec[off : off + len(ref)], ref)
    assert pulse_server.env["PULSE_SERVER"].startswith("unix:/tmp/")


def test_private_pulse_8ch_192k(pulse_server_8ch):
    rate = 192000
    rng = np.random.default_rng(2)
    ref = rng.integers(-(2**22), 2**22, size=(rate // 8, 8), dtype=np.int32) << 8
    rec = record_while_playing(pulse_server_8ch, ref, rate, 8, sink="vsink8")
    off = best_offset(rec, ref)
    np.testing.assert_array_equal(rec[off : off + len(ref)], ref)
