"""The clock check on a simulated device clock: late blocks that catch up are not a loss,
blocks that never come are, drift is followed, and every loss is placed in media time."""

import numpy as np
import pytest

import capture.audio_input as ai

RATE = 48000
BLOCK = 480  # 10 ms


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def monotonic(self):
        return self.t


@pytest.fixture
def sim(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(ai.time, "monotonic", clock.monotonic)

    class Sim(ai.AudioInput):
        def start(self):
            self.running = True

        def stop(self):
            self.running = False

    inp = Sim("sim", RATE, 1, 16, ring_seconds=1.0)
    inp.start()
    block = np.zeros((BLOCK, 1), np.int16)
    losses = []

    def run(seconds, *, ppm=0.0, poll_every=20):
        """Deliver blocks in real time for ``seconds`` of clock time (device clock off by
        ``ppm``), draining the ring and polling as the writer does."""
        n_blocks = int(seconds * RATE / BLOCK)
        for i in range(n_blocks):
            clock.t += BLOCK / RATE * (1 + ppm * 1e-6)
            inp._deliver(block)
            inp.ring.advance(inp.ring.available)
            if i % poll_every == 0:
                losses.extend(inp.poll_losses())

    def stall(seconds, delivered_after_s):
        """The reader stops for ``seconds``; then the server hands over what it kept
        (``delivered_after_s`` of audio) as fast as the reader takes it."""
        clock.t += seconds
        for _ in range(int(delivered_after_s * RATE / BLOCK)):
            inp._deliver(block)  # at once: the catch-up takes no clock time here
            inp.ring.advance(inp.ring.available)
        losses.extend(inp.poll_losses())

    run(1.0)
    inp.running = False  # no real-time thread to wait for in begin_take
    inp.begin_take()
    inp.running = True
    return inp, run, stall, losses


def test_clean_run_has_no_loss(sim):
    inp, run, stall, losses = sim
    run(10.0)
    assert losses == [] and inp.stats().frames_lost == 0


def test_late_reader_that_catches_up_is_not_a_loss(sim):
    inp, run, stall, losses = sim
    run(2.0)
    stall(3.0, delivered_after_s=3.0)  # everything kept by the server
    run(5.0)
    assert losses == []


def test_blocks_that_never_come_are_a_loss_at_the_stall(sim):
    inp, run, stall, losses = sim
    run(2.0)
    stall(8.0, delivered_after_s=5.5)  # the server kept 5.5 s, 2.5 s are gone
    run(5.0)
    assert len(losses) == 1
    loss = losses[0]
    assert loss.source == "clock"
    assert loss.frames_lost == pytest.approx(2.5 * RATE, abs=0.05 * RATE)
    assert loss.at_s == pytest.approx(2.0, abs=0.05)
    st = inp.stats()
    assert st.frames_lost == loss.frames_lost and st.overflows == 1
    assert st.last_loss_at_s == loss.at_s


def test_settle_waits_for_the_verdict_after_a_stall(sim):
    inp, run, stall, losses = sim
    run(2.0)
    stall(8.0, delivered_after_s=5.5)
    assert losses == [] and inp._unsettled  # the take must not end on this
    run(3.0)
    assert len(losses) == 1 and not inp._unsettled


def test_slow_drift_between_clocks_is_followed(sim):
    inp, run, stall, losses = sim
    run(600.0, ppm=300.0, poll_every=50)  # 0.18 s over 10 minutes, gradually
    assert losses == []


def test_portaudio_overflow_flag_is_counted(sim):
    inp, run, stall, losses = sim
    run(1.0)
    inp._deliver(np.zeros((BLOCK, 1), np.int16), overflow=True)
    inp.ring.advance(inp.ring.available)
    losses.extend(inp.poll_losses())
    assert [x.source for x in losses] == ["portaudio"]
    assert inp.stats().overflows == 1
