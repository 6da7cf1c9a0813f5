"""PREMIS 3 record of a take: golden files, appended events, XSD validation."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from metadata.errors import HeadblockError
from metadata.formats import premis
from metadata.formats.premis import PremisEvent, add_event, read_agents, read_events, write_premis
from metadata.formats.xmlvalidate import XMLValidationError, validate
from tests.metadata.records import audio_record, video_record

GOLDEN = Path(__file__).parent / "golden"
T = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def _check_golden(written: Path, name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("HEADBLOCK_REGEN_GOLDEN") == "1":
        golden.write_bytes(written.read_bytes())
    assert written.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8")


def test_capture_document_matches_golden(tmp_path):
    out = write_premis(audio_record(), None, tmp_path / "t.premis.xml")
    validate(out, "premis")
    _check_golden(out, "audio.premis.xml")
    events = read_events(out)
    assert [e.type for e in events] == ["capture", "message digest calculation"]
    assert events[0].outcome == "success"
    assert ("person:Ada Lovelace", "implementer") in events[0].agent_roles
    assert events[1].outcome_detail == "MD5 0123456789abcdef0123456789abcdef"
    agents = read_agents(out)
    assert [(a.type, a.name, a.version) for a in agents] == [
        ("software", "Headblock", "0.1.0"),
        ("person", "Ada Lovelace", ""),
        ("hardware", "bench-1", ""),
    ]


def test_life_of_a_take_appends_events(tmp_path):
    out = write_premis(video_record(), None, tmp_path / "v.premis.xml")
    assert read_events(out)[0].outcome == "warning"  # two frames lost in capture
    add_event(out, premis.qc_event(T, "warn", "2 dropouts", "Headblock 0.1.0"))
    add_event(out, premis.review_event(T, "Katherine Johnson", "1 confirmed, 1 false alarm"))
    add_event(
        out,
        premis.signoff_event(T, "Grace Hopper", "approved", "ok to ingest"),
        agent=premis.person_agent("Grace Hopper", note="supervisor"),
    )
    add_event(out, premis.fixity_check_event(T, True, "MD5 matches", "Headblock 0.2.0"))
    validate(out, "premis")
    _check_golden(out, "video.premis.xml")
    events = read_events(out)
    assert [e.type for e in events] == [
        "capture",
        "message digest calculation",
        "validation",
        "metadata modification",
        "appraisal",
        "fixity check",
    ]
    assert [e.identifier for e in events][-1] == "VHS-0042_t02-event-006"
    assert events[4].outcome == "approved" and events[4].agent_roles == [
        ("person:Grace Hopper", "authorizer")
    ]
    names = [a.identifier for a in read_agents(out)]
    assert names.count("person:Grace Hopper") == 1  # an agent is added once
    assert "software:Headblock 0.2.0" in names  # a later version is a new agent


def test_event_with_explicit_agent_and_roles(tmp_path):
    out = write_premis(audio_record(), [], tmp_path / "t.xml")
    assert read_events(out) == []
    ev = PremisEvent("quarantine", T, "held for review", "success")
    add_event(out, ev, agent=premis.person_agent("Mary Jackson"))
    got = read_events(out)[0]
    assert got.agent_roles == [("person:Mary Jackson", "implementer")]
    assert got.identifier == "OH-1974.003_t01-event-001"


def test_malformed_input(tmp_path):
    with pytest.raises(HeadblockError, match="not one of"):
        write_premis(audio_record(), [PremisEvent("digitisation", T)], tmp_path / "x.xml")
    assert not (tmp_path / "x.xml").exists()
    out = write_premis(audio_record(), None, tmp_path / "t.xml")
    with pytest.raises(HeadblockError, match="not one of"):
        add_event(out, PremisEvent("made up", T))
    with pytest.raises(HeadblockError, match="unknown agent"):
        add_event(out, PremisEvent("validation", T, agent_roles=[("robot", "validator")]))
    assert len(read_events(out)) == 2  # nothing half-written
    bad = tmp_path / "bad.xml"
    bad.write_text("<premis xmlns='http://www.loc.gov/premis/v3' version='3.0'><event/></premis>")
    with pytest.raises(XMLValidationError, match="not valid premis"):
        add_event(bad, PremisEvent("validation", T))
    (tmp_path / "broken.xml").write_text("<premis")
    with pytest.raises(HeadblockError, match="well-formed"):
        read_events(tmp_path / "broken.xml")
    with pytest.raises(HeadblockError, match="does not exist"):
        add_event(tmp_path / "none.xml", PremisEvent("validation", T))


def test_minimal_event_gets_a_time_and_the_running_software(tmp_path):
    from metadata.take.record import software_string

    out = write_premis(audio_record(), None, tmp_path / "t.xml")
    before = datetime.now(UTC).replace(microsecond=0)
    add_event(out, PremisEvent("validation", outcome="pass", detail="QC"))
    got = read_events(out)[-1]
    assert got.datetime >= before and got.outcome == "pass"
    assert got.agent_roles == [(f"software:{software_string()}", "executing program")]


def test_concurrent_appends_are_all_kept(tmp_path):
    import threading

    out = write_premis(audio_record(), None, tmp_path / "t.xml")
    errors = []

    def append(i):
        try:
            add_event(out, premis.qc_event(T, "pass", f"run {i}", "Headblock 0.1.0"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    events = read_events(out)
    assert len(events) == 10
    assert sorted(e.outcome_detail for e in events[2:]) == [f"run {i}" for i in range(8)]
    assert len({e.identifier for e in events}) == 10
