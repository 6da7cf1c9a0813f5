"""The review view, the supervisor's queue and the sign-off dialog (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from metadata.review.marks import read_marks
from metadata.review.signoff import read_decisions, verify_signoff
from qc.runner import write_envelope
from tests.review.takes import VIDEO_EVENTS, make_audio_take, make_video_take


@pytest.fixture(autouse=True)
def _qsettings(tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


@pytest.fixture
def review(qtbot, library):
    from app.review.view import ReviewView

    view = ReviewView(library=library)
    view.show_error_boxes = False
    opened = []
    view.open_url = opened.append
    view.opened = opened
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.close_take()
    view.jobs.wait(10000)


def _key(qtbot, view, key):
    view.activateWindow()
    view.table.setFocus()
    qtbot.keyClick(view.table, key)


def test_step_through_events_and_mark_a_false_alarm(qtbot, review, audio_take):
    t0 = time.perf_counter()
    review.open_path(audio_take.directory)
    opened_s = time.perf_counter() - t0
    assert review.model is not None and opened_s < 2.0
    assert review.table.rowCount() == 3
    # the timeline: the event lane plus one envelope plot per channel
    assert len(review.timeline.plots) == 3

    _key(qtbot, review, Qt.Key.Key_N)
    assert review.current == 0 and review.cursor_s == pytest.approx(1.5)
    _key(qtbot, review, Qt.Key.Key_N)
    assert review.current == 1 and review.cursor_s == pytest.approx(2.25)
    _key(qtbot, review, Qt.Key.Key_N)
    assert review.current == 2
    _key(qtbot, review, Qt.Key.Key_N)  # past the last: stays
    assert review.current == 2
    _key(qtbot, review, Qt.Key.Key_P)
    assert review.current == 1 and review.cursor_s == pytest.approx(2.25)
    assert review.timeline.highlights[0].getRegion() == pytest.approx((2.25, 2.251))

    review.reviewer.setText("R. Viewer")
    _key(qtbot, review, Qt.Key.Key_F)  # false alarm on the click
    (mark,) = read_marks(audio_take.directory)
    assert mark["mark"] == "false_alarm" and mark["reviewer"] == "R. Viewer"
    assert mark["check"] == "click" and mark["start_s"] == 2.25 and mark["channel"] == 2
    assert review.table.item(1, 5).text() == "false alarm"
    # ... and in PREMIS, still valid against the schema
    from lxml import etree

    from metadata.formats.xmlvalidate import validate

    tree = validate(etree.parse(str(audio_take.premis)), "premis")
    text = etree.tostring(tree, encoding="unicode")
    assert "false alarm: click at 2.250 s, channel 2 [click@2250#2]" in text and "R. Viewer" in text
    # a note keeps the verdict beside it; the history keeps both marks
    review.mark_current("note", "splice at the head of side A")
    assert review.table.item(1, 5).text() == "false alarm: splice at the head of side A"
    assert [m["mark"] for m in read_marks(audio_take.directory)] == ["false_alarm", "note"]
    # the mark survives a re-open; the report shows it
    review.open_path(audio_take.directory)
    assert review.table.item(1, 5).text() == "false alarm: splice at the head of side A"
    review.report_button.click()
    qtbot.waitUntil(lambda: bool(review.opened), timeout=20000)
    assert "false alarm (R. Viewer): splice at the head of side A" in audio_take.qc_html.read_text()
    # the Sign off button opens the dialog on this take
    from app.signoff_dialog import SignoffDialog

    review.signoff_button.click()
    (dlg,) = review.findChildren(SignoffDialog)
    assert dlg.take_dir == audio_take.directory and dlg.isVisible()
    dlg.reject()
    assert audio_take.qc_pdf.read_bytes().startswith(b"%PDF")


def test_shuttle_blocks_play_both_ways():
    from capture.playback import shuttle_block

    data = np.arange(100, dtype=np.float32)[:, None]

    def read(start, count):
        return data[start : start + count]

    block, pos = shuttle_block(read, 100, 10, 8, 1)
    assert block[:, 0].tolist() == list(range(10, 18)) and pos == 18
    block, pos = shuttle_block(read, 100, 10, 4, 2)
    assert block[:, 0].tolist() == [10, 12, 14, 16] and pos == 18
    block, pos = shuttle_block(read, 100, 10, 4, -1)
    assert block[:, 0].tolist() == [9, 8, 7, 6] and pos == 6
    block, pos = shuttle_block(read, 100, 3, 4, -1)
    assert block[:, 0].tolist() == [2, 1, 0] and pos == 0
    assert shuttle_block(read, 100, 0, 4, -1)[0] is None
    assert shuttle_block(read, 100, 100, 4, 1)[0] is None


def test_video_take_frame_step_shows_the_frame(qtbot, review, video_take):
    review.open_path(video_take.directory)
    assert review.frame_panel.isVisibleTo(review)
    assert {"luma", "sat", "TOUT", "VREP", "BRNG"} <= {
        p.getAxis("left").labelText for p in review.timeline.plots
    }
    _key(qtbot, review, Qt.Key.Key_N)
    assert review.current_event()["check"] == VIDEO_EVENTS[0]["check"]
    qtbot.waitUntil(
        lambda: getattr(review, "last_frame_s", None) == pytest.approx(0.8), timeout=10000
    )
    y = review.last_planes[0]
    assert y.shape == (120, 160) and review.picture.image.image is not None
    assert y[40:48].mean() > 240  # the dropout streak of frame 20 is on screen
    _key(qtbot, review, Qt.Key.Key_Right)
    assert review.cursor_s == pytest.approx(0.84)
    qtbot.waitUntil(lambda: review.last_frame_s == pytest.approx(0.84), timeout=10000)
    assert review.last_planes[0][40:48].mean() < 240  # frame 21 has no streak
    # dragging the cursor scrubs: the frame follows, decoded off the GUI thread
    line = review.timeline.cursors[2]
    line.setValue(1.0)
    t0 = time.perf_counter()
    line.sigDragged.emit(line)
    assert time.perf_counter() - t0 < 0.5
    assert review.cursor_s == pytest.approx(1.0)
    qtbot.waitUntil(lambda: review.last_frame_s == pytest.approx(1.0), timeout=10000)


def test_open_a_bare_file_runs_qc_first(qtbot, review, tmp_path):
    pytest.importorskip("qc.runner", reason="qc.runner (run_qc) not landed yet")
    import soundfile as sf

    wav = tmp_path / "loose.wav"
    t = np.arange(48000 * 2) / 48000
    sf.write(wav, 0.3 * np.sin(2 * np.pi * 440 * t), 48000, subtype="PCM_24")
    review.open_path(wav)
    qtbot.waitUntil(lambda: review.model is not None, timeout=60000)
    assert (tmp_path / "loose.qc.json").exists()
    assert not review.progress.isVisible()


def test_queue_lists_and_sorts_and_opens_reports(qtbot, library):
    from app.queue_view import QueueView

    a1 = make_audio_take(library)
    a2 = make_audio_take(library)
    v = make_video_take(library)
    qc = json.loads(a2.qc_json.read_text())
    qc["verdict"] = "warn"
    a2.qc_json.write_text(json.dumps(qc))
    view = QueueView(library=library)
    qtbot.addWidget(view)
    opened = []
    view.open_url = opened.append
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 3, timeout=20000)
    view.sort_by("verdict")
    ids = view.take_ids_in_order()
    assert ids[-1] == "REEL-001_t02"  # warn after the two fails
    view.sort_by("take", descending=True)
    assert view.take_ids_in_order() == ["VHS-042_t01", "REEL-001_t02", "REEL-001_t01"]
    row = view.take_ids_in_order().index("REEL-001_t01")
    view.table.cellWidget(row, len(view.COLUMNS) - 1).click()  # one click: written, opened
    qtbot.waitUntil(lambda: bool(opened), timeout=20000)
    assert opened[0].toLocalFile() == str(a1.qc_html)
    # a signed take leaves the queue
    from qc.signoff import signoff

    signoff(v.directory, "S. Upervisor", "rejected")
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=20000)
    view.jobs.wait(10000)


def test_sign_off_from_the_dialog(qtbot, library):
    from app.queue_view import QueueView

    take = make_audio_take(library)
    view = QueueView(library=library)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20000)
    view.table.selectRow(0)
    dlg = view.sign_selected()
    assert dlg.reject_radio.isChecked()  # a failed verdict proposes rejection
    dlg.approve_radio.setChecked(True)
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    assert "name" in dlg.message.text()  # no name, nothing recorded
    assert not take.signoff_json.exists()
    dlg.name.setText("S. Upervisor")
    dlg.comment.setPlainText("dropout is on the original tape")
    with qtbot.waitSignal(dlg.signed, timeout=20000):
        dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    (d,) = read_decisions(take.directory)
    assert d["decision"] == "approved" and d["by"] == "S. Upervisor"
    assert d["comment"] == "dropout is on the original tape"
    assert verify_signoff(take.directory) == []
    qtbot.waitUntil(lambda: view.table.rowCount() == 0, timeout=20000)
    view.jobs.wait(10000)


def test_a_two_hour_take_opens_from_its_sidecars(qtbot, review, library):
    """7200 s of envelope and 3000 events; the master is a stub: nothing of it is read."""
    import soundfile as sf

    from metadata.take.naming import new_take_dir

    paths = new_take_dir(library, "LONG")
    sf.write(paths.master("audio"), np.zeros((480, 2)), 48000, subtype="PCM_24")
    blocks = 720_000
    peak = np.full((blocks, 2), -20.0, np.float16)
    peak[::97] = -60.0
    write_envelope(
        paths.file(".envelope.npz"),
        {
            "block_s": np.float64(0.01),
            "rate_hz": np.int64(48000),
            "offset_s": np.float64(0.0),
            "peak_dbfs": peak,
            "rms_dbfs": peak - np.float16(10),
        },
    )
    events = [
        {
            "check": ("click", "dropout", "clipping")[i % 3],
            "start_s": 1.0 + i * 2.4,
            "end_s": 1.01 + i * 2.4,
            "channel": 1 + i % 2,
            "severity": "warn",
            "value": 1.0,
            "detail": "",
        }
        for i in range(3000)
    ]
    paths.qc_json.write_text(
        json.dumps(
            {
                "file": paths.master("audio").name,
                "kind": "audio",
                "duration_s": 7200.0,
                "profile": "default",
                "verdict": "warn",
                "checks": [],
                "events": events,
                "stats": {},
            }
        )
    )
    t0 = time.perf_counter()
    review.open_path(paths.directory)
    qtbot.wait(1)  # the first paint
    opened_s = time.perf_counter() - t0
    assert review.table.rowCount() == 3000 and review.model.duration_s == 7200.0
    assert opened_s < 4.0, f"opening took {opened_s:.2f} s"  # ~0.6 s idle; margin for load
    t0 = time.perf_counter()
    for _ in range(20):
        _key(qtbot, review, Qt.Key.Key_N)
    assert review.current == 19
    assert (time.perf_counter() - t0) / 20 < 0.5
    (x0, x1), _ = review.timeline.plots[0].viewRange()
    assert x1 - x0 < 100  # zoomed on the event
    _key(qtbot, review, Qt.Key.Key_Home)
    (x0, x1), _ = review.timeline.plots[0].viewRange()
    assert (x0, x1) == pytest.approx((0, 7200))


def test_a_damaged_review_file_opens_with_a_warning_and_refuses_marks(review, audio_take):
    audio_take.review_json.write_text("{truncated")
    review.open_path(audio_take.directory)
    assert review.model is not None and review.table.rowCount() == 3
    assert "REEL-001_t01.review.json" in review.status.text()
    review.reviewer.setText("R. Viewer")
    review.select_event(0)
    assert review.mark_current("confirmed") is None
    assert "damaged" in review.status.text()
    assert audio_take.review_json.read_text() == "{truncated"  # never overwritten


def test_a_take_double_clicked_in_the_queue_opens_in_review(qtbot, library):
    from app.main import MainWindow
    from metadata.settings import load_settings

    take = make_audio_take(library)
    settings = load_settings()
    settings.library = str(library)
    settings.audio.device = "demo"
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.review.show_error_boxes = False
    window.show()
    window.tabs.setCurrentWidget(window.queue)  # shown, the queue reads the library
    qtbot.waitUntil(lambda: window.queue.table.rowCount() == 1, timeout=20000)
    table = window.queue.table
    cell = table.visualItemRect(table.item(0, 0)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert window.tabs.currentWidget() is window.review
    assert window.review.model is not None
    assert window.review.model.paths.directory == take.directory
    window.bench.confirm = lambda text: True
    window.close()
    window.queue.jobs.wait(10000)
    window.review.close_take()


def test_the_review_model_and_playback_need_no_qt(audio_take):
    """The model and the playback are the engine's: they load in a process without Qt."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from qc.review_model import load_review_model\nfrom qc.table import check_colour\n"
        "import capture.playback\n"
        f"model = load_review_model({str(audio_take.directory)!r})\n"
        "print(len(model.events), model.kind, check_colour('click'))\n"
        "assert not [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'app'))]\n"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    ).stdout
    from qc.table import CHECKS

    assert out.split() == ["3", "audio", CHECKS["click"].colour]


def test_next_and_previous_event_from_the_cursor():
    from qc.review_model import ReviewModel

    events = [{"check": "click", "start_s": s} for s in (1.0, 2.0, 2.0, 5.0)]
    model = ReviewModel(None, None, {}, events, None, None)
    assert model.event_after(-1, 0.0) == 0
    assert model.event_after(0, 1.0) == 1  # on an event: the one after it
    assert model.event_after(1, 2.0) == 2  # the same start: still one by one
    assert model.event_after(0, 3.0) == 3  # the cursor moved: from the cursor
    assert model.event_after(3, 5.0) is None
    assert model.event_before(3, 5.0) == 2
    assert model.event_before(-1, 4.0) == 2
    assert model.event_before(0, 1.0) is None
    assert model.event_before(-1, 0.5) is None


def test_the_timeline_and_cursor_read_the_tape_timecode(qtbot, review, video_take, audio_take):
    import shutil

    if not shutil.which("mkvpropedit"):
        pytest.skip("needs mkvtoolnix")
    from capture.timecode.master import set_video_timecode_tag

    set_video_timecode_tag(video_take.master("video"), "10:00:00:00")  # 25 fps
    review.open_path(video_take.directory)
    assert review.model.timecode is not None
    axis = review.timeline.plots[-1].getAxis("bottom")
    assert axis.tickStrings([0.0, 0.8, 1.2], 1.0, 0.4) == [
        "10:00:00:00", "10:00:00:20", "10:00:01:05",
    ]  # fmt: skip
    assert "tape timecode" in axis.labelText
    review.set_cursor(1.2)
    assert "00:00:01.200  TC 10:00:01:05" in review.transport.text()
    review.select_event(0)  # video_dropout at 0.8 s
    assert "TC 10:00:00:20" in review.detail.text()
    # a take without the tape's timecode: seconds, as before
    review.open_path(audio_take.directory)
    assert review.model.timecode is None
    axis = review.timeline.plots[-1].getAxis("bottom")
    assert axis.tickStrings([0.0, 1.0], 1.0, 1.0) == ["0", "1"]
    review.set_cursor(1.0)
    assert "TC" not in review.transport.text()


def test_timecode_ticks_fall_on_the_tapes_own_seconds():
    from fractions import Fraction

    from app.review.timeline import _snapped
    from qc.timecode import TakeTimecode, frame_number

    tc = TakeTimecode(Fraction(30000, 1001), True, frame_number("01:00:10;00", 30), "test")
    ticks = _snapped(tc, [1.0, 2.0, 50.0, 51.0], 1.0)
    assert [tc.at(t) for t in ticks] == ["01:00:11;00", "01:00:12;00", "01:01:00;02", "01:01:01;00"]
    fine = _snapped(tc, [0.1, 0.2], 0.1)  # zoomed in: frames
    assert [tc.at(t) for t in fine] == ["01:00:10;03", "01:00:10;06"]  # frame starts
    assert all(abs(t * 30000 / 1001 - round(t * 30000 / 1001)) < 1e-6 for t in fine)
