"""Inventory import (CSV and PBCore 2.x), item status and holds: good lists, bad rows, re-imports."""

from __future__ import annotations

import json
import time

import pytest

from headblock.cli import main
from metadata.catalogue import inventory as inv
from metadata.errors import HeadblockError
from metadata.review.marks import add_mark
from qc.signoff import signoff
from tests.review.takes import AUDIO_EVENTS, make_audio_take

GOOD_CSV = (
    "\ufeffItem ID;TITLE;Physical_Format;Collection;Date;Notes;Shelf location\n"
    'REEL-001;"Interview, part 1\nsecond line";1/4 inch audio tape;Oral history;1972;;A3\n'
    "VHS-042;Parade;VHS;City;1988-05-01;rewound before;B1\n"
    'UM-7;Council;3/4" U-matic;City;1979;;B2\n'
    "CAS-3;Songs;audio cassette;Folk;;;\n"
    ";;;;;;\n"  # a blank row is skipped
)


def _write(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def _count(library, url=None) -> int:
    return len(inv.list_items(library, url))


def test_csv_with_bom_semicolons_and_header_variants(library, tmp_path):
    src = _write(tmp_path / "list.csv", GOOD_CSV)
    result = inv.import_list(library, src)
    assert sorted(result.added) == ["CAS-3", "REEL-001", "UM-7", "VHS-042"]
    rows = {r["item"]: r for r in inv.list_items(library)}
    reel = rows["REEL-001"]
    assert reel["title"] == "Interview, part 1\nsecond line"  # the quoted newline kept
    assert reel["carrier"] == "open_reel"
    assert (reel["collection"], reel["date"]) == ("Oral history", "1972")
    assert reel["extra"] == {"Shelf location": "A3"}  # an unknown column kept as a note
    assert rows["UM-7"]["carrier"] == "umatic"
    assert rows["CAS-3"]["carrier"] == "cassette"
    assert rows["VHS-042"]["notes"] == "rewound before"
    assert {r["status"] for r in rows.values()} == {"listed"}


def test_comma_csv_without_bom(library, tmp_path):
    src = _write(
        tmp_path / "list.csv",
        "identifier,title,carrier\nA1,One,Betacam SP\nA2,Two,U-matic\nA3,Three,\n",
    )
    inv.import_list(library, src)
    rows = {r["item"]: r["carrier"] for r in inv.list_items(library)}
    assert rows == {"A1": "betacam_sp", "A2": "umatic", "A3": ""}


def test_bad_rows_are_all_named_and_nothing_is_imported(library, tmp_path, capsys):
    text = (
        b"identifier,title,format\n"
        b"GOOD-1,Fine,VHS\n"
        b"bad id!,Space and bang,VHS\n"
        b"GOOD-1,Again,VHS\n"
        b"GOOD-2,Odd,Betamax\n"
    ) + "GOOD-3,Caf\u00e9,VHS\n".encode("latin-1")
    src = _write(tmp_path / "bad.csv", text)
    assert main(["inventory", "import", str(library), str(src)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "row 3: the item identifier 'bad id!'" in err
    assert "row 4: the identifier 'GOOD-1' is already on row 2" in err
    assert "row 5: unknown carrier 'Betamax' (known: open_reel" in err
    assert "row 6: column 'title' is not UTF-8 text (byte 0xE9)" in err
    assert "4 problem(s); nothing imported" in err
    assert _count(library) == 0  # GOOD-1 on row 2 was not written either


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"\xef\xbb\xbf  \n", "is empty"),
        (b"identifier,title\n", "has a header but no rows"),
        (b"title,format\nOne,VHS\n", "no identifier column"),
        (b"identifier,title\nA1,One,extra,cells\n", "row 2: 4 fields where the header has 2"),
        (b'identifier,title\nA1,"never closed\n', "unreadable CSV"),
        ("identifier,title\nA1,x\n".encode("utf-16"), "UTF-16"),
        (b"PK\x03\x04\x14\x00\x06\x00", "is a workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "row 1: the header is not UTF-8 text (byte 0x89)"),
    ],
)
def test_malformed_lists_get_one_line(library, tmp_path, capsys, content, expected):
    src = _write(tmp_path / "list.csv", content)
    assert main(["inventory", "import", str(library), str(src)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert _count(library) == 0


def test_missing_file_and_library(library, tmp_path, capsys):
    assert main(["inventory", "import", str(library), str(tmp_path / "nope.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    src = _write(tmp_path / "l.csv", "identifier\nA\n")
    assert main(["inventory", "import", str(tmp_path / "nolib"), str(src)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_reimport_updates_by_identifier_and_says_what_changed(library, tmp_path, capsys):
    src = _write(tmp_path / "list.csv", GOOD_CSV)
    inv.import_list(library, src)
    changed = GOOD_CSV.replace("Parade", "Parade 1988").replace(";B2\n", ";C9\n")
    changed += "NEW-1;New;DAT;City;;;\n"
    src2 = _write(tmp_path / "list2.csv", changed)
    assert main(["inventory", "import", str(library), str(src2), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would add 1, would update 2, unchanged 2 (dry run" in out
    assert _count(library) == 4
    assert main(["inventory", "import", str(library), str(src2)]) == 0
    out = capsys.readouterr().out
    assert "VHS-042: title 'Parade' → 'Parade 1988'" in out
    assert "UM-7: Shelf location 'B2' → 'C9'" in out
    assert "added 1, updated 2, unchanged 2" in out
    assert _count(library) == 5  # never duplicated
    # a later list without an item leaves it alone
    _write(tmp_path / "one.csv", "identifier,title\nNEW-1,New\n")
    inv.import_list(library, tmp_path / "one.csv")
    assert _count(library) == 5


AAPB_DOC = """<?xml version="1.0" encoding="UTF-8"?>
<pbcoreDescriptionDocument xmlns="http://www.pbcore.org/PBCore/PBCoreNamespace.html"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.pbcore.org/PBCore/PBCoreNamespace.html http://www.pbcore.org/xsd/pbcore-2.1.xsd">
  <pbcoreAssetType>Episode</pbcoreAssetType>
  <pbcoreAssetDate dateType="broadcast">1983-04-02</pbcoreAssetDate>
  <pbcoreIdentifier source="http://americanarchiveinventory.org">cpb-aacip-15-00000000</pbcoreIdentifier>
  <pbcoreIdentifier source="NOLA Code">WGBH 1234</pbcoreIdentifier>
  <pbcoreTitle titleType="Series">Evening Compass</pbcoreTitle>
  <pbcoreTitle titleType="Episode">Harbour fire</pbcoreTitle>
  <pbcoreTitle>Harbour fire, full program</pbcoreTitle>
  <pbcoreDescription descriptionType="Episode">Report on the fire.</pbcoreDescription>
  <pbcoreInstantiation>
    <instantiationIdentifier source="AAPB">cpb-aacip-15-00000000.mp4</instantiationIdentifier>
    <instantiationDigital>video/mp4</instantiationDigital>
    <instantiationLocation>N/A</instantiationLocation>
  </pbcoreInstantiation>
  <pbcoreInstantiation>
    <instantiationIdentifier source="Barcode">3300</instantiationIdentifier>
    <instantiationPhysical>3/4 inch videotape: U-matic</instantiationPhysical>
    <instantiationLocation>Shelf 4</instantiationLocation>
  </pbcoreInstantiation>
  <pbcoreAnnotation annotationType="Level of User Access">Online Reading Room</pbcoreAnnotation>
</pbcoreDescriptionDocument>
"""


def test_pbcore_description_document_as_the_aapb_exports_it(library, tmp_path):
    src = _write(tmp_path / "aapb.xml", AAPB_DOC)
    inv.import_list(library, src)
    (row,) = inv.list_items(library)
    assert row["item"] == "cpb-aacip-15-00000000"
    assert row["title"] == "Harbour fire, full program"
    assert row["collection"] == "Evening Compass"  # the series, for want of a collection
    assert row["carrier"] == "umatic"
    assert row["date"] == "1983-04-02"
    assert row["notes"] == "Report on the fire."
    assert row["extra"] == {"Level of User Access": "Online Reading Room"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<premis xmlns='http://www.loc.gov/premis/v3'/>", "the root element is 'premis'"),
        (
            "<pbcoreInstantiationDocument xmlns='http://www.pbcore.org/PBCore/PBCoreNamespace.html'/>",
            "expected PBCore 2.x pbcoreCollection",
        ),
        (
            "<PBCoreDescriptionDocument xmlns='http://www.pbcore.org/PBCore/PBCoreNamespace.html'/>",
            "PBCore 1.x document",
        ),
        (
            AAPB_DOC.replace("pbcore-2.1.xsd", "pbcore-3.0.xsd"),
            "declares PBCore 3.0",
        ),
        (
            AAPB_DOC.replace(
                "<pbcoreDescriptionDocument ", '<pbcoreDescriptionDocument version="1.3" '
            ),
            "declares PBCore 1.3",
        ),
        (
            "<pbcoreCollection xmlns='http://www.pbcore.org/PBCore/PBCoreNamespace.html'>",
            "not well-formed",
        ),
        (
            "<pbcoreCollection xmlns='http://www.pbcore.org/PBCore/PBCoreNamespace.html'/>",
            "holds no pbcoreDescriptionDocument",
        ),
        (
            AAPB_DOC.replace("cpb-aacip-15-00000000<", "cpb/aacip 15<"),
            "document 1 (line 4): the item identifier 'cpb/aacip 15'",
        ),
    ],
)
def test_bad_pbcore_gets_one_line(library, tmp_path, capsys, content, expected):
    src = _write(tmp_path / "in.xml", content)
    assert main(["inventory", "import", str(library), str(src)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert _count(library) == 0


def test_pbcore_collection_title_is_the_default_collection(library, tmp_path):
    doc = AAPB_DOC.split("\n", 1)[1].replace(
        '<pbcoreTitle titleType="Series">Evening Compass</pbcoreTitle>', ""
    )
    ns = "http://www.pbcore.org/PBCore/PBCoreNamespace.html"
    body = f"<pbcoreCollection xmlns='{ns}' collectionTitle='WGBH tapes'>{doc}</pbcoreCollection>"
    inv.import_list(library, _write(tmp_path / "c.xml", body))
    assert inv.list_items(library)[0]["collection"] == "WGBH tapes"


def test_status_follows_the_take_folders_and_holds(library, tmp_path, capsys):
    _write(tmp_path / "l.csv", "identifier,title,carrier\nREEL-001,Reel,open reel\nOTHER,O,DAT\n")
    inv.import_list(library, tmp_path / "l.csv")

    def status(item="REEL-001"):
        return {r["item"]: r["status"] for r in inv.list_items(library)}[item]

    assert status() == "listed"
    take = make_audio_take(library, "REEL-001")  # a master and its qc.json
    assert status() == "qc_done"
    add_mark(take.directory, AUDIO_EVENTS[0], "confirmed", "Ann", "")
    assert status() == "reviewed"
    signoff(take.directory, "Sam", "approved")
    assert status() == "signed_off"
    assert main(["inventory", "hold", str(library), "REEL-001", "--reason", "deck broken"]) == 0
    assert status() == "on_hold"
    capsys.readouterr()
    assert main(["inventory", "list", str(library), "--status", "on_hold", "--json"]) == 0
    (held,) = json.loads(capsys.readouterr().out)
    assert (held["item"], held["hold_reason"], held["takes"]) == ("REEL-001", "deck broken", 1)
    assert main(["inventory", "release", str(library), "REEL-001"]) == 0
    assert "released, signed_off" in capsys.readouterr().out
    assert status() == "signed_off" and status("OTHER") == "listed"
    # bad uses: one line each
    assert main(["inventory", "release", str(library), "REEL-001"]) == 2
    assert main(["inventory", "hold", str(library), "NOPE", "--reason", "x"]) == 2
    assert main(["inventory", "hold", str(library), "OTHER", "--reason", "  "]) == 2
    assert main(["inventory", "list", str(library), "--status", "lost"]) == 2
    err = capsys.readouterr().err
    assert "not on hold" in err and "'NOPE' is not in the inventory" in err
    assert "needs a reason" in err and "unknown status 'lost'" in err


def test_a_rejected_take_leaves_the_item_reviewed(library, tmp_path):
    _write(tmp_path / "l.csv", "identifier\nREEL-001\n")
    inv.import_list(library, tmp_path / "l.csv")
    take = make_audio_take(library, "REEL-001")
    signoff(take.directory, "Sam", "rejected", "hiss")
    assert inv.list_items(library)[0]["status"] == "reviewed"


def _big_csv(path, n: int):
    carriers = ["VHS", "U-matic", "1/4 inch audio tape", "audio cassette", "Betacam SP", "DAT"]
    lines = ["identifier;title;format;collection;date;notes;box"]
    for i in range(n):
        note = '"line one\nline two"' if i % 1000 == 0 else ""
        lines.append(f"ITEM-{i:06d};Title {i} é;{carriers[i % 6]};C{i % 20};1980;{note};B{i % 300}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _timed_import(library, src, url):
    t0 = time.monotonic()
    result = inv.import_list(library, src, url)
    return result, time.monotonic() - t0


def test_fifty_thousand_rows_into_sqlite(library, tmp_path):
    src = _big_csv(tmp_path / "big.csv", 50_000)
    result, first_s = _timed_import(library, src, None)
    assert len(result.added) == 50_000
    again, second_s = _timed_import(library, src, None)
    assert again.unchanged == 50_000 and not again.added and not again.changed
    print(f"SQLite, 50,000 rows: import {first_s:.1f} s, re-import {second_s:.1f} s")
    assert first_s < 30 and second_s < 30
    rows = inv.list_items(library)
    assert len(rows) == 50_000 and rows[1000]["notes"] == "line one\nline two"


def test_one_bad_row_in_fifty_thousand_refuses_the_file(library, tmp_path):
    bad = _big_csv(tmp_path / "bad.csv", 50_000)
    with bad.open("a", encoding="utf-8") as f:
        f.write("ITEM-999999;x;Betamax;;;;\n")
    with pytest.raises(HeadblockError) as err:
        inv.import_list(library, bad)
    assert err.value.problems == [
        "bad.csv: row 50002: unknown carrier 'Betamax' (known: " + inv.known_carriers() + ")"
    ]
    assert _count(library) == 0


def test_import_into_postgresql(library, tmp_path, postgres_url):
    """A real server; HEADBLOCK_INVENTORY_ROWS=50000 measures the full list (about 10 s)."""
    import os

    import sqlalchemy as sa

    name = f"inv_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    eng = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    url = postgres_url.replace("/postgres?", f"/{name}?")
    n = int(os.environ.get("HEADBLOCK_INVENTORY_ROWS", "5000"))
    src = _big_csv(tmp_path / "big.csv", n)
    result, first_s = _timed_import(library, src, url)
    assert len(result.added) == n
    changed = src.read_text(encoding="utf-8").replace("Title 7 é", "Title seven")
    src.write_text(changed, encoding="utf-8")
    again, second_s = _timed_import(library, src, url)
    assert again.changed == {"ITEM-000007": ["title 'Title 7 é' → 'Title seven'"]}
    assert again.unchanged == n - 1
    print(f"PostgreSQL, {n} rows: import {first_s:.1f} s, re-import {second_s:.1f} s")
    assert len(inv.list_items(library, url)) == n
