"""Collection-level PBCore: valid against PBCore 2.1 and round-tripping through the importer."""

from __future__ import annotations

import pytest
from lxml import etree

from headblock.cli import main
from metadata.catalogue import inventory as inv
from metadata.collection.inspection import make_inspection, record_inspection
from metadata.formats.xmlvalidate import validate
from tests.review.takes import make_audio_take, make_video_take

P = "{http://www.pbcore.org/PBCore/PBCoreNamespace.html}"
LIST = (
    "identifier;title;format;collection;date;notes;Box;Donor\n"
    'REEL-001;"Interview\nwith a newline";1/4 inch audio tape;Oral history;1972;;A3;Smith\n'
    "VHS-042;Parade;VHS;City;1988;two notes;B1;\n"
    "LOOSE-1;;;;;;;\n"  # nothing but an identifier
)


def _snapshot(library):
    keep = ("item", *inv.FIELDS, "extra")
    return [{k: r[k] for k in keep} for r in inv.list_items(library)]


def test_export_is_valid_and_round_trips(library, tmp_path, capsys):
    src = tmp_path / "list.csv"
    src.write_text(LIST, encoding="utf-8")
    inv.import_list(library, src)
    make_audio_take(library, "REEL-001")
    video = make_video_take(library, "VHS-042")
    (video.directory / "VHS-042_t01.access.mp4").write_bytes(b"\0" * 100)
    record_inspection(
        library, make_inspection("REEL-001", ["splices: 2"], ["baked 54C 8h"], "yes", by="Ann")
    )
    before = _snapshot(library)

    out = tmp_path / "collection.xml"
    assert main(["export", "pbcore", str(library), str(out)]) == 0
    assert "collection of 3 item(s), valid" in capsys.readouterr().out
    root = validate(out, "pbcore").getroot()
    assert root.tag == P + "pbcoreCollection"
    docs = {d.findtext(P + "pbcoreIdentifier"): d for d in root}
    assert set(docs) == {"REEL-001", "VHS-042", "LOOSE-1"}

    reel = docs["REEL-001"]
    phys = reel.find(P + "pbcoreInstantiation")
    assert phys.findtext(P + "instantiationPhysical") == "1/4 inch audio tape"
    notes = {a.get("annotationType"): a.text for a in phys.findall(P + "instantiationAnnotation")}
    assert notes["Condition"] == "Splices: 2"
    assert notes["Treatment"] == "baked at 54 °C for 8 h"
    assert notes["Playable"] == "yes" and notes["Inspected by"] == "Ann"
    digital = [
        (i.findtext(P + "instantiationIdentifier"), i.findtext(P + "instantiationGenerations"))
        for d in (reel, docs["VHS-042"])
        for i in d.findall(P + "pbcoreInstantiation")
        if i.find(P + "instantiationDigital") is not None
    ]
    assert digital == [
        ("REEL-001_t01.wav", "Preservation master"),
        ("VHS-042_t01.mkv", "Preservation master"),
        ("VHS-042_t01.access.mp4", "Access copy"),
    ]
    assert docs["LOOSE-1"].find(f"{P}pbcoreInstantiation/{P}instantiationPhysical").text == (
        "Unknown"
    )

    # import → export → import changes nothing
    result = inv.import_list(library, out)
    assert (result.added, result.changed, result.unchanged) == ([], {}, 3)
    assert _snapshot(library) == before
    # and into a fresh library it lands as it was
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    inv.import_list(fresh, out)
    assert _snapshot(fresh) == before


def test_export_of_chosen_items_and_bad_requests(library, tmp_path, capsys):
    src = tmp_path / "list.csv"
    src.write_text(LIST, encoding="utf-8")
    out = tmp_path / "one.xml"
    assert main(["export", "pbcore", str(library), str(out)]) == 2  # empty inventory
    assert "is empty" in capsys.readouterr().err and not out.exists()
    inv.import_list(library, src)
    assert main(["export", "pbcore", str(library), str(out), "--item", "VHS-042"]) == 0
    root = etree.parse(str(out)).getroot()
    assert [d.findtext(P + "pbcoreIdentifier") for d in root] == ["VHS-042"]
    assert main(["export", "pbcore", str(library), str(out), "--item", "NOPE"]) == 2
    assert main(["export", "pbcore", str(tmp_path / "nolib"), str(out)]) == 2
    err = capsys.readouterr().err
    assert "not in the inventory" in err and "is not a folder" in err and "Traceback" not in err
    for argv in (["export"], ["inventory"]):
        with pytest.raises(SystemExit) as usage:
            main(argv)
        assert usage.value.code == 2
    assert "export needs pbcore" in capsys.readouterr().err
