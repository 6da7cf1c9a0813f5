"""The bench's item queue (pytest-qt, offscreen): filters, search, choosing an item, its last take."""

from __future__ import annotations

from headblock.cli import main
from metadata.catalogue import inventory as inv
from tests.review.takes import make_audio_take

LIST = (
    "identifier,title,carrier,collection,notes,box\n"
    "REEL-001,Interview with the mayor,open reel,Oral history,,A1\n"
    "REEL-002,Choir rehearsal,open reel,Music,squeal at start,A2\n"
    "VHS-042,Parade,VHS,City,,B7\n"
    "UM-7,Council meeting,U-matic,City,,B9\n"
)


def _view(qtbot, library, tmp_path):
    from app.item_queue import ItemQueueView

    (tmp_path / "l.csv").write_text(LIST)
    inv.import_list(library, tmp_path / "l.csv")
    make_audio_take(library, "REEL-001")
    make_audio_take(library, "REEL-001")
    inv.hold(library, "UM-7", "sticky shed: to the oven")
    view = ItemQueueView(library=library)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 4, timeout=20000)
    view.jobs.wait(10000)
    return view


def _pick(combo, data):
    combo.setCurrentIndex(combo.findData(data))


def test_filters_and_search(qtbot, library, tmp_path):
    view = _view(qtbot, library, tmp_path)
    assert view.shown_items() == ["REEL-001", "REEL-002", "UM-7", "VHS-042"]
    _pick(view.status_filter, "qc_done")
    assert view.shown_items() == ["REEL-001"]
    _pick(view.status_filter, "")
    _pick(view.carrier_filter, "open_reel")
    assert view.shown_items() == ["REEL-001", "REEL-002"]
    _pick(view.carrier_filter, "")
    _pick(view.collection_filter, "City")
    assert view.shown_items() == ["UM-7", "VHS-042"]
    _pick(view.collection_filter, "")
    view.search.setText("SQUEAL")  # notes, case-blind
    assert view.shown_items() == ["REEL-002"]
    view.search.setText("b7")  # the list's other columns too
    assert view.shown_items() == ["VHS-042"]
    view.search.setText("")
    _pick(view.status_filter, "on_hold")
    assert view.shown_items() == ["UM-7"]
    assert view.table.item(0, 1).toolTip() == "sticky shed: to the oven"
    assert view.status.text() == "1 of 4 item(s)"


def test_choosing_fills_the_bench_and_opens_the_last_take(qtbot, library, tmp_path):
    from app.item_queue import fill_item_form
    from app.widgets.setup_panel import SetupPanel

    view = _view(qtbot, library, tmp_path)
    chosen, opened = [], []
    view.item_chosen.connect(chosen.append)
    view.open_take.connect(opened.append)
    assert not view.use_button.isEnabled()
    row = view.shown_items().index("REEL-002")
    view.table.selectRow(row)
    assert view.use_button.isEnabled() and not view.review_button.isEnabled()  # no take yet
    view._double_clicked(row, 0)
    assert [r["item"] for r in chosen] == ["REEL-002"]

    panel = SetupPanel()
    qtbot.addWidget(panel)
    fill_item_form(panel, chosen[0])
    meta = panel.take_meta()
    assert (panel.item_id.text(), meta.title, meta.carrier) == (
        "REEL-002",
        "Choir rehearsal",
        "open_reel",
    )
    assert meta.notes == "squeal at start"

    view.table.selectRow(view.shown_items().index("REEL-001"))
    assert view.review_button.isEnabled()
    view.review_button.click()
    assert [p.name for p in opened] == ["REEL-001_t02"]  # the newest take, one click


def test_a_library_without_inventory_and_a_missing_one(qtbot, library, tmp_path):
    from app.item_queue import ItemQueueView

    view = ItemQueueView(library=library)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.refresh_button.isEnabled(), timeout=20000)
    assert view.status.text() == "0 of 0 item(s)"
    view.set_library(tmp_path / "missing")
    qtbot.waitUntil(lambda: view.refresh_button.isEnabled(), timeout=20000)
    assert "is not a folder" in view.status.text()
    view.jobs.wait(10000)
    assert main(["inventory", "list", str(library)]) == 0
