"""The after-take integrity state in the window: Review's take header and the Sign-off queue
say pending, then done or failed when the job's records land (pytest-qt, offscreen)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings

from capture.integrity import mark_pending, record_failed
from metadata.catalogue.database import sync_take
from qc.integrity import integrity_entry, record_in_qc
from tests.review.takes import make_audio_take


@pytest.fixture(autouse=True)
def _qsettings(tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


def test_review_header_follows_the_job(qtbot, library):
    from app.review.view import ReviewView

    take = make_audio_take(library)
    mark_pending(take.directory)
    view = ReviewView(library=library)
    view.show_error_boxes = False
    qtbot.addWidget(view)
    view.integrity_watch._timer.setInterval(50)
    view.open_path(take.directory)
    assert "integrity <span style='color:#8a929a'>pending</span>" in view.title.text()
    assert "pending" in view.title.toolTip()
    assert view.integrity_watch.watching() == [str(take.directory)]
    record_in_qc(take.qc_json, integrity_entry("done", fixity="pass", detail="MD5 abc"))
    qtbot.waitUntil(lambda: ">done</span>" in view.title.text(), timeout=5000)
    assert "done: MD5 abc" in view.title.toolTip()
    assert view.integrity_watch.watching() == []
    view.close_take()


def test_a_failed_framemd5_reloads_the_take_with_its_events(qtbot, library):
    from app.review.view import ReviewView
    from metadata.formats.framemd5 import FRAME_DIFFERS, FrameDifference
    from qc.integrity import framemd5_detection

    take = make_audio_take(library)  # any take with a qc.json: the check is recorded there
    mark_pending(take.directory)
    view = ReviewView(library=library)
    view.show_error_boxes = False
    qtbot.addWidget(view)
    view.integrity_watch._timer.setInterval(600_000)  # no polling: the announcement alone
    view.open_path(take.directory)
    rows = view.table.rowCount()
    check = framemd5_detection([FrameDifference(12, FRAME_DIFFERS)], 0.04, "x.framemd5", 25)
    record_in_qc(take.qc_json, integrity_entry("failed", framemd5="fail", detail="1 frame"), check)
    import threading

    from app.widgets.integrity import announce

    # as the job's on_done does, from its watcher thread
    threading.Thread(target=announce, args=(take.directory,)).start()
    qtbot.waitUntil(lambda: ">failed</span>" in view.title.text(), timeout=5000)
    assert "FAIL" in view.title.text() and view.table.rowCount() == rows + 1
    view.close_take()


def test_signoff_queue_shows_the_state(qtbot, library):
    from app.queue_view import QueueView

    pending = make_audio_take(library)
    done = make_audio_take(library)
    mark_pending(pending.directory)
    record_in_qc(done.qc_json, integrity_entry("done", fixity="pass"))
    sync_take(done.directory)
    view = QueueView(library=library)
    qtbot.addWidget(view)
    view.integrity_watch._timer.setInterval(50)
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=20000)
    column = view.COLUMNS.index("integrity")
    by_take = {view.table.item(r, 0).text(): view.table.item(r, column) for r in range(2)}
    assert by_take[pending.stem].text() == "pending"
    assert by_take[done.stem].text() == "done"
    record_failed(pending.directory, "the integrity job ended before its result (killed)")
    qtbot.waitUntil(
        lambda: any(
            view.table.item(r, column).text() == "failed" for r in range(view.table.rowCount())
        ),
        timeout=20000,
    )
    row = next(r for r in range(2) if view.table.item(r, 0).text() == pending.stem)
    assert "killed" in view.table.item(row, column).toolTip()
    assert json.loads(pending.qc_json.read_text())["integrity"]["state"] == "failed"
    qtbot.waitUntil(view.refresh_button.isEnabled, timeout=20000)  # the refresh it asked for
    view.jobs.wait(10000)
