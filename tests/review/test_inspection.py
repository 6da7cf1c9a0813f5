"""Carrier inspection: the vocabulary, structured treatments, history, PREMIS events on takes."""

from __future__ import annotations

import pytest

from headblock.cli import main
from metadata.catalogue import inventory as inv
from metadata.collection.inspection import (
    carry_to_takes,
    history,
    make_inspection,
    parse_condition,
    parse_treatment,
    record_inspection,
)
from metadata.errors import HeadblockError
from metadata.formats.premis import read_events
from tests.review.takes import make_audio_take


@pytest.fixture
def listed(library, tmp_path):
    src = tmp_path / "l.csv"
    src.write_text("identifier,title,carrier\nREEL-001,Reel,open reel\nVHS-042,Tape,VHS\n")
    inv.import_list(library, src)
    return library


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("baked 54C 8h", {"kind": "baked", "temperature_c": 54.0, "duration_h": 8.0, "detail": ""}),
        (
            "Baked at 130 °F for 12 hours, convection oven",
            {
                "kind": "baked",
                "temperature_c": 54.4,
                "duration_h": 12.0,
                "detail": "convection oven",
            },
        ),
        (
            "bake 55c 2 days",
            {"kind": "baked", "temperature_c": 55.0, "duration_h": 48.0, "detail": ""},
        ),
        (
            "baked 50,5C 90 min",
            {"kind": "baked", "temperature_c": 50.5, "duration_h": 1.5, "detail": ""},
        ),
        ("cleaned Pellon wipe", {"kind": "cleaned", "detail": "Pellon wipe"}),
        ("repaired splice at 12 m", {"kind": "repaired", "detail": "splice at 12 m"}),
        ("rewound", {"kind": "rewound", "detail": ""}),
    ],
)
def test_treatments_are_parsed(text, expected):
    assert parse_treatment(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("baked 8h", "needs its temperature and duration"),
        ("baked 54C", "needs its temperature and duration"),
        ("baked 540C 8h", "outside 30–70 °C"),
        ("baked 54C 900h", "not plausible"),
        ("frozen 2h", "unknown treatment 'frozen'"),
        ("  ", "is empty"),
    ],
)
def test_bad_treatments_are_refused(text, reason):
    with pytest.raises(HeadblockError, match=reason):
        parse_treatment(text)


def test_conditions_from_the_vocabulary():
    assert parse_condition("sticky shed")["key"] == "binder_hydrolysis"
    assert parse_condition("Mold")["key"] == "mould"
    assert parse_condition("vinegar-syndrome")["key"] == "vinegar_syndrome"
    assert parse_condition("splices: 3 in the first 50 m") == {
        "key": "splices",
        "label": "Splices",
        "detail": "3 in the first 50 m",
    }
    with pytest.raises(HeadblockError, match="unknown condition 'rust'"):
        parse_condition("rust")
    with pytest.raises(HeadblockError, match="cannot go with"):
        make_inspection("A", ["none", "mould"], [], None)
    with pytest.raises(HeadblockError, match="needs a --condition"):
        make_inspection("A", [], [], None)


def test_inspection_history_status_and_premis(listed, capsys):
    library = listed
    take = make_audio_take(library, "REEL-001")
    argv = ["inspect", str(library), "REEL-001", "--condition", "sticky shed: squeal"]
    argv += ["--treatment", "baked 54C 8h", "--playable", "yes", "--by", "Ann Lee"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "inspection 1 recorded: condition: Binder hydrolysis (sticky shed): squeal" in out
    assert "PREMIS REEL-001_t01.premis.xml: event" in out
    events = [e for e in read_events(take.premis) if "inspection" in e.detail]
    assert len(events) == 1
    assert "baked at 54 °C for 8 h" in events[0].outcome_detail
    assert ("person:Ann Lee", "implementer") in events[0].agent_roles

    # a second inspection keeps the first; the PREMIS gets only the new one
    assert (
        main(["inspect", str(library), "REEL-001", "--condition", "none", "--note", "ok now"]) == 0
    )
    (h,) = history(library, ["REEL-001"]).values()
    assert [i.id for i in h] == [1, 2] and h[0].conditions[0]["key"] == "binder_hydrolysis"
    assert len([e for e in read_events(take.premis) if "inspection" in e.detail]) == 2
    assert carry_to_takes(library, "REEL-001") == []  # idempotent

    # the item without takes becomes inspected (the take folders outrank it)
    assert main(["inspect", str(library), "VHS-042", "--playable", "no"]) == 0
    assert "not playable" in capsys.readouterr().out
    status = {r["item"]: r["status"] for r in inv.list_items(library)}
    assert status == {"REEL-001": "qc_done", "VHS-042": "inspected"}


def test_a_take_captured_after_the_inspection_gets_it(listed):
    record_inspection(listed, make_inspection("REEL-001", ["mould"], ["cleaned"], "yes"))
    take = make_audio_take(listed, "REEL-001")
    assert not [e for e in read_events(take.premis) if "inspection" in e.detail]
    added = carry_to_takes(listed, "REEL-001")
    assert len(added) == 1
    assert [e.outcome_detail for e in read_events(take.premis) if "inspection" in e.detail] == [
        "condition: Mould, treatment: cleaned, playable: yes"
    ]


def test_bad_inspections_get_one_line(listed, capsys):
    lib = str(listed)
    assert main(["inspect", lib, "NOPE", "--condition", "mould"]) == 2
    assert main(["inspect", lib, "REEL-001", "--condition", "rust"]) == 2
    assert main(["inspect", lib, "REEL-001", "--treatment", "baked 54C"]) == 2
    assert main(["inspect", lib, "REEL-001"]) == 2
    with pytest.raises(SystemExit) as usage:  # argparse's own refusal: one line, exit 2
        main(["inspect", lib, "REEL-001", "--playable", "maybe"])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "'NOPE' is not in the inventory" in err and "unknown condition 'rust'" in err
    assert "Traceback" not in err
    assert history(listed) == {}  # nothing recorded by any of them
