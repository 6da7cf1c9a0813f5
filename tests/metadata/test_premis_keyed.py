"""PREMIS events written under a key (``premis.keyed_events``): the same work done twice, as a
batch task Dask runs again after its worker died, records each event once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from metadata.formats import premis
from metadata.formats.xmlvalidate import validate
from metadata.take.record import DerivativeRecord
from tests.metadata.records import audio_record

T = datetime(2026, 12, 1, 13, 0, 0, tzinfo=UTC)


def _task(path: Path, when: datetime) -> None:
    """What one try of a task writes: two fixity checks and a QC event."""
    premis.add_event(path, premis.fixity_check_event(when, True, "before", "t"))
    premis.add_event(path, premis.qc_event(when, "pass", "no events", "t"))
    premis.add_event(path, premis.fixity_check_event(when, False, "after", "t"))


def test_the_same_task_twice_writes_its_events_once(tmp_path):
    doc = premis.write_premis(audio_record(), None, tmp_path / "t.premis.xml")
    with premis.keyed_events("REEL-001_t01.wav-batch-verify-run1"):
        _task(doc, T)
        assert premis.current_event_key() == "REEL-001_t01.wav-batch-verify-run1"
    after_first = doc.read_bytes()
    with premis.keyed_events("REEL-001_t01.wav-batch-verify-run1"):  # the task run again
        _task(doc, T.replace(minute=5))
    assert doc.read_bytes() == after_first  # nothing added, the file not even rewritten
    events = premis.read_events(doc)
    assert [(e.type, e.identifier) for e in events[2:]] == [
        ("fixity check", "REEL-001_t01.wav-batch-verify-run1-fix-1"),
        ("validation", "REEL-001_t01.wav-batch-verify-run1-val-1"),
        ("fixity check", "REEL-001_t01.wav-batch-verify-run1-fix-2"),
    ]
    assert premis.current_event_key() is None
    with premis.keyed_events("REEL-001_t01.wav-batch-verify-run2"):  # another batch: recorded
        _task(doc, T.replace(hour=14))
    _task(doc, T.replace(hour=15))  # outside a batch: numbered as ever
    events = premis.read_events(doc)
    assert len(events) == 2 + 3 + 3 + 3
    assert len({e.identifier for e in events}) == len(events)
    validate(doc, "premis")


def test_a_derivative_recorded_twice_keeps_one_creation_event_and_the_newer_object(tmp_path):
    record = audio_record()
    doc = premis.write_premis(record, None, tmp_path / "t.premis.xml")
    copy = DerivativeRecord(
        item="REEL-001",
        take_number=1,
        profile="access",
        path=tmp_path / "REEL-001_t01.access.mp3",
        master=Path(record.master),
        master_md5="0" * 32,
        size_bytes=1000,
        md5="a" * 32,
        duration_s=4.0,
        created_utc=T,
        mime_type="audio/mpeg",
        container="MPEG-1 Audio Layer III",
        process="MP3 320 kbit/s",
        audio_codec="MP3",
        audio_rate_hz=48000,
        audio_channels=2,
        audio_bitrate_bps=320000,
    )
    key = "REEL-001_t01.wav-batch-derive-run1-access"
    with premis.keyed_events(key):
        premis.add_derivative(doc, copy)
    with premis.keyed_events(key):  # made again on another worker: other bytes
        premis.add_derivative(doc, replace(copy, md5="b" * 32, size_bytes=1001))
    events = [e for e in premis.read_events(doc) if e.type == "creation"]
    assert [e.identifier for e in events] == [f"{key}-cre-1"]
    ns = {"p": premis.PREMIS_NS}
    root = etree.parse(str(doc)).getroot()
    copies = root.xpath("p:object[p:objectIdentifier/p:objectIdentifierValue=$n]", namespaces=ns,
                        n="REEL-001_t01.access.mp3")  # fmt: skip
    assert len(copies) == 1
    assert copies[0].xpath(".//p:messageDigest/text()", namespaces=ns) == ["b" * 32]
    validate(doc, "premis")
