"""The demo deck: a pure, block-independent program with faults exactly where it says."""

import time

import numpy as np
import pytest

from capture.backends import open_audio_input
from capture.demo import DEMO_CYCLE_S, DEMO_FAULTS, ProgramLoop, demo_program, program_loop
from metadata.errors import HeadblockError

RATE = 48000


def fault(kind):
    return next(f for f in DEMO_FAULTS if f.kind == kind)


def rms_db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def test_block_size_does_not_change_the_signal():
    whole = demo_program(RATE, 2, 1000, 20000, seed=3)
    parts = np.concatenate([demo_program(RATE, 2, s, 997, seed=3) for s in range(1000, 21000, 997)])
    np.testing.assert_array_equal(parts[:20000], whole)
    assert not np.array_equal(
        demo_program(RATE, 2, 0, 4800, seed=4), demo_program(RATE, 2, 0, 4800)
    )


def test_faults_at_their_times_and_nowhere_else():
    x = demo_program(RATE, 2, 0, int(DEMO_CYCLE_S * RATE))
    assert x.dtype == np.float32 and np.abs(x).max() <= 1.0
    d = fault("dropout")
    a, b = int((d.start_s + 0.01) * RATE), int((d.end_s - 0.01) * RATE)
    before = rms_db(x[a - int(0.2 * RATE) : a - int(0.05 * RATE), 0])
    assert before - rms_db(x[a:b, 0]) > 30
    c = int(round(fault("click").start_s * RATE))
    assert x[c, 0] == np.float32(0.9) and abs(x[c - 1, 0]) < 0.5 and abs(x[c + 1, 0]) < 0.5
    k = fault("clipping")
    clip = np.abs(x) >= 1.0
    inside = np.zeros(len(x), bool)
    inside[int(k.start_s * RATE) : int(k.end_s * RATE)] = True
    assert clip[inside].sum() > 0.02 * inside.sum() * 2
    assert not clip[~inside].any()
    # program level is tape-like: around -30 dBFS RMS, hiss underneath
    assert -40 < rms_db(x[: 3 * RATE, 0]) < -20


def test_program_repeats_every_cycle():
    n = int(DEMO_CYCLE_S * RATE)
    for start_s in (0.5, 1.5, 4.06, 9.0, 15.1):
        k = int(start_s * RATE)
        a = demo_program(RATE, 1, k, 4800)
        b = demo_program(RATE, 1, n + k, 4800)
        assert np.array_equal(a, b)
    # across the join: no step bigger than the program's own sample-to-sample changes
    join = demo_program(RATE, 2, n - 2400, 4800)
    steps = np.abs(np.diff(join[:, 1]))
    assert steps[2399] < 5 * np.median(steps) + 1e-3


def test_program_loop_gives_the_program():
    loop = ProgramLoop(RATE, 2, seed=3)
    n = int(DEMO_CYCLE_S * RATE)
    for start, count in ((0, 480), (RATE - 100, 300), (n - 1000, 5000), (3 * n + 17, 9000)):
        assert np.array_equal(loop.block(start, count), demo_program(RATE, 2, start, count, 3))
    assert program_loop(RATE, 2, 3) is program_loop(RATE, 2, 3)


def test_demo_input_is_paced_in_real_time():
    inp = open_audio_input("demo", 96000, 2, 24)
    with inp:
        assert inp.wait_first_block(5)
        t0, f0 = time.monotonic(), inp.stats().frames_received
        time.sleep(1.0)
        rate = (inp.stats().frames_received - f0) / (time.monotonic() - t0)
    assert 80000 < rate < 112000


def test_demo_take_has_the_faults_at_their_program_times(tmp_path):
    from capture.audio_take import AudioTake, AudioTakeSettings

    inp = open_audio_input("demo", 48000, 2, 24)
    inp.start()
    time.sleep(0.3)  # armed for a while: the take still starts at the head of the program
    take = AudioTake(
        AudioTakeSettings(device="demo", item="FAULTS", library=tmp_path, rate_hz=48000,
                          seconds=4.3, qc=False),
        input=inp,
    )  # fmt: skip
    paths = take.start()
    assert take.wait(30)
    inp.stop()
    import soundfile as sf

    audio, _ = sf.read(str(paths.master("audio")), dtype="float32")
    d = fault("dropout")
    a, b = int((d.start_s + 0.01) * RATE), int((d.end_s - 0.01) * RATE)
    assert rms_db(audio[a - int(0.2 * RATE) : a - int(0.05 * RATE), 0]) - rms_db(audio[a:b, 0]) > 30


def test_demo_deck_refuses_an_odd_rate_with_one_clear_line():
    with pytest.raises(HeadblockError, match="plays at 44100, 48000.* Hz, not 12345"):
        open_audio_input("demo", 12345, 2, 24)
