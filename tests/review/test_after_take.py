"""The end of a take in the collection: the item's inspections reach the new take's PREMIS at
capture, and this station's claim on the item ends; neither can fail the take."""

from __future__ import annotations

import pytest

from headblock.cli import main
from metadata.catalogue import inventory as inv
from metadata.catalogue.claims import claim_item, claim_of
from metadata.collection.after_take import after_take
from metadata.collection.inspection import make_inspection, record_inspection
from metadata.formats.premis import read_events
from tests.review.takes import make_audio_take


@pytest.fixture
def listed(library, tmp_path):
    src = tmp_path / "l.csv"
    src.write_text("identifier,title,carrier\nREEL-001,Reel,open reel\nREEL-002,Reel,open reel\n")
    inv.import_list(library, src)
    return library


def _inspection_events(premis):
    return [e for e in read_events(premis) if "inspection of the source carrier" in e.detail]


def test_a_take_captured_after_an_inspection_has_its_event_at_once(listed):
    lib = str(listed)
    assert main(["inspect", lib, "REEL-001", "--condition", "mould: spots", "--by", "Ann"]) == 0
    claim_item(listed, "REEL-001")  # this station picks the item
    args = ["capture", "audio", "--device", "demo", "--rate", "48000", "--item", "REEL-001"]
    assert main([*args, "--library", lib, "--seconds", "1", "--no-qc"]) == 0
    take = listed / "REEL-001" / "REEL-001_t01"
    events = _inspection_events(take / "REEL-001_t01.premis.xml")
    assert [e.outcome_detail for e in events] == ["condition: Mould: spots"]
    log = (take / "REEL-001_t01.log").read_text(encoding="utf-8")
    assert " inspection_event " in log and " claim_released " in log
    assert claim_of(listed, "REEL-001") is None  # the take ended: the item is free again
    # an item never inspected gets no such event
    assert main(["capture", "audio", "--device", "demo", "--rate", "48000", "--item", "REEL-002",
                 "--library", lib, "--seconds", "0.5", "--no-qc"]) == 0  # fmt: skip
    assert not _inspection_events(listed / "REEL-002" / "REEL-002_t01" / "REEL-002_t01.premis.xml")


def test_nothing_here_fails_the_take(listed):
    record_inspection(listed, make_inspection("REEL-001", ["splices"], [], "yes"))
    take = make_audio_take(listed, "REEL-001")
    said = []

    def event(name, level="INFO", **fields):
        said.append((name, level, fields))

    # idempotent: a second call adds nothing
    assert len(after_take(take.directory, event)) == 1
    assert after_take(take.directory, event) == []
    assert len(_inspection_events(take.premis)) == 1

    # another station holds the item: said in the log, its claim left alone
    claim_item(listed, "REEL-001", "bench-B")
    said.clear()
    after_take(take.directory, event)
    assert [(n, lvl, f["station"]) for n, lvl, f in said] == [
        ("claim_elsewhere", "WARN", "bench-B")
    ]
    assert claim_of(listed, "REEL-001").station == "bench-B"

    # a damaged PREMIS record: a record_failed line, no exception
    record_inspection(listed, make_inspection("REEL-001", ["label_missing"], [], ""))
    take.premis.write_text("<premis broken")
    said.clear()
    assert after_take(take.directory, event) == []
    failed = [f for n, lvl, f in said if n == "record_failed"]
    assert len(failed) == 1 and failed[0]["record"] == "PREMIS"
    assert "carrier inspection not added" in failed[0]["error"]
