"""Capture from IN to OUT: the simulated deck (Sony 9-pin on a pseudo-terminal) drives a take
of the demo deck."""

from __future__ import annotations

import threading
import time

import pytest

from capture.audio_input import DemoInput
from capture.audio_take import AudioTake, AudioTakeSettings
from capture.deck.sony9pin import Deck, DeckError
from capture.deck.transfer import (
    OUT_REASON,
    TransferPlan,
    capture_in_to_out,
    minus_seconds,
)
from metadata.errors import HeadblockError
from tests.capture.helpers import log_events
from tests.fixtures.deck import SimulatedDeck

RATE = 48000


def test_preroll_arithmetic_and_plan_checks():
    assert minus_seconds("01:00:10:12", 5) == "01:00:05:12"
    assert minus_seconds("00:00:03:00", 5) == "00:00:00:00"
    assert minus_seconds("00:01:05;00", 5) == "00:01:00;02"  # a frame drop-frame skips
    assert minus_seconds("00:10:05;00", 5) == "00:10:00;00"  # every tenth minute keeps it
    assert TransferPlan("01:00:10:00", "01:00:20:00", preroll_s=3).cue_tc == "01:00:07:00"
    with pytest.raises(HeadblockError, match="is not after"):
        TransferPlan("01:00:10:00", "01:00:10:00")


def _take(tmp_path, item="DK001"):
    source = DemoInput(rate_hz=RATE, channels=2, bits=24)
    source.start()
    settings = AudioTakeSettings(device="demo", item=item, library=tmp_path, rate_hz=RATE, qc=False)
    return AudioTake(settings, input=source), source


@pytest.mark.slow
def test_capture_from_in_to_out(tmp_path):
    with SimulatedDeck("01:00:00:00", fps="25", wind_speed=40) as sim:
        take, source = _take(tmp_path)
        plan = TransferPlan("01:00:20:00", "01:00:21:00", preroll_s=1, poll_s=0.005)
        events = []
        try:
            with Deck(sim.port) as deck:
                started = time.monotonic()
                outcome = capture_in_to_out(
                    deck, take, plan, on_event=lambda n, f: events.append(n), timeout_s=30
                )
        finally:
            source.stop()
        assert outcome.complete and outcome.reason == OUT_REASON and outcome.error is None
        assert outcome.in_reached_at >= "01:00:20:00"
        assert "01:00:20:00" <= outcome.started_at <= "01:00:20:12"  # an armed input: at once
        assert "01:00:21:00" <= outcome.stopped_at <= "01:00:21:05"
        assert take.result is not None and take.result.fixity_ok
        started_s = int(outcome.started_at[6:8]) + int(outcome.started_at[9:]) / 25
        assert abs(take.result.record.duration_s - (21.0 - started_s)) < 0.25
        assert time.monotonic() - started < 8
        assert events[:4] == ["deck_cue", "deck_cued", "deck_play", "deck_in"]
        # cue to IN minus pre-roll, play, and the deck stopped once the take ended
        transport = [b for b in sim.received if b[0] & 0xF0 == 0x20]
        assert transport[0] == bytes([0x24, 0x31, 0x00, 0x19, 0x00, 0x01, 0x6F])
        assert transport[1][:2] == bytes([0x20, 0x01]) and transport[-1][:2] == bytes([0x20, 0x00])
        assert sim.transport == "stop"
        logged = log_events(take.paths.directory, "deck_transfer")[0]
        assert logged.level == "INFO" and logged.fields["cue_tc"] == "01:00:19:00"
        assert log_events(take.paths.directory, "take_stop")[0].fields["reason"] == OUT_REASON


@pytest.mark.slow
def test_a_deck_lost_during_the_take_keeps_what_was_captured(tmp_path):
    with SimulatedDeck("02:00:00:00", fps="25", wind_speed=40) as sim:
        take, source = _take(tmp_path, "DK002")
        plan = TransferPlan("02:00:01:00", "02:10:00:00", preroll_s=1)
        try:
            with Deck(sim.port, timeout_s=0.2) as deck:
                threading.Timer(1.5, setattr, (sim, "mode", "silent")).start()
                outcome = capture_in_to_out(deck, take, plan, timeout_s=30)
        finally:
            source.stop()
        assert not outcome.complete and outcome.reason.startswith("deck lost:")
        assert "no answer within 0.2 s" in outcome.error
        assert take.result is not None and take.result.fixity_ok
        assert 0.3 < take.result.record.duration_s < 2.0
        assert log_events(take.paths.directory, "deck_transfer")[0].level == "WARN"


def test_no_tape_or_a_silent_deck_before_in_leaves_no_take(tmp_path):
    with SimulatedDeck("01:00:00:00") as sim:
        sim.cassette_in = False
        take, source = _take(tmp_path, "DK003")
        try:
            with Deck(sim.port, timeout_s=0.2) as deck:
                with pytest.raises(DeckError, match="no tape in the deck"):
                    capture_in_to_out(deck, take, TransferPlan("01:00:01:00", "01:00:02:00"))
                sim.cassette_in = True
                sim.mode = "silent"
                with pytest.raises(DeckError, match="no answer"):
                    capture_in_to_out(deck, take, TransferPlan("01:00:01:00", "01:00:02:00"))
        finally:
            source.stop()
        assert take.paths is None and not (tmp_path / "DK003").exists()


def test_a_deck_that_does_not_roll(tmp_path):
    with SimulatedDeck("01:00:00:00", wind_speed=40) as sim:
        take, source = _take(tmp_path, "DK004")
        sim_answer = sim._answer

        def no_play(command, data):  # acknowledges play but stays parked
            reply = sim_answer(command, data)
            if command == (0x20, 0x01):
                sim.transport = "stop"
            return reply

        sim._answer = no_play
        plan = TransferPlan("01:00:02:00", "01:00:04:00", preroll_s=1, stall_s=0.5)
        try:
            with Deck(sim.port) as deck, pytest.raises(DeckError, match="not rolling"):
                capture_in_to_out(deck, take, plan)
        finally:
            source.stop()
        assert take.paths is None


@pytest.mark.slow
def test_capture_audio_with_deck_from_the_command_line(tmp_path):
    from tests.capture.helpers import only_take_dir, spawn

    with SimulatedDeck("05:00:00:00", fps="25", wind_speed=40) as sim:
        args = ["capture", "audio", "--device", "demo", "--rate", "48000", "--item", "DK010",
                "--library", str(tmp_path), "--no-qc", "--deck", sim.port,
                "--in", "05:00:10:00", "--out", "05:00:10:18", "--preroll", "1"]  # fmt: skip
        proc = spawn(args)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "cueing the deck to 05:00:09:00" in err and "(deck out point)" in err
        take_dir = only_take_dir(tmp_path, "DK010")
        assert out.strip() == str(take_dir)
        duration = log_events(take_dir, "take_stop")[0].fields["duration_s"]
        transfer = log_events(take_dir, "deck_transfer")[0].fields
        assert transfer["in_reached_at"] >= "05:00:10:00"
        started_s = int(transfer["started_at"][6:8]) + int(transfer["started_at"][9:]) / 25
        assert abs(duration - (10.72 - started_s)) < 0.25  # from the take's start to OUT

        sim.mode = "silent"
        proc = spawn([*args[:7], "DK011", *args[8:], "--deck-timeout", "0.2"])
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and err.strip().endswith("no answer within 0.2 s")
        assert "Traceback" not in err and not (tmp_path / "DK011").exists()


def test_deck_options_are_checked_before_anything_opens(tmp_path, capsys):
    from headblock.cli import main

    base = ["capture", "audio", "--device", "demo", "--item", "DK020", "--library", str(tmp_path)]
    assert main([*base, "--in", "01:00:00:00"]) == 2
    assert "--in and --out need --deck PORT" in capsys.readouterr().err
    assert main([*base, "--deck", "/dev/null", "--in", "01:00:00:00"]) == 2
    assert "--deck needs --in TC and --out TC" in capsys.readouterr().err
    assert main([*base, "--deck", "/dev/null", "--in", "01:00:00:00", "--out", "00:59:00:00"]) == 2
    assert "is not after" in capsys.readouterr().err
    assert main([*base, "--deck", "/dev/null", "--in", "1:00", "--out", "01:00:01:00"]) == 2
    assert "not a timecode" in capsys.readouterr().err
    assert not (tmp_path / "DK020").exists()


@pytest.mark.slow
def test_capture_video_with_deck_from_the_command_line(tmp_path):
    from tests.capture.helpers import only_take_dir, spawn

    with SimulatedDeck("05:00:00:00", fps="25", wind_speed=40) as sim:
        proc = spawn(
            ["capture", "video", "--device", "demo:pal", "--item", "DV001",
             "--library", str(tmp_path), "--no-qc", "--deck", sim.port,
             "--in", "05:00:10:00", "--out", "05:00:10:18", "--preroll", "1"]
        )  # fmt: skip
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        take_dir = only_take_dir(tmp_path, "DV001")
        stop = log_events(take_dir, "take_stop")[0].fields
        transfer = log_events(take_dir, "deck_transfer")[0].fields
        assert stop["reason"] == OUT_REASON and stop["outcome"] == "complete"
        assert transfer["in_reached_at"] >= "05:00:10:00"
        # the take ran from the moment it started to OUT (the video input opens after IN)
        started_s = int(transfer["started_at"][6:8]) + int(transfer["started_at"][9:]) / 25
        assert abs(stop["duration_s"] - (10.72 - started_s)) < 0.3
        assert sim.transport == "stop"
