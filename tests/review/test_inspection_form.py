"""The Items tab's inspection form and its claims (pytest-qt, offscreen): the engine of
``headblock inspect`` behind check boxes, bad input said in the form; choosing an item claims
it, and an item another station holds is not put on the bench without asking."""

from __future__ import annotations

from metadata.catalogue import inventory as inv
from metadata.catalogue.claims import claim_of
from metadata.collection.inspection import history
from metadata.formats.premis import read_events
from tests.review.takes import make_audio_take

LIST = (
    "identifier,title,carrier,collection\n"
    "REEL-001,Interview with the mayor,open reel,Oral history\n"
    "VHS-042,Parade,VHS,City\n"
)


def _view(qtbot, library, tmp_path, station="bench-1", import_list=True):
    from app.item_queue import ItemQueueView

    if import_list:
        (tmp_path / "l.csv").write_text(LIST)
        inv.import_list(library, tmp_path / "l.csv")
    view = ItemQueueView(library=library, station=station)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=20000)
    return view


def _choose(qtbot, view, item):
    view.table.selectRow(view.shown_items().index(item))
    form = view.inspection
    assert form.item == item
    qtbot.waitUntil(lambda: not form.last.text().startswith("Reading"), timeout=20000)
    return form


def test_an_inspection_recorded_from_the_form(qtbot, library, tmp_path):
    view = _view(qtbot, library, tmp_path)
    take = make_audio_take(library, "REEL-001")
    form = _choose(qtbot, view, "REEL-001")
    assert form.heading.text() == "REEL-001 — Interview with the mayor"
    assert form.last.text() == "Not inspected yet."
    check, detail = form.conditions["binder_hydrolysis"]
    check.setChecked(True)
    detail.setText("squeal  on playback")
    form.conditions["splices"][0].setChecked(True)
    form.baked.setChecked(True)
    form.bake_c.setValue(54)
    form.bake_h.setValue(8)
    form.treatments["cleaned"][0].setChecked(True)
    form.treatments["cleaned"][1].setText("Pellon wipe")
    form.playable.setCurrentIndex(form.playable.findData("yes"))
    form.note.setPlainText("box damp")
    form.by.setText("Ann")
    form.save_button.click()
    qtbot.waitUntil(lambda: "recorded" in form.message.text(), timeout=20000)
    assert form.message.text() == "Inspection 1 recorded; PREMIS event on 1 take(s)."
    (insp,) = history(library, ["REEL-001"])["REEL-001"]
    assert [(c["key"], c["detail"]) for c in insp.conditions] == [
        ("binder_hydrolysis", "squeal on playback"),
        ("splices", ""),
    ]
    assert insp.treatments == [
        {"kind": "baked", "temperature_c": 54.0, "duration_h": 8.0, "detail": ""},
        {"kind": "cleaned", "detail": "Pellon wipe"},
    ]
    assert (insp.playable, insp.note, insp.by) == ("yes", "box damp", "Ann")
    events = [e for e in read_events(take.premis) if "inspection" in e.detail]
    assert len(events) == 1 and "baked at 54 °C for 8 h" in events[0].outcome_detail
    qtbot.waitUntil(lambda: form.last.text().startswith("1 inspection(s); the last by Ann"))
    assert not form.conditions["splices"][0].isChecked()  # the form is ready for the next
    assert form.by.text() == "Ann"  # who inspects stays


def test_bad_input_is_said_in_the_form_and_nothing_is_saved(qtbot, library, tmp_path):
    view = _view(qtbot, library, tmp_path)
    form = _choose(qtbot, view, "VHS-042")
    form.save_button.click()  # nothing filled in
    assert form.message.text().startswith("an inspection needs a --condition")
    assert "ff6b6b" in form.message.styleSheet()
    form.baked.setChecked(True)
    form.bake_c.setValue(80)
    form.save_button.click()
    assert form.message.text() == "a bake at 80 °C is outside 30–70 °C ('baked 80C 8h')"
    form.baked.setChecked(False)
    form.conditions["none"][0].setChecked(True)
    form.conditions["mould"][0].setChecked(True)
    form.save_button.click()
    assert "'none' (no problem found) cannot go with other conditions" in form.message.text()
    view.jobs.wait(10000)
    form.jobs.wait(10000)
    assert history(library, ["VHS-042"]) == {}


def test_choosing_claims_and_another_station_is_told_who(qtbot, library, tmp_path):
    one = _view(qtbot, library, tmp_path, "bench-1")
    two = _view(qtbot, library, tmp_path, "bench-2", import_list=False)
    chosen_one, chosen_two, asked = [], [], []
    one.item_chosen.connect(chosen_one.append)
    two.item_chosen.connect(chosen_two.append)

    one.table.selectRow(one.shown_items().index("VHS-042"))
    one.use_button.click()
    assert [r["item"] for r in chosen_one] == ["VHS-042"]
    assert one.status.text() == "VHS-042: claimed for station bench-1"
    assert claim_of(library, "VHS-042").station == "bench-1"

    two.ask_take_over = lambda claim: asked.append(claim) or False
    two.table.selectRow(two.shown_items().index("VHS-042"))
    two.use_button.click()
    assert chosen_two == []  # the bench form is not filled
    assert asked[0].station == "bench-1"
    assert two.status.text().startswith("Not used: VHS-042 is held by station bench-1 since ")

    two.refresh()  # the list shows who holds it
    qtbot.waitUntil(lambda: two.refresh_button.isEnabled(), timeout=20000)
    row = two.shown_items().index("VHS-042")
    assert two.table.item(row, 5).text() == "bench-1"
    assert two.table.item(row, 5).toolTip().startswith("claimed since ")

    two.ask_take_over = lambda claim: True
    two.table.selectRow(row)
    two.use_button.click()
    assert [r["item"] for r in chosen_two] == ["VHS-042"]
    assert two.status.text() == "VHS-042: taken over from station bench-1"
    assert claim_of(library, "VHS-042").station == "bench-2"

    one.refresh()
    qtbot.waitUntil(lambda: one.refresh_button.isEnabled(), timeout=20000)
    one.table.selectRow(one.shown_items().index("VHS-042"))
    one.release_button.click()  # not its claim any more: refused, said
    assert one.status.text().startswith("VHS-042 is held by station bench-2")
    two.table.selectRow(two.shown_items().index("VHS-042"))
    two.release_button.click()
    assert claim_of(library, "VHS-042") is None

    # a claim left by a station that never came back is shown stale
    from datetime import timedelta

    from metadata.catalogue import database as catalogue
    from metadata.clock import utc_now

    eng = catalogue.engine_for(catalogue.resolve_url(library))
    with eng.begin() as conn:
        conn.execute(
            catalogue.claims.insert().values(
                item="REEL-001", station="bench-9", claimed_utc=utc_now() - timedelta(hours=13)
            )
        )
    two.refresh()
    qtbot.waitUntil(lambda: two.refresh_button.isEnabled(), timeout=20000)
    assert two.table.item(two.shown_items().index("REEL-001"), 5).text() == "bench-9 (stale)"
    for v in (one, two):
        v.jobs.wait(10000)
        v.inspection.jobs.wait(10000)
