"""The window's Dashboard tab (pytest-qt, offscreen): the figures of ``headblock dashboard``,
read in a worker when shown or refreshed; 5,000 takes drawn well within a second."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from metadata.catalogue import database as catalogue
from metadata.catalogue import inventory as inv
from tests.review.test_dashboard import TODAY, _inventory, _takes


def _view(qtbot, library):
    from app.dashboard_view import DashboardView

    view = DashboardView(library=library)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    return view


def test_shown_it_reads_and_draws_and_refresh_reads_again(qtbot, library, tmp_path):
    _inventory(library, tmp_path, 6)
    _takes(library, [("IT-00000", TODAY, 3600.0, "fail", None)])
    inv.hold(library, "IT-00005", "sticky shed: to the oven", "Ann")
    eng = catalogue.engine_for(catalogue.resolve_url(library))
    with eng.begin() as conn:
        conn.execute(
            catalogue.fixity.insert().values(
                take="IT-00000_t01",
                file="IT-00000_t01.wav",
                checked_utc=datetime.now(UTC),
                outcome="failure",
                verified_utc=None,
                checks=1,
            )
        )
    view = _view(qtbot, library)
    with qtbot.waitSignal(view.shown, timeout=20000):
        view.show()  # shown: it reads
    assert view.summary.text().startswith("6 item(s), 1 take(s) · listed 4, qc done 1, on hold 1")
    assert view.holds.rowCount() == 1 and view.holds.item(0, 1).text() == "sticky shed: to the oven"
    assert view.attention.item(0, 0).text() == "FAILED"
    assert view.attention.item(0, 2).text() == "IT-00000_t01.wav"
    assert "1 failed" in view.audit_text.text()
    assert "captured: 1 done, 5 to go" in view.pace.text()

    inv.hold(library, "IT-00004", "label wrong", "Ben")
    with qtbot.waitSignal(view.shown, timeout=20000):
        view.refresh_button.click()
    assert view.holds.rowCount() == 2


def test_an_unreadable_catalogue_is_one_line_in_the_tab(qtbot, tmp_path):
    view = _view(qtbot, tmp_path / "missing")
    view.refresh()
    qtbot.waitUntil(lambda: view.refresh_button.isEnabled(), timeout=20000)
    assert view.status.text().endswith("is not a folder")
    assert view.board is None


def test_five_thousand_takes_in_under_a_second(qtbot, library, tmp_path):
    _inventory(library, tmp_path, 6000)
    days = [TODAY - timedelta(days=d) for d in range(30)]
    _takes(
        library,
        [
            (f"IT-{i:05d}", days[i % 30], 1800.0, ("pass", "warn", "fail")[i % 3], None)
            for i in range(5000)
        ],
    )
    view = _view(qtbot, library)
    t0, cpu0 = time.monotonic(), time.process_time()
    with qtbot.waitSignal(view.shown, timeout=20000):
        view.show()
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    print(
        f"Dashboard tab, 5,000 takes / 6,000 items: shown in {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(refresh {view.last_refresh_s:.2f} s, drawing on the GUI thread {view.last_draw_s:.3f} s)"
    )
    assert view.board.takes == 5000
    assert view.attention.rowCount() == 201  # 200 listed, then how many more
    assert view.attention.item(200, 0).text() == "… 4800 more"
    assert view.last_draw_s < 0.3  # the window stays responsive while it fills
    # CPU time of the whole process (the worker included): other jobs sharing the two cores
    # stretch the wall clock (0.5 s here when idle), not the work
    assert cpu < 1.0
