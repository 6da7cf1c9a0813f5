"""The deck as a window drives it (``capture.deck.remote``): its own thread reads the
simulated deck (Sony 9-pin on a pseudo-terminal), sends commands between readings, says a
deck that stops answering or answers garbage in one line and recovers, and captures from IN
to OUT with the command line's engine."""

from __future__ import annotations

import queue
import threading
import time

from capture.audio_input import DemoInput
from capture.audio_take import AudioTake, AudioTakeSettings
from capture.deck.remote import DeckRemote
from capture.deck.transfer import OUT_REASON, TransferPlan
from tests.capture.helpers import log_events
from tests.fixtures.deck import SimulatedDeck


class Seen:
    """What the remote's callbacks reported, in order."""

    def __init__(self):
        self.readings, self.problems, self.messages = [], [], []
        self.ins: queue.SimpleQueue = queue.SimpleQueue()
        self.outcomes: queue.SimpleQueue = queue.SimpleQueue()

    def remote(self, port, **kw) -> DeckRemote:
        return DeckRemote(
            port,
            on_reading=self.readings.append,
            on_problem=self.problems.append,
            on_message=self.messages.append,
            on_in=self.ins.put,
            on_transfer=self.outcomes.put,
            **kw,
        )


def _until(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_readings_commands_and_a_deck_that_fails_then_recovers():
    with SimulatedDeck("01:00:00:00", fps="25") as sim:
        seen = Seen()
        remote = seen.remote(sim.port, timeout_s=0.2, poll_s=0.05)
        remote.start()
        try:
            _until(lambda: len(seen.readings) >= 2)
            assert seen.readings[0].timecode == "01:00:00:00" and seen.readings[0].mode == "stop"
            remote.command("play")
            _until(lambda: seen.readings[-1].mode == "play")
            _until(lambda: seen.readings[-1].timecode >= "01:00:00:05")
            remote.command("stop")
            _until(lambda: "stop acknowledged" in seen.messages)
            sim.mode = "garbage"
            _until(lambda: any(p and "garbage" in p for p in seen.problems))
            sim.mode = "silent"
            _until(lambda: any(p and "no answer within 0.2 s" in p for p in seen.problems))
            count = len(seen.readings)
            sim.mode = "normal"
            _until(lambda: seen.problems[-1] is None and len(seen.readings) > count, 6)
            remote.cue("01:00:10:00")
            _until(lambda: sim.cue_complete, 6)
            _until(lambda: seen.readings[-1].timecode == "01:00:10:00")
            remote.command("eject")
            _until(lambda: seen.readings[-1].mode == "no tape")
        finally:
            remote.close()
        # one line per kind of failure, said once each, not once per reading
        lines = [p for p in seen.problems if p]
        assert len(lines) == len(set(lines)) and len(lines) <= 4


def test_a_port_that_does_not_exist_is_one_line():
    seen = Seen()
    remote = seen.remote("/dev/headblock-no-such-port")
    remote.start()
    try:
        _until(lambda: seen.problems)
        remote.command("play")
        _until(lambda: seen.messages)
    finally:
        remote.close()
    assert seen.problems[0].startswith("cannot open the deck's serial port /dev/headblock-no")
    assert "not connected" in seen.messages[0]


def test_capture_from_in_to_out_through_the_remote(tmp_path):
    with SimulatedDeck("03:00:00:00", fps="25", wind_speed=40) as sim:
        seen = Seen()
        remote = seen.remote(sim.port, poll_s=0.05)
        source = DemoInput(rate_hz=48000, channels=2, bits=24)
        source.start()
        settings = AudioTakeSettings(
            device="demo", item="DR001", library=tmp_path, rate_hz=48000, qc=False
        )
        take = AudioTake(settings, input=source)
        remote.start()
        try:
            remote.transfer(TransferPlan("03:00:10:00", "03:00:10:20", preroll_s=1, poll_s=0.005))
            at_in = seen.ins.get(timeout=15)
            take.start()
            remote.watch(take)
            assert take.wait(15)
            remote.finish(take)
            outcome = seen.outcomes.get(timeout=5)
        finally:
            remote.close()
            source.stop()
        assert at_in >= "03:00:10:00"
        assert outcome.complete and outcome.reason == OUT_REASON, outcome
        assert "03:00:10:20" <= outcome.stopped_at <= "03:00:11:00"
        assert any(r.transfer == "cueing" for r in seen.readings)
        assert any(r.transfer == "recording" for r in seen.readings)
        _until(lambda: log_events(take.paths.directory, "deck_transfer"))
        assert log_events(take.paths.directory, "deck_transfer")[0].level == "INFO"
        assert sim.transport == "stop"


def test_a_transfer_refused_before_in_leaves_no_take_and_can_be_cancelled(tmp_path):
    with SimulatedDeck("01:00:00:00", fps="25", wind_speed=2) as sim:
        seen = Seen()
        remote = seen.remote(sim.port, poll_s=0.05)
        remote.start()
        try:
            sim.cassette_in = False
            remote.transfer(TransferPlan("01:00:01:00", "01:00:02:00"))
            outcome = seen.outcomes.get(timeout=5)
            assert "no tape in the deck" in outcome.error and not outcome.complete
            sim.cassette_in = True
            remote.transfer(TransferPlan("02:00:00:00", "02:00:02:00"))  # a long wind at 2x
            _until(lambda: remote.busy and sim.transport == "cue")
            threading.Timer(0.3, remote.cancel).start()
            outcome = seen.outcomes.get(timeout=5)
            assert "cancelled" in outcome.error
            _until(lambda: sim.transport == "stop")
        finally:
            remote.close()
        assert not remote.busy and seen.ins.empty()
