"""The bench window driven as a technician would: demo deck, the virtual PulseAudio device."""

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.main import MainWindow
from metadata.settings import Settings, load_settings


def _settings(tmp_path, device="demo") -> Settings:
    s = load_settings()
    s.library = str(tmp_path / "lib")
    s.audio.device = device
    s.audio.rate_hz = 96000
    s.audio.bits = 24
    s.audio.channels = 2
    s.video.device = ""
    s.mode = "audio"
    return s


@pytest.fixture
def window(qtbot, tmp_path):
    windows = []

    def make(device="demo", **changes):
        s = _settings(tmp_path, device)
        for k, v in changes.items():
            setattr(s, k, v)
        w = MainWindow(s)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.bench.confirm = lambda text: True
        w.close()


def _wait_state(qtbot, bench, state, timeout_s=20):
    qtbot.waitUntil(lambda: bench.controller.state == state, timeout=int(timeout_s * 1000))


def test_record_a_take_on_the_demo_deck(window, qtbot, tmp_path):
    w = window("demo")
    bench = w.bench
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == [
        "Bench",
        "Review",
        "Sign-off",
        "Items",
        "Dashboard",
    ]
    setup = bench.setup
    # the form
    qtbot.keyClicks(setup.item_id, "DEMO-7")
    setup.preset.setCurrentIndex(setup.preset.findData("Cassette, Dolby B"))
    setup._apply_preset(setup.preset.currentIndex())
    qtbot.keyClicks(setup.technician, "Ada")
    qtbot.keyClicks(setup.deck, "Nakamichi CR-7")
    assert "DEMO-7_t01" in bench.transport.take_label.text()  # the take number before it starts
    # arm: meters move, nothing is written
    qtbot.mouseClick(bench.transport.arm_button, Qt.LeftButton)
    _wait_state(qtbot, bench, "armed")
    qtbot.waitUntil(lambda: max(bench.meters.peak_hold_dbfs()) > -40, timeout=10000)
    assert not (tmp_path / "lib" / "DEMO-7").exists()
    # space bar: record; again: stop
    qtbot.keyClick(w, Qt.Key_Space)
    _wait_state(qtbot, bench, "recording")
    assert bench.controller.take_paths.stem == "DEMO-7_t01"
    qtbot.waitUntil(lambda: bench.controller.elapsed_s() >= 2.0, timeout=15000)
    assert bench.transport.elapsed_label.text().startswith("00:00:0")
    progress, proofs = [], []
    bench.controller.afterTakeProgress.connect(lambda f, m: progress.append((f, m)))
    bench.controller.proofFinished.connect(proofs.append)
    qtbot.keyClick(w, Qt.Key_Space)
    with qtbot.waitSignal(bench.takeFinished, timeout=60000) as blocker:
        pass
    outcome = blocker.args[0]
    assert outcome.error is None
    # live QC: the verdict at Stop, from the take itself, no QC pass over the file after it
    assert outcome.verdict in ("pass", "warn", "fail")
    assert not any(m.startswith("QC") for _, m in progress)
    assert bench.last_take.verdict.text() == outcome.verdict.upper()
    # then the master is read back for its fixity, with the bar, which goes with the result
    if outcome.proof_pending:
        qtbot.waitUntil(lambda: bool(proofs), timeout=30000)
    assert all(0 <= f <= 1 for f, _ in progress)
    qtbot.waitUntil(lambda: not bench.last_take.progress.isVisible(), timeout=5000)
    assert not outcome.proof_pending or "Fixity verified" in bench.last_take.summary.text()
    assert bench.last_take.open_button.isEnabled()
    take_dir = tmp_path / "lib" / "DEMO-7" / "DEMO-7_t01"
    assert outcome.take_dir == take_dir
    qc = json.loads((take_dir / "DEMO-7_t01.qc.json").read_text())
    assert qc["verdict"] == outcome.verdict
    assert bench.last_take.events.count() == min(len(qc["events"]), 8) + (len(qc["events"]) > 8)
    # the form went into the take's metadata
    log = (take_dir / "DEMO-7_t01.log").read_text()
    assert "Nakamichi CR-7" in log and "Dolby B" in log
    # still armed after the take, next take number shown
    assert bench.controller.state == "armed"
    assert "DEMO-7_t02" in bench.transport.take_label.text()


def test_settings_persist_between_windows(window, qtbot, fresh_settings):
    w = window("demo")
    setup = w.bench.setup
    qtbot.keyClicks(setup.item_id, "KEEP-1")
    qtbot.keyClicks(setup.technician, "Bo")
    setup.rate.setCurrentIndex(setup.rate.findData(48000))
    w.close()
    assert (fresh_settings.parent / "window.ini").read_text().count("geometry") == 1
    saved = load_settings()
    assert saved.item == "KEEP-1" and saved.meta.get("technician") == "Bo"
    assert saved.audio.rate_hz == 48000
    w2 = window("demo", item=saved.item, meta=saved.meta)
    w2.bench.setup.load_settings(saved)
    assert w2.bench.setup.item_id.text() == "KEEP-1"
    assert w2.bench.setup.technician.text() == "Bo"
    assert w2.bench.setup.rate.currentData() == 48000


def test_long_take_asks_before_stopping(window, qtbot):
    w = window("demo", item="LONG-1", confirm_stop_after_min=0.0)
    bench = w.bench
    bench.controller.qc_after_take = False
    asked = []
    bench.confirm = lambda text: asked.append(text) or False
    bench.record()
    _wait_state(qtbot, bench, "recording")
    qtbot.waitUntil(lambda: bench.controller.elapsed_s() > 0.3, timeout=10000)
    bench.request_stop()
    assert asked and "Stop the take" in asked[0]
    assert bench.controller.state == "recording"  # "No" keeps recording
    bench.confirm = lambda text: True
    bench.request_stop()
    _wait_state(qtbot, bench, "idle", 30)


def test_invalid_item_refuses_to_record(window, qtbot, tmp_path):
    w = window("demo", item="bad id")
    w.bench.record()
    assert w.bench.controller.state == "idle"
    assert w.bench.banner.isVisible() and "characters outside" in w.bench.banner.text()
    assert not (tmp_path / "lib").exists() or not any((tmp_path / "lib").iterdir())


def test_disk_warning_when_free_space_is_low(window, qtbot):
    w = window("demo", item="DISK-1")
    bench = w.bench
    bench.controller.qc_after_take = False
    # armed: the estimate at the configured rate (96 kHz/24-bit/2 ch = 576 kB/s)
    bench.controller.free_space = lambda path: 1_000_000_000  # ~29 min left: amber
    bench.set_armed(True)
    _wait_state(qtbot, bench, "armed")
    qtbot.waitUntil(lambda: bench.health.disk.level == "amber", timeout=5000)
    # recording: the engine's watchdog reads the injected figure (32 MiB reserve kept)
    bench.controller.free_space = lambda path: 60 * 2**20  # ~50 s left
    bench.record()
    _wait_state(qtbot, bench, "recording")
    qtbot.waitUntil(lambda: bench.health.disk.level == "red", timeout=10000)
    assert "left" in bench.health.disk.text()
    qtbot.waitUntil(lambda: bench.banner.isVisible(), timeout=10000)  # the engine's warning
    assert "disk" in bench.banner.text().lower() or "left" in bench.banner.text()
    bench.controller.stop()
    _wait_state(qtbot, bench, "armed", 30)


def test_a_take_the_engine_stops_closes_in_the_window(window, qtbot):
    w = window("demo", item="FULL-1")
    bench = w.bench
    bench.controller.qc_after_take = False
    bench.controller.free_space = lambda path: 33 * 2**20  # 1 MiB above the reserve: ~2 s
    bench.record()
    with qtbot.waitSignal(bench.controller.takeClosed, timeout=30000) as blocker:
        pass
    _wait_state(qtbot, bench, "idle")
    assert blocker.args[0].master.exists()
    assert bench.banner.isVisible() and "stopped" in bench.banner.text()


# -- the virtual PulseAudio device -----------------------------------------------------------
def _tone(amplitude, seconds, rate=96000, freq=997.0):
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t)
    return np.stack([x, x], axis=1)


def test_meters_read_a_known_level_through_pulseaudio(pulse_server, window, qtbot):
    w = window("pulse")
    bench = w.bench
    bench.set_armed(True)
    _wait_state(qtbot, bench, "armed")
    player = pulse_server.play(_tone(10 ** (-6 / 20), 3.0), 96000, block=False)
    try:
        qtbot.waitUntil(lambda: min(bench.meters.peak_hold_dbfs()) > -7.0, timeout=8000)
        qtbot.wait(600)
        for ch, hold in enumerate(bench.meters.peak_hold_dbfs()):
            assert hold == pytest.approx(-6.0, abs=0.5), f"channel {ch + 1}: {hold:.2f} dBFS"
            assert bench.meters.peak_labels[ch].text() in {f"{v / 10:.1f}" for v in range(-65, -54)}
        assert not any(c.latched for c in bench.meters.clips)
        assert bench.correlation.value == pytest.approx(1.0, abs=0.02)
    finally:
        player.wait()
    # a clipped signal latches the clip lights; a click clears them
    clipped = np.clip(_tone(1.4, 1.0), -1.0, 1.0)
    player = pulse_server.play(clipped, 96000, block=False)
    try:
        qtbot.waitUntil(lambda: all(c.latched for c in bench.meters.clips), timeout=8000)
    finally:
        player.wait()
    qtbot.wait(300)
    assert all(c.latched for c in bench.meters.clips)  # still lit after the signal ends
    qtbot.mouseClick(bench.meters.clips[0], Qt.LeftButton)
    assert not bench.meters.clips[0].latched and bench.meters.clips[1].latched


def test_record_through_pulseaudio_and_see_the_verdict(pulse_server, window, qtbot, tmp_path):
    w = window("pulse", item="PA-1")
    bench = w.bench
    # pick the device in the form, as a technician would
    bench.setup.set_audio_device("pulse")
    assert bench.setup.audio_device_value() == "pulse"
    bench.set_armed(True)
    _wait_state(qtbot, bench, "armed")
    player = pulse_server.play(_tone(0.25, 3.5), 96000, block=False)
    try:
        bench.record()
        _wait_state(qtbot, bench, "recording")
        qtbot.waitUntil(lambda: bench.controller.elapsed_s() >= 2.0, timeout=15000)
        assert bench.health.samples.text() == "Audio lost 0"
        bench.request_stop()
        with qtbot.waitSignal(bench.takeFinished, timeout=60000) as blocker:
            pass
    finally:
        player.wait()
    outcome = blocker.args[0]
    assert outcome.verdict in ("pass", "warn", "fail") and outcome.error is None
    master = Path(outcome.master)
    assert master.exists() and master.name == "PA-1_t01.wav"
    assert bench.last_take.verdict.text() == outcome.verdict.upper()


def test_video_take_on_the_demo_deck_feeds_the_scopes(window, qtbot):
    w = window("demo", item="VID-1", mode="video")
    bench = w.bench
    bench.setup.set_video_device("demo:ntsc")
    bench.setup.mode_video.setChecked(True)
    assert bench.video_row.isVisible()
    bench.controller.qc_after_take = False  # video QC is the QC suite's business; keep it short
    bench.record()
    _wait_state(qtbot, bench, "recording", 30)
    assert bench.controller.take_kind == "video"
    qtbot.waitUntil(lambda: bench.preview.image.image is not None, timeout=20000)
    qtbot.waitUntil(lambda: bench.vectorscope.image.image.max() > 0, timeout=10000)
    qtbot.waitUntil(lambda: bench.waveform_monitor.image.image is not None, timeout=10000)
    # the trace is drawn where the code values are: x 0..1, y 0..1023 (10-bit)
    shown = bench.waveform_monitor.image.mapRectToParent(
        bench.waveform_monitor.image.boundingRect()
    )
    assert shown.width() == pytest.approx(1.0) and shown.height() == pytest.approx(1024.0)
    qtbot.waitUntil(lambda: max(bench.meters.peak_hold_dbfs()) > -50, timeout=10000)
    qtbot.waitUntil(lambda: bench.health.frames.text().startswith("Video dropped"), timeout=5000)
    with qtbot.waitSignal(bench.controller.takeClosed, timeout=60000) as blocker:
        bench.controller.stop()
    assert blocker.args[0].master.suffix == ".mkv" and blocker.args[0].master.exists()


def test_closing_the_window_finishes_the_take(window, qtbot, tmp_path):
    w = window("demo", item="CLOSE-1")
    bench = w.bench
    bench.controller.qc_after_take = False
    bench.record()
    _wait_state(qtbot, bench, "recording")
    qtbot.waitUntil(lambda: bench.controller.elapsed_s() >= 0.5, timeout=10000)
    bench.confirm = lambda text: True
    w.close()
    take_dir = tmp_path / "lib" / "CLOSE-1" / "CLOSE-1_t01"
    master = take_dir / "CLOSE-1_t01.wav"
    assert master.exists() and (take_dir / "CLOSE-1_t01.wav.md5").exists()
    assert "take_stop" in (take_dir / "CLOSE-1_t01.log").read_text()


def test_an_input_that_cannot_open_is_one_clear_line(window, qtbot):
    w = window("no-such-interface-xyz")
    w.bench.set_armed(True)
    assert w.bench.controller.state == "idle"
    assert not w.bench.transport.arm_button.isChecked()
    assert w.bench.banner.isVisible()
    assert "no-such-interface-xyz" in w.bench.banner.text()
    assert "\n" not in w.bench.banner.text().strip()


def test_live_figures_never_re_lay_out_the_window(window, qtbot):
    """Meter numbers, elapsed time and health figures change many times a second; each change
    that asked for a new layout used to repaint the whole window (tab bar, set-up panel...)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.widgets.health import HealthFigures

    w = window()
    qtbot.waitExposed(w)
    bench = w.bench
    relayouts = []

    class Probe(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.LayoutRequest and obj.isWidgetType() and obj.layout():
                relayouts.append(type(obj).__name__)
            return False

    probe = Probe()
    QApplication.instance().installEventFilter(probe)
    try:
        qtbot.wait(300)  # the window's first layout settles
        relayouts.clear()
        for i in range(12):
            level = -50.0 + 4 * i
            bench.meters.update_levels(
                np.array([level, level - 7]), np.array([level - 3] * 2), 0.033
            )
            bench.transport.set_elapsed(3599.0 + i * 0.37)
            bench.health.show_figures(
                HealthFigures(samples_lost=i * 1000, last_sample_loss_at_s=i * 61.0, frames_dropped=i,
                              queue_depth=i, queue_fill=i / 12, disk_free_bytes=10**9 * (i + 1),
                              disk_time_left_s=40.0 * 60 * i, cpu_percent=8.0 * i)
            )  # fmt: skip
            QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(probe)
    assert bench.meters.rms_labels[1].text() == "-9.0"  # the figures did change
    assert "11,000" in bench.health.samples.text()
    assert relayouts == [], relayouts[:20]


def test_the_items_tab_fills_the_bench_and_opens_the_last_take_in_review(window, qtbot, tmp_path):
    """The window wires the item queue: choosing an item fills the bench's item form and
    shows the bench; "Review last take" opens that take in Review."""
    from metadata.catalogue import inventory
    from tests.review.takes import make_audio_take

    w = window("demo")
    library = Path(w.settings.library).expanduser()
    library.mkdir(parents=True, exist_ok=True)
    (tmp_path / "list.csv").write_text(
        "identifier,title,carrier,collection\nREEL-009,Brass band,open reel,Music\n"
        "REEL-010,Sermon,cassette,Oral history\n"
    )
    inventory.import_list(library, tmp_path / "list.csv")
    take = make_audio_take(library, "REEL-010")
    w.tabs.setCurrentWidget(w.items)
    qtbot.waitUntil(lambda: w.items.table.rowCount() == 2, timeout=20000)

    w.items.table.selectRow(w.items.shown_items().index("REEL-009"))
    w.items.use_button.click()
    assert w.tabs.currentWidget() is w.bench
    assert w.bench.setup.item_id.text() == "REEL-009"
    assert w.bench.setup.take_meta().title == "Brass band"

    w.tabs.setCurrentWidget(w.items)
    w.items.table.selectRow(w.items.shown_items().index("REEL-010"))
    w.items.review_button.click()
    assert w.tabs.currentWidget() is w.review
    qtbot.waitUntil(lambda: w.review.model is not None, timeout=20000)
    assert w.review.model.paths.directory == take.directory
