"""Access copies from the window (pytest-qt, offscreen): per take in Review and Sign-off with a
progress bar, the window never waiting and the copy made at nice 10 in a process of its own;
one red line for a master that fails verification; copies made by themselves after the bench's
QC or after sign-off as the settings say; the Delivery settings, saved and upgraded."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer

from app.main import MainWindow
from metadata.catalogue import database as catalogue
from metadata.formats import premis
from metadata.settings import SETTINGS_VERSION, load_settings, save_settings
from tests.review.takes import make_audio_take


@pytest.fixture(autouse=True)
def _qsettings(tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, tmp_path):
    made = []

    def make(auto="off", profiles=("access",)):
        s = load_settings()
        s.library = str(tmp_path / "lib")
        s.audio.device = "demo"
        s.video.device = ""
        s.mode = "audio"
        s.delivery.auto_derive = auto
        s.delivery.profiles = list(profiles)
        w = MainWindow(s)
        w.review.show_error_boxes = False
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.bench.confirm = lambda text: True
        w.close()
    catalogue.dispose_all()


@pytest.fixture
def library(tmp_path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    return lib


class _Watch:
    """The window's event loop, ticking every 20 ms while a copy is made: the longest gap
    between ticks, and the nice value of the process that makes the copy."""

    def __init__(self):
        self.last = time.monotonic()
        self.longest_s = 0.0
        self.child_nice: set[int] = set()
        self.me = psutil.Process()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.monotonic()
        self.longest_s = max(self.longest_s, now - self.last)
        self.last = now
        for child in self.me.children():
            try:
                if any("spawn" in part for part in child.cmdline()):
                    self.child_nice.add(child.nice())
            except psutil.Error:
                continue

    def stop(self) -> None:
        self.timer.stop()


def test_review_makes_a_takes_access_copy_without_the_window_waiting(window, qtbot, library):
    w = window()
    take = make_audio_take(library, "REEL-001")
    w.review_take(take.directory)
    qtbot.waitUntil(lambda: w.review.model is not None, timeout=20000)
    panel = w.review.derive_panel
    assert panel.take_dir == take.directory and panel.button.isEnabled()
    assert panel.label.text() == ""  # no copy yet
    watch = _Watch()
    fractions = []
    w.delivery.changed.connect(lambda s: fractions.append(s.fraction))
    qtbot.mouseClick(panel.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.bar.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: "MD5" in panel.label.text(), timeout=60000)
    watch.stop()
    copy = take.file(".access.mp3")
    assert copy.is_file() and take.file(".access.mp3.md5").is_file()
    text = panel.label.text()
    assert text.startswith(f"access: {copy}") and "MD5 ok" in text
    assert f"{copy.stat().st_size / 1e6:.1f} MB" in text
    assert not panel.bar.isVisible()
    assert w.delivery_status.label.text() == f"REEL-001_t01 (access): {text.split(': ', 1)[1]}"
    assert watch.child_nice == {10}, watch.child_nice  # made by the spawned process at nice 10
    assert watch.longest_s < 0.5, watch.longest_s  # the window kept drawing throughout
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < f < 1 for f in fractions)  # the bar moved between start and end
    assert [e.type for e in premis.read_events(take.premis)].count("creation") == 1
    assert len(catalogue.list_derivatives(library=library)) == 1
    # asked again while nothing runs: a new copy; a take reopened shows the one made
    w.review.close_take()
    assert not panel.button.isEnabled()
    w.review_take(take.directory)
    qtbot.waitUntil(lambda: w.review.model is not None, timeout=20000)
    assert "MD5 ok" in panel.label.text()


def test_a_master_failing_its_md5_is_one_red_line_and_no_copy(window, qtbot, library):
    w = window()
    take = make_audio_take(library, "REEL-002")
    master = take.master("audio")
    data = bytearray(master.read_bytes())
    data[len(data) // 3] ^= 0x01
    master.write_bytes(bytes(data))
    w.review_take(take.directory)
    qtbot.waitUntil(lambda: w.review.model is not None, timeout=20000)
    panel = w.review.derive_panel
    panel.button.click()
    qtbot.waitUntil(lambda: "fails its MD5" in panel.label.text(), timeout=60000)
    text = panel.label.text()
    assert "\n" not in text and text.startswith("access: REEL-002_t01.wav fails its MD5")
    assert "#e57373" in panel.label.styleSheet()
    assert not panel.bar.isVisible()
    assert not take.file(".access.mp3").exists()
    assert not list(take.directory.glob("*.tmp*"))


def test_signoff_tab_copy_of_the_selected_take_and_after_an_approval(window, qtbot, library):
    w = window(auto="after_signoff")
    first = make_audio_take(library, "REEL-003")
    second = make_audio_take(library, "REEL-004")
    third = make_audio_take(library, "REEL-005")
    w.tabs.setCurrentWidget(w.queue)
    qtbot.waitUntil(lambda: w.queue.table.rowCount() == 3, timeout=20000)
    panel = w.queue.derive_panel
    assert not panel.button.isEnabled()  # nothing selected
    ids = w.queue.take_ids_in_order()
    w.queue.table.selectRow(ids.index("REEL-003_t01"))
    assert panel.take_dir == first.directory
    panel.button.click()
    qtbot.waitUntil(lambda: "MD5 ok" in panel.label.text(), timeout=60000)
    assert first.file(".access.mp3").is_file()

    # a rejection makes nothing; an approval makes the copy by itself
    for take, decision in ((second, "rejected"), (third, "approved")):
        w.queue.table.selectRow(w.queue.take_ids_in_order().index(take.stem))
        dlg = w.queue.sign_selected()
        dlg.name.setText("S. Upervisor")
        (dlg.approve_radio if decision == "approved" else dlg.reject_radio).setChecked(True)
        with qtbot.waitSignal(w.queue.take_signed, timeout=20000):
            dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
        if decision == "rejected":
            qtbot.wait(300)
            assert not w.delivery.busy() and not take.file(".access.mp3").exists()
            qtbot.waitUntil(lambda t=take: t.stem not in w.queue.take_ids_in_order(), timeout=20000)
    qtbot.waitUntil(lambda: third.file(".access.mp3.md5").exists(), timeout=60000)
    qtbot.waitUntil(lambda: "MD5 ok" in w.delivery_status.label.text(), timeout=10000)
    assert w.delivery_status.label.text().startswith("REEL-005_t01 (access): ")
    assert not second.file(".access.mp3").exists()


def test_a_bench_take_gets_its_copy_after_qc_when_the_settings_say(window, qtbot):
    """A real take from the demo deck, QC'd by the bench; with ``after_qc`` its access copy
    follows by itself (shown in the status bar); with ``off`` none is made."""
    w = window(auto="after_qc")
    bench = w.bench
    qtbot.keyClicks(bench.setup.item_id, "AUTO-1")
    bench.record()
    qtbot.waitUntil(lambda: bench.controller.elapsed_s() >= 1.5, timeout=20000)
    with qtbot.waitSignal(bench.takeFinished, timeout=60000) as got:
        bench.request_stop()
    outcome = got.args[0]
    copy = outcome.take_dir / "AUTO-1_t01.access.mp3"
    assert outcome.verdict in ("pass", "warn"), outcome  # the demo deck plays clean programme
    qtbot.waitUntil(lambda: "MD5 ok" in w.delivery_status.label.text(), timeout=60000)
    assert copy.is_file()
    assert w.delivery_status.label.text().startswith(f"AUTO-1_t01 (access): {copy}")
    # a failing take waits for a person; with the setting off, nothing by itself
    assert w.delivery.after_qc(replace(outcome, verdict="fail")) == []
    w.bench.setup.delivery.auto.setCurrentIndex(w.bench.setup.delivery.auto.findData("off"))
    assert w.settings.delivery.auto_derive == "off"
    assert w.delivery.after_qc(outcome) == []
    assert not w.delivery.busy()


def test_the_delivery_box_saves_the_settings(window, qtbot, fresh_settings):
    w = window()
    box = w.bench.setup.delivery
    assert [box.auto.itemData(i) for i in range(box.auto.count())] == [
        "off",
        "after_qc",
        "after_signoff",
    ]
    box.auto.setCurrentIndex(box.auto.findData("after_signoff"))
    box.profile_boxes["web"].setChecked(True)
    box.profile_boxes["access"].setChecked(False)
    box.profile_boxes["web"].setChecked(False)  # the last one stays: one profile at least
    assert box.profile_boxes["web"].isChecked()
    w.bench.save_settings()
    saved = load_settings()
    assert saved.delivery.auto_derive == "after_signoff"
    assert saved.delivery.profiles == ["web"]
    assert w.delivery.profiles() == ["web"]


def test_settings_upgrade_round_trip_and_bad_values(fresh_settings):
    fresh_settings.parent.mkdir(parents=True)
    fresh_settings.write_text('version = 2\nlibrary = "/data/lib"\n[audio]\ndevice = "pulse"\n')
    s = load_settings()
    assert s.version == SETTINGS_VERSION >= 3  # 4 adds [deck]
    assert (s.delivery.auto_derive, s.delivery.profiles) == ("off", ["access"])
    assert s.library == "/data/lib" and s.audio.device == "pulse"
    s.delivery.auto_derive = "after_qc"
    s.delivery.profiles = ["access", "/srv/lab/vhs.toml"]
    save_settings(s)
    assert "[delivery]" in fresh_settings.read_text()
    assert load_settings() == s
    fresh_settings.write_text(
        'version = 3\n[delivery]\nauto_derive = "sometimes"\nprofiles = ["web", 7, "", "web"]\n'
    )
    s = load_settings()
    assert (s.delivery.auto_derive, s.delivery.profiles) == ("off", ["web"])
    fresh_settings.write_text('version = 3\n[delivery]\nprofiles = "web"\n')
    assert load_settings().delivery.profiles == ["web"]
    fresh_settings.write_text("version = 3\ndelivery = 5\n")
    assert load_settings().delivery.profiles == ["access"]


def test_progress_never_re_lays_out_the_window(window, qtbot, library):
    """Progress comes ten times a second, maybe while a take records: after the bar appears,
    its updates ask for no new layout."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.delivery import DeriveState

    w = window()
    qtbot.waitExposed(w)
    take = make_audio_take(library, "REEL-006")
    state = DeriveState(take.directory, "access", "running", 0.0, "starting")
    w.delivery.changed.emit(state)  # the status bar shows it: its one layout
    qtbot.wait(300)
    relayouts = []
    # the row and what holds it (a new layout of the row climbs through these to the window);
    # other widgets of a window just shown may still settle on a busy machine
    watched = {id(w.delivery_status), id(w.statusBar())}

    class Probe(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.LayoutRequest and id(obj) in watched:
                relayouts.append(type(obj).__name__)
            return False

    probe = Probe()
    QApplication.instance().installEventFilter(probe)
    try:
        for i in range(1, 20):
            state.fraction, state.message = i / 20, f"encoding {i}"
            w.delivery.changed.emit(state)
            QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(probe)
    assert w.delivery_status.bar.value() == 950
    assert relayouts == [], relayouts[:10]


def test_an_approval_in_review_makes_the_copy_when_the_settings_say(window, qtbot, library):
    w = window(auto="after_signoff", profiles=("web",))
    take = make_audio_take(library, "REEL-008")
    w.review_take(take.directory)
    qtbot.waitUntil(lambda: w.review.model is not None, timeout=20000)
    dlg = w.review._signoff()
    dlg.name.setText("S. Upervisor")
    dlg.approve_radio.setChecked(True)
    with qtbot.waitSignal(w.review.take_signed, timeout=20000):
        dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    panel = w.review.derive_panel
    qtbot.waitUntil(lambda: "MD5 ok" in panel.label.text(), timeout=60000)
    assert panel.label.text().startswith(f"web: {take.file('.web.m4a')}")  # the web profile
    assert not take.file(".access.mp3").exists()
