"""The dashboard: known counts, hours, pace and end date; 5,000 takes in under a second."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

from headblock.cli import main
from metadata.catalogue import database as catalogue
from metadata.catalogue import inventory as inv
from metadata.collection.dashboard import collect, text_lines

TODAY = date(2026, 12, 1)


def _inventory(library, tmp_path, n: int, carriers=("VHS", "audio cassette")):
    lines = ["identifier,title,carrier"]
    lines += [f"IT-{i:05d},T{i},{carriers[i % len(carriers)]}" for i in range(n)]
    (tmp_path / "l.csv").write_text("\n".join(lines) + "\n")
    inv.import_list(library, tmp_path / "l.csv")


def _takes(library, specs):
    """Take folders (an empty master, a qc.json) and their catalogue rows, as a sync makes them.

    ``specs``: (item, captured day, duration_s, verdict, signed-off day or None).
    """
    eng = catalogue.engine_for(catalogue.resolve_url(library))
    rows = []
    for item, day, duration_s, verdict, signed in specs:
        take_dir = library / item / f"{item}_t01"
        take_dir.mkdir(parents=True)
        (take_dir / f"{item}_t01.wav").write_bytes(b"")
        (take_dir / f"{item}_t01.qc.json").write_text(json.dumps({"verdict": verdict}))
        if signed:
            (take_dir / f"{item}_t01.signoff.json").write_text(
                json.dumps({"decisions": [{"decision": "approved"}]})
            )
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
        rows.append(
            {
                "identifier": f"{item}_t01",
                "item": item,
                "take_number": 1,
                "library": str(library.resolve()),
                "take_dir": str(take_dir),
                "kind": "audio",
                "master": "",
                "state": "signed_off" if signed else "qc_done",
                "verdict": verdict,
                "duration_s": duration_s,
                "events": 0,
                "qc_json": "",
                "report": "",
                "captured_utc": at,
                "qc_utc": at,
                "decided_utc": datetime.combine(signed, datetime.min.time(), UTC)
                if signed
                else None,
                "updated_utc": at,
            }
        )
    with eng.begin() as conn:
        conn.execute(catalogue.takes.insert(), rows)


def test_known_counts_hours_and_projected_end(library, tmp_path, capsys):
    _inventory(library, tmp_path, 10)
    d0, d1 = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    _takes(
        library,
        [
            ("IT-00000", d0, 3600.0, "pass", d1),
            ("IT-00001", d0, 1800.0, "warn", None),
            ("IT-00002", d1, 5400.0, "fail", None),
            ("IT-00003", d1, 900.0, "pass", TODAY),
        ],
    )
    inv.hold(library, "IT-00009", "mould, at the cleaner", "Ann")
    board = collect(library, today=TODAY)
    assert board.by_status == {"listed": 5, "qc_done": 2, "signed_off": 2, "on_hold": 1}
    assert board.by_carrier["VHS"]["signed_off"] == 1  # IT-00000 (even = VHS)
    assert board.hours_per_day == {d0: 1.5, d1: 1.75}
    assert board.qc_outcomes == {"pass": 2, "warn": 1, "fail": 1}
    assert [h["item"] for h in board.on_hold] == ["IT-00009"]
    captured, signed = board.paces
    # 4 items captured over the project's 4 days: 1 a day; 6 to go -> 6 days
    assert (captured.done, captured.remaining, captured.per_day) == (4, 6, 1.0)
    assert captured.end == TODAY + timedelta(days=6)
    # 2 signed off over the 2 days since the first sign-off: 1 a day; 8 to go
    assert (signed.done, signed.per_day, signed.end) == (2, 1.0, TODAY + timedelta(days=8))
    lines = "\n".join(text_lines(board))
    assert "IT-00009: mould, at the cleaner (Ann)" in lines

    out = tmp_path / "dash.html"
    assert main(["dashboard", str(library), "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5  # with throughput and the fixity audit
    assert "mould, at the cleaner" in page


def test_no_pace_yet_and_bad_input(library, tmp_path, capsys):
    _inventory(library, tmp_path, 3)
    board = collect(library, today=TODAY)
    assert [p.end for p in board.paces] == [None, None]
    assert main(["dashboard", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_five_thousand_takes_open_in_under_a_second(library, tmp_path):
    _inventory(library, tmp_path, 6000)
    days = [TODAY - timedelta(days=d) for d in range(30)]
    _takes(
        library,
        [
            (f"IT-{i:05d}", days[i % 30], 1800.0, ("pass", "warn", "fail")[i % 3], None)
            for i in range(5000)
        ],
    )
    t0, cpu0 = time.monotonic(), time.process_time()
    board = collect(library, today=TODAY)
    text_lines(board)
    elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
    print(f"dashboard of 5,000 takes / 6,000 items: {elapsed:.2f} s wall, {cpu:.2f} s CPU")
    assert board.takes == 5000 and board.by_status["qc_done"] == 5000
    # CPU time (user + system, the folder listings included): other jobs sharing the two
    # cores stretch the wall clock, not the work
    assert cpu < 1.0


def test_fixity_audit_state_failures_first_and_the_pdf(library, tmp_path, capsys):
    import shutil
    import subprocess

    import pytest

    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) not installed")
    _inventory(library, tmp_path, 5)
    day = TODAY - timedelta(days=2)
    _takes(library, [(f"IT-{i:05d}", day, 600.0, "pass", None) for i in range(5)])
    eng = catalogue.engine_for(catalogue.resolve_url(library))
    now = datetime.now(UTC)
    checks = [  # take, file, checked, outcome, verified
        ("IT-00000_t01", "IT-00000_t01.wav", now - timedelta(days=1), "success", 1),
        ("IT-00001_t01", "IT-00001_t01.wav", now - timedelta(days=120), "success", 120),
        ("IT-00002_t01", "IT-00002_t01.wav", now - timedelta(hours=3), "failure", 30),
        ("IT-00002_t01", "IT-00002_t01.access.mp4", now - timedelta(hours=3), "success", 0),
    ]
    with eng.begin() as conn:
        for take, name, checked, outcome, verified_days in checks:
            conn.execute(
                catalogue.fixity.insert().values(
                    take=take,
                    file=name,
                    checked_utc=checked,
                    outcome=outcome,
                    verified_utc=now - timedelta(days=verified_days),
                    checks=2,
                )
            )
    board = collect(library, today=TODAY)
    audit = board.fixity
    # 4 checked files + IT-00003 and IT-00004 never checked
    assert audit.files == 6 and audit.verified == 3 and audit.recent == 2
    assert [e["file"] for e in audit.failed] == ["IT-00002_t01.wav"]
    assert [e["take"] for e in audit.never] == ["IT-00003_t01", "IT-00004_t01"]
    assert [e["file"] for e in audit.overdue] == ["IT-00001_t01.wav"]
    assert abs((audit.last_audit - (now - timedelta(hours=3))).total_seconds()) < 1
    lines = text_lines(board)
    start = next(i for i, line in enumerate(lines) if line.startswith("fixity: last audit "))
    assert (
        "6 file(s): 2 verified within 90 days, 1 failed, 2 never verified, 1 last "
        in (lines[start])
    )
    assert lines[start + 1].startswith("  FAILED: IT-00002_t01 IT-00002_t01.wav")  # first
    assert lines[start + 4].startswith("  overdue: IT-00001_t01 IT-00001_t01.wav")

    pdf, page = tmp_path / "dash.pdf", tmp_path / "dash.html"
    lib = str(library)
    assert main(["dashboard", lib, "--pdf", str(pdf), "--html", str(page)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Fixity audit" in text and "FAILED" in text and "IT-00002_t01.wav" in text
    assert "Throughput and projected end" in text and "Items by carrier and status" in text
    assert "never verified" in page.read_text(encoding="utf-8")
    capsys.readouterr()
    # an output folder that does not exist: one line, exit 2, nothing written
    assert main(["dashboard", lib, "--pdf", str(tmp_path / "no" / "d.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("headblock: cannot write ") and err.count("\n") == 1
