"""`headblock signoff`: decisions appended with hashes; verify_signoff catches later changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from headblock.cli import main
from metadata.catalogue import database as catalogue
from metadata.errors import HeadblockError
from metadata.review.signoff import read_decisions, sha256_file, verify_signoff
from metadata.take.naming import new_take_dir
from qc.report import write_report
from qc.signoff import signoff


def test_signoff_generates_report_and_records_hashes(audio_take, capsys):
    assert not audio_take.qc_html.exists()
    assert (
        main(
            [
                "signoff",
                str(audio_take.directory),
                "--by",
                "S. Upervisor",
                "--decision",
                "approved",
                "--comment",
                "clean transfer",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "approved by S. Upervisor" in out
    assert audio_take.qc_html.exists()  # the report is made first when missing
    (d,) = read_decisions(audio_take.directory)
    assert (
        d["by"] == "S. Upervisor"
        and d["decision"] == "approved"
        and d["comment"] == "clean transfer"
    )
    assert d["at_utc"].endswith("Z")
    assert d["sha256"]["qc_json"] == sha256_file(audio_take.qc_json)
    assert d["sha256"]["report_html"] == sha256_file(audio_take.qc_html)
    assert "report_pdf" not in d["sha256"]
    assert verify_signoff(audio_take.directory) == []
    rows = catalogue.list_takes(audio_take.directory.parent.parent)
    assert rows[0]["state"] == "signed_off"
    # the decision is a PREMIS event, valid against the schema, carrying the hashes
    from lxml import etree

    from metadata.formats.xmlvalidate import validate

    tree = validate(etree.parse(str(audio_take.premis)), "premis")
    ns = {"p": "http://www.loc.gov/premis/v3"}
    (ev,) = [
        e
        for e in tree.getroot().findall("p:event", ns)
        if e.findtext("p:eventType", namespaces=ns) == "appraisal"
    ]
    assert ev.findtext("p:eventOutcomeInformation/p:eventOutcome", namespaces=ns) == "approved"
    note = ev.findtext(".//p:eventOutcomeDetailNote", namespaces=ns)
    assert f"REEL-001_t01.qc.json sha256:{d['sha256']['qc_json']}" in note
    assert "comment: clean transfer" in note
    assert "S. Upervisor" in etree.tostring(tree).decode()


def test_pdf_is_hashed_when_present_and_tampering_is_named(audio_take):
    write_report(audio_take.directory, pdf=True)
    signoff(audio_take.directory, "S. Upervisor", "approved")
    assert verify_signoff(audio_take.directory) == []
    qc = json.loads(audio_take.qc_json.read_text())
    qc["verdict"] = "pass"
    audio_take.qc_json.write_text(json.dumps(qc))
    problems = verify_signoff(audio_take.directory)
    assert len(problems) == 1 and problems[0].startswith("REEL-001_t01.qc.json changed")
    audio_take.qc_pdf.write_bytes(audio_take.qc_pdf.read_bytes() + b"\n")
    audio_take.qc_html.unlink()
    problems = verify_signoff(audio_take.directory)
    assert len(problems) == 3
    assert any(p.startswith("REEL-001_t01.qc.pdf changed") for p in problems)
    assert any(p.startswith("REEL-001_t01.qc.html is missing") for p in problems)


def test_verify_command_fails_after_tampering(audio_take, capsys):
    pytest.importorskip(
        "metadata.review.verify", reason="metadata.review.verify (headblock verify) not landed yet"
    )
    signoff(audio_take.directory, "S. Upervisor", "approved")
    assert main(["verify", str(audio_take.directory)]) == 0
    capsys.readouterr()
    audio_take.qc_html.write_text(audio_take.qc_html.read_text() + "<!-- edited -->")
    assert main(["verify", str(audio_take.directory)]) == 1
    captured = capsys.readouterr()
    assert "REEL-001_t01.qc.html" in captured.out + captured.err


def test_decisions_are_appended_never_rewritten(audio_take, library):
    first = signoff(
        audio_take.directory,
        "S. Upervisor",
        "rejected",
        "hum on side A",
        now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    before = audio_take.signoff_json.read_text()
    rows = catalogue.list_takes(library)
    assert rows[0]["state"] == "rejected"
    # the report stays as signed: regenerating it would void the decision
    with pytest.raises(HeadblockError, match="signed off"):
        write_report(audio_take.directory)
    # a rejected take is re-captured as a new take; nothing of t01 is touched
    t02 = new_take_dir(library, "REEL-001")
    assert t02.take_number == 2 and audio_take.signoff_json.read_text() == before
    second = signoff(audio_take.directory, "H. Ead", "approved", "hum is on the original")
    decs = read_decisions(audio_take.directory)
    assert [d["decision"] for d in decs] == ["rejected", "approved"]
    assert decs[0] == first and decs[1] == second
    assert first["at_utc"] == "2026-01-02T03:04:05.000Z"
    assert catalogue.list_takes(library)[0]["state"] == "signed_off"
    hist = catalogue.take_history("REEL-001_t01", library)
    assert [d["decision"] for d in hist["decisions"]] == ["rejected", "approved"]


def test_bad_signoff_input_is_one_line_exit_2(library, audio_take, capsys):
    bare = library / "EMPTY" / "EMPTY_t01"
    bare.mkdir(parents=True)
    assert main(["signoff", str(bare), "--by", "X", "--decision", "approved"]) == 2
    assert "no QC result" in capsys.readouterr().err
    assert main(["signoff", str(audio_take.directory), "--by", " ", "--decision", "approved"]) == 2
    assert main(["signoff", str(library), "--by", "X", "--decision", "approved"]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse refuses it before the handler runs
        main(["signoff", str(audio_take.directory), "--by", "X", "--decision", "maybe"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and not audio_take.signoff_json.exists()


def test_unsigned_take_verifies_clean_and_damaged_record_is_a_problem(audio_take):
    assert verify_signoff(audio_take.directory) == []
    audio_take.signoff_json.write_text("{not json")
    (problem,) = verify_signoff(audio_take.directory)
    assert "REEL-001_t01.signoff.json" in problem
