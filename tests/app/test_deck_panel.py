"""The deck on the bench (pytest-qt) against the simulated deck on a pseudo-terminal: the
transport buttons, the tape's timecode shown live, cue, capture from IN to OUT with the
command line's engine, and a deck that stops answering or answers garbage as one line, with
the window answering all the while."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.main import MainWindow
from metadata.settings import load_settings
from tests.capture.helpers import log_events
from tests.fixtures.deck import SimulatedDeck


@pytest.fixture
def deck_window(qtbot, tmp_path):
    made = []

    def make(sim: SimulatedDeck | None, port: str | None = None, **deck):
        s = load_settings()
        s.library = str(tmp_path / "lib")
        s.audio.device, s.audio.rate_hz, s.audio.channels = "demo", 48000, 2
        s.video.device, s.mode = "", "audio"
        s.deck.port = port or sim.port
        s.deck.timeout_s = 0.2
        for key, value in deck.items():
            setattr(s.deck, key, value)
        w = MainWindow(s)
        qtbot.addWidget(w)
        w.resize(1500, 900)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.bench.confirm = lambda text: True
        w.close()


def _responsive(qtbot, seconds: float) -> float:
    """The longest the GUI thread went without processing events over ``seconds``."""
    worst, last = 0.0, time.monotonic()
    end = last + seconds
    while time.monotonic() < end:
        qtbot.wait(10)
        now = time.monotonic()
        worst, last = max(worst, now - last), now
    return worst


def test_no_deck_port_no_deck_panel(qtbot, tmp_path):
    s = load_settings()
    s.library = str(tmp_path / "lib")
    w = MainWindow(s)
    qtbot.addWidget(w)
    assert w.bench.deck_panel is None and w.bench.deck is None
    w.close()


def test_transport_buttons_and_live_timecode(deck_window, qtbot):
    with SimulatedDeck("01:00:00:00", fps="25", wind_speed=40) as sim:
        w = deck_window(sim)
        panel = w.bench.deck_panel
        assert panel.isVisible() and panel.title().endswith(sim.port)
        qtbot.waitUntil(lambda: panel.timecode.text() == "01:00:00:00", timeout=5000)
        assert panel.mode.text().startswith("stop")
        qtbot.mouseClick(panel.buttons["play"], Qt.LeftButton)
        qtbot.waitUntil(lambda: panel.timecode.text() >= "01:00:00:10", timeout=5000)
        assert panel.mode.text().startswith("play") and sim.transport == "play"
        seen = {panel.timecode.text()}
        qtbot.waitUntil(lambda: seen.add(panel.timecode.text()) or len(seen) >= 4, timeout=3000)
        for name, transport in (("stop", "stop"), ("ff", "ff"), ("rewind", "rew")):
            qtbot.mouseClick(panel.buttons[name], Qt.LeftButton)
            qtbot.waitUntil(lambda t=transport: sim.transport == t, timeout=3000)
        qtbot.mouseClick(panel.buttons["standby"], Qt.LeftButton)  # on at start: now off
        qtbot.waitUntil(lambda: not sim.standby, timeout=3000)
        qtbot.keyClicks(panel.cue_field, "01:00:30:00")
        qtbot.mouseClick(panel.cue_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: panel.timecode.text() == "01:00:30:00", timeout=8000)
        assert sim.cue_complete
        panel.cue_field.setText("25:99:00:00")
        qtbot.mouseClick(panel.cue_button, Qt.LeftButton)
        assert "not a timecode" in panel.line.text()
        qtbot.mouseClick(panel.buttons["eject"], Qt.LeftButton)
        qtbot.waitUntil(lambda: panel.mode.text().startswith("no tape"), timeout=3000)


def test_a_deck_that_fails_is_one_line_and_the_window_answers(deck_window, qtbot):
    with SimulatedDeck("01:00:00:00", fps="25") as sim:
        w = deck_window(sim)
        panel = w.bench.deck_panel
        qtbot.waitUntil(lambda: panel.timecode.text() == "01:00:00:00", timeout=5000)
        for fault in ("silent", "garbage"):
            _fails_and_recovers(qtbot, sim, panel, fault)


def _fails_and_recovers(qtbot, sim, panel, fault):
    """A deck that goes silent or talks garbage: one line, a window that answers, and the
    deck read again once it is well."""
    sim.mode = fault
    expected = "no answer within 0.2 s" if fault == "silent" else "answered garbage"
    qtbot.waitUntil(lambda: expected in panel.line.text(), timeout=5000)
    assert "\n" not in panel.line.text() and "Traceback" not in panel.line.text()
    assert panel.line.text().startswith(f"deck on {sim.port}")
    assert not panel.timecode.isEnabled()
    # the deck thread waits on the line, never the window; buttons still answer
    assert _responsive(qtbot, 0.6) < 0.25
    qtbot.mouseClick(panel.buttons["play"], Qt.LeftButton)
    sim.mode = "normal"
    qtbot.waitUntil(lambda: panel.timecode.isEnabled(), timeout=6000)
    assert expected not in panel.line.text()  # the play sent meanwhile: "not connected"


def test_a_port_that_cannot_open_is_one_line(deck_window, qtbot):
    w = deck_window(None, port="/dev/headblock-no-deck")
    panel = w.bench.deck_panel
    qtbot.waitUntil(lambda: "cannot open" in panel.line.text(), timeout=5000)
    assert panel.line.text().startswith("cannot open the deck's serial port /dev/headblock-no")
    assert panel.timecode.text() == "--:--:--:--"


def test_capture_from_in_to_out_in_the_window(deck_window, qtbot, tmp_path):
    with SimulatedDeck("02:00:00:00", fps="25", wind_speed=40) as sim:
        w = deck_window(sim, preroll_s=1)
        bench, panel = w.bench, w.bench.deck_panel
        bench.controller.qc_after_take = False
        bench.setup.item_id.setText("DECK-1")
        panel.in_field.setText("02:00:10:00")
        panel.out_field.setText("02:00:11:00")
        assert panel.preroll.value() == 1
        qtbot.mouseClick(panel.transfer_button, Qt.LeftButton)
        assert panel.transferring and not panel.buttons["play"].isEnabled()
        qtbot.waitUntil(lambda: bench.controller.state == "recording", timeout=15000)
        assert "recording from 02:00:1" in panel.line.text()
        with qtbot.waitSignal(bench.deck_signals.transfer_done, timeout=20000) as done:
            pass
        outcome = done.args[0]
        assert outcome.complete, outcome
        assert "02:00:10:00" <= outcome.started_at <= "02:00:10:12"
        assert "02:00:11:00" <= outcome.stopped_at <= "02:00:11:06"
        assert panel.line.text().startswith("captured from 02:00:10")
        assert not panel.transferring and panel.buttons["play"].isEnabled()
        qtbot.waitUntil(lambda: bench.controller.state in ("idle", "armed"), timeout=10000)
        take_dir = tmp_path / "lib" / "DECK-1" / "DECK-1_t01"
        qtbot.waitUntil(lambda: bool(log_events(take_dir, "deck_transfer")), timeout=20000)
        logged = log_events(take_dir, "deck_transfer")[0]
        assert logged.level == "INFO" and logged.fields["cue_tc"] == "02:00:09:00"
        assert log_events(take_dir, "take_stop")[0].fields["reason"] == "deck out point"
        assert sim.transport == "stop"
        # what was typed is kept for the next window
        saved = load_settings()
        assert (saved.deck.in_tc, saved.deck.out_tc, saved.deck.preroll_s) == (
            "02:00:10:00", "02:00:11:00", 1,
        )  # fmt: skip


def test_transfer_refusals_are_one_line(deck_window, qtbot, tmp_path):
    with SimulatedDeck("01:00:00:00", fps="25") as sim:
        w = deck_window(sim)
        bench, panel = w.bench, w.bench.deck_panel
        bench.setup.item_id.setText("DECK-2")
        panel.in_field.setText("01:00:20:00")
        panel.out_field.setText("01:00:10:00")
        qtbot.mouseClick(panel.transfer_button, Qt.LeftButton)
        assert "OUT 01:00:10:00 is not after IN 01:00:20:00" in panel.line.text()
        panel.out_field.setText("01:00:30:00")
        sim.cassette_in = False
        qtbot.mouseClick(panel.transfer_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "no tape in the deck" in panel.line.text(), timeout=5000)
        assert not panel.transferring and bench.controller.state in ("idle", "armed")
        assert not (tmp_path / "lib" / "DECK-2").exists()
