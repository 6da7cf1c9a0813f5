"""PBCore 2.1 instantiation of a master: golden files and XSD validation."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from lxml import etree

from metadata.errors import HeadblockError
from metadata.formats.pbcore import PBCORE_NS, build_pbcore, timecode, write_pbcore
from metadata.formats.xmlvalidate import XMLValidationError, validate
from tests.metadata.records import audio_record, video_record

GOLDEN = Path(__file__).parent / "golden"
NS = {"p": PBCORE_NS}


def _check_golden(written: Path, name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("HEADBLOCK_REGEN_GOLDEN") == "1":
        golden.write_bytes(written.read_bytes())
    assert written.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "make, golden", [(audio_record, "audio.pbcore.xml"), (video_record, "video.pbcore.xml")]
)
def test_pbcore_matches_golden_and_validates(tmp_path, make, golden):
    out = write_pbcore(make(), tmp_path / "t.pbcore.xml")
    validate(out, "pbcore")
    _check_golden(out, golden)
    assert not list(tmp_path.glob("*.tmp"))


def test_pbcore_content(tmp_path):
    root = etree.parse(str(write_pbcore(audio_record(), tmp_path / "a.xml"))).getroot()
    assert root.tag == f"{{{PBCORE_NS}}}pbcoreInstantiationDocument"

    def text(path):
        return [e.text for e in root.findall(path, NS)]

    assert text("p:instantiationGenerations") == ["Preservation master"]
    assert text("p:instantiationLocation") == ["OH-1974.003/OH-1974.003_t01/OH-1974.003_t01.wav"]
    assert text("p:instantiationFileSize") == ["691201234"]
    assert text("p:instantiationDuration") == ["00:20:00.250"]
    track = root.find("p:instantiationEssenceTrack", NS)
    assert track.findtext("p:essenceTrackSamplingRate", namespaces=NS) == "96000"
    assert track.findtext("p:essenceTrackBitDepth", namespaces=NS) == "24"
    assert text("p:instantiationRelation/p:instantiationRelationIdentifier") == ["OH-1974.003"]
    notes = {e.get("annotationType"): e.text for e in root.findall("p:instantiationAnnotation", NS)}
    assert notes["Source carrier"] == "1/4 inch audio tape"
    assert notes["Playback deck"] == "Studer A810"
    assert notes["MD5 checksum"] == "0123456789abcdef0123456789abcdef"
    assert notes["Notes"] == "leader spliced at head & tail <ok>"  # escaped, round-trips


def test_video_tracks(tmp_path):
    root = build_pbcore(video_record()).getroot()
    tracks = root.findall("p:instantiationEssenceTrack", NS)
    assert [t.findtext("p:essenceTrackType", namespaces=NS) for t in tracks] == ["Video", "Audio"]
    v = tracks[0]
    assert v.findtext("p:essenceTrackEncoding", namespaces=NS) == "FFV1"
    assert v.find("p:essenceTrackEncoding", NS).get("version") == "3.4"
    assert v.findtext("p:essenceTrackFrameRate", namespaces=NS) == "29.97"
    assert v.findtext("p:essenceTrackFrameSize", namespaces=NS) == "720x486"
    assert v.findtext("p:essenceTrackAspectRatio", namespaces=NS) == "4:3"
    assert v.findtext("p:essenceTrackBitDepth", namespaces=NS) == "10"


def test_timecode():
    assert timecode(0) == "00:00:00.000"
    assert timecode(3725.5) == "01:02:05.500"


def test_malformed_input(tmp_path):
    with pytest.raises(HeadblockError, match="unknown take kind"):
        write_pbcore(dataclasses.replace(audio_record(), kind="film"), tmp_path / "x.xml")
    with pytest.raises(HeadblockError, match="no essence"):
        write_pbcore(dataclasses.replace(audio_record(), audio=None), tmp_path / "x.xml")
    assert not (tmp_path / "x.xml").exists()
    # a document missing its required location names the violation
    tree = build_pbcore(audio_record())
    loc = tree.getroot().find("p:instantiationLocation", NS)
    loc.getparent().remove(loc)
    with pytest.raises(XMLValidationError, match="instantiationLocation") as info:
        validate(tree, "pbcore")
    assert info.value.errors and info.value.exit_status == 2
    bad = tmp_path / "bad.xml"
    bad.write_text("<pbcoreInstantiationDocument")
    with pytest.raises(XMLValidationError, match="not well-formed"):
        validate(bad, "pbcore")
    with pytest.raises(HeadblockError, match="unknown schema"):
        validate(bad, "mods")
