"""The private PulseAudio server records exactly what is played into its null sink."""

import threading
import time

import numpy as np
import sounddevice as sd


def record_while_playing(server, signal, rate_hz, channels, sink="vsink"):
    """Open a PortAudio input on 'pulse', wait for its first block, play, keep 0.3 s after."""
    blocks = []
    first = threading.Event()

    def callback(indata, frames, time_info, status):
        blocks.append(indata.copy())
        first.set()

    with sd.InputStream(
        samplerate=rate_hz, channels=channels, dtype="int32", device="pulse", callback=callback
    ):
        assert first.wait(10), "no audio block from the private PulseAudio server"
        server.play(signal, rate_hz, sink=sink)
        time.sleep(0.3)
    return np.concatenate(blocks)


def best_offset(rec, ref):
    corr = np.correlate(rec[:, 0].astype(np.float64), ref[:, 0].astype(np.float64), "valid")
    return int(np.argmax(np.abs(corr)))


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
