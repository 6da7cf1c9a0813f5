"""Sony 9-pin deck control against a simulated deck on a real pseudo-terminal."""

from __future__ import annotations

import json
import time

import pytest

from capture.deck import sony9pin as p
from capture.deck.sony9pin import Deck, DeckError
from headblock.cli import main
from tests.fixtures.deck import SimulatedDeck


@pytest.fixture
def sim():
    with SimulatedDeck("01:00:00:00", fps="25") as deck:
        yield deck


def test_blocks_checksums_and_bcd():
    assert p.encode(0x20, 0x01) == bytes([0x20, 0x01, 0x21])
    assert p.encode(0x61 & 0xF0, 0x0C, b"\x01") == bytes([0x61, 0x0C, 0x01, 0x6E])
    assert p.encode(0x70, 0x20, bytes(range(10)))[0] == 0x7A
    cue = p.encode(*p.CUE_UP_WITH_DATA, p.timecode_bytes("01:23:45:12"))
    assert cue == bytes(
        [0x24, 0x31, 0x12, 0x45, 0x23, 0x01, (0x24 + 0x31 + 0x12 + 0x45 + 0x23 + 0x01) & 0xFF]
    )
    assert p.timecode_bytes("00:01:00;02")[0] == 0x42  # drop-frame flag, bit 6
    assert p.timecode_from_bytes(bytes([0x42, 0x80, 0x01, 0x00])) == "00:01:00;02"  # field flag
    with pytest.raises(ValueError):
        p.timecode_from_bytes(bytes([0x1A, 0, 0, 0]))
    assert p.nak_reasons(0x05) == ["unknown command", "checksum error"]


def test_line_settings(sim):
    with Deck(sim.port) as deck:
        line = deck._serial
        assert (line.baudrate, line.bytesize, line.parity, line.stopbits) == (38400, 8, "O", 1)
        assert deck.device_type() == 0x2025


def test_transport_time_and_status(sim):
    with Deck(sim.port) as deck:
        status = deck.status()
        assert status.mode == "stop" and status.standby and not status.cassette_out
        assert deck.current_time().timecode == "01:00:00:00"
        deck.play()
        time.sleep(0.45)
        status = deck.status()
        assert status.mode == "play" and status.play and status.servo_lock
        now = deck.current_time("ltc")
        assert now.source == "ltc" and "01:00:00:08" <= now.timecode <= "01:00:00:20"
        assert deck.current_time("vitc").source == "vitc"
        deck.fast_forward()
        time.sleep(0.2)
        assert deck.status().fast_forward
        assert deck.current_time().timecode > "01:00:03:00"  # 20x for 0.2 s
        deck.rewind()
        assert deck.status().mode == "rewind"
        deck.stop()
        stopped = deck.current_time().timecode
        time.sleep(0.15)
        assert deck.current_time().timecode == stopped
        deck.standby(False)
        assert not deck.status().standby
        deck.standby(True)
        assert deck.status().standby
    assert [b[:2] for b in sim.received if b[0] & 0xF0 == 0x20] == [
        bytes([0x20, c]) for c in (0x01, 0x10, 0x20, 0x00, 0x04, 0x05)
    ]


def test_cue_to_a_timecode(sim):
    with Deck(sim.port) as deck:
        deck.cue("01:00:08:10")
        deadline = time.monotonic() + 3
        while not deck.status().cue_complete and time.monotonic() < deadline:
            time.sleep(0.05)
        assert deck.status().cue_complete
        assert deck.current_time().timecode == "01:00:08:10"
        deck.play()
        assert not deck.status().cue_complete


def test_eject_then_nak_names_the_error(sim):
    with Deck(sim.port) as deck:
        deck.eject()
        assert deck.status().cassette_out and deck.status().mode == "no tape"
        with pytest.raises(DeckError, match=r"refused play \(NAK: unknown command\)"):
            deck.play()


def test_a_deck_that_stops_answering(sim):
    with Deck(sim.port, timeout_s=0.3) as deck:
        deck.play()
        sim.mode = "silent"
        started = time.monotonic()
        with pytest.raises(DeckError, match="status sense: no answer within 0.3 s"):
            deck.status()
        assert time.monotonic() - started < 1.5
        sim.mode = "normal"  # it comes back: the next command works again
        assert deck.status().play


def test_a_deck_that_answers_garbage(sim):
    sim.mode = "garbage"
    with Deck(sim.port, timeout_s=0.3) as deck:
        messages = []
        for _ in range(2):
            with pytest.raises(DeckError) as err:
                deck.play()
            messages.append(str(err.value))
        assert any("bad checksum" in m for m in messages)
        assert any("not a reply block" in m for m in messages)
        sim.mode = "normal"
        deck.stop()


def test_nak_bits_are_named(sim):
    sim.mode = "nak"
    with Deck(sim.port) as deck:
        with pytest.raises(
            DeckError, match=r"refused status sense \(NAK: checksum error, parity error\)"
        ):
            deck.status()


def test_no_such_port():
    with pytest.raises(DeckError, match="cannot open the deck's serial port /dev/nonexistent"):
        Deck("/dev/nonexistent")


def test_deck_verb(sim, capsys):
    assert main(["deck", sim.port, "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "stop"
    assert main(["deck", sim.port, "cue", "01:00:02:00", "--wait", "3"]) == 0
    assert "cued at 01:00:02:00" in capsys.readouterr().out
    assert main(["deck", sim.port, "play"]) == 0
    assert main(["deck", sim.port, "time"]) == 0
    assert capsys.readouterr().out.startswith("01:00:02:")
    assert main(["deck", sim.port, "stop"]) == 0
    assert main(["deck", sim.port, "cue"]) == 2
    assert "needs a timecode" in capsys.readouterr().err
    assert main(["deck", sim.port, "cue", "25:00:00:00"]) == 2
    assert "not a timecode" in capsys.readouterr().err
    sim.mode = "silent"
    assert main(["deck", sim.port, "play", "--timeout", "0.2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no answer within 0.2 s" in err
    assert main(["deck", "/dev/nonexistent", "status"]) == 2
