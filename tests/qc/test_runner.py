"""The QC runner and ``headblock qc``: sidecars, the qc.json format, exit statuses, and records
QC could not write said, never swallowed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from headblock.cli import main as headblock
from metadata.take.log import TakeLog, read_log
from qc.result import CheckResult, EventMerger, QCEvent, QCResult, merge_events
from qc.runner import run_qc
from qc.sidecars import read_envelope_arrays
from qc.table import CHECKS
from tests.fixtures import signals as S

RATE = 48000


@pytest.fixture
def take(tmp_path):
    d = tmp_path / "LIB" / "REEL-7" / "REEL-7_t01"
    d.mkdir(parents=True)
    return d


def _wav(take, x):
    return S.write_wav(take / f"{take.name}.wav", x, RATE)


@pytest.fixture(scope="module")
def material():
    return S.program(12, RATE, 2, seed=4, kind="mix")


def test_qc_json_and_envelope_beside_the_master(take, material):
    x = material.copy()
    S.inject_zero_dropout(x, RATE, 6.0, 0.01)
    master = _wav(take, x)
    seen = []
    result = run_qc(master, "default", progress=lambda f, msg="": seen.append(f))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    data = json.loads((take / "REEL-7_t01.qc.json").read_text())
    assert list(data) == [
        "file",
        "kind",
        "duration_s",
        "profile",
        "verdict",
        "checks",
        "events",
        "stats",
    ]
    assert (
        data["file"] == "REEL-7_t01.wav"
        and data["kind"] == "audio"
        and data["profile"] == "default"
    )
    assert data["duration_s"] == pytest.approx(12.0)
    assert data["verdict"] == "fail"
    audio_ids = [c.id for c in CHECKS.values() if c.applies_to("audio")]
    assert [c["id"] for c in data["checks"]] == audio_ids
    for c in data["checks"]:
        assert set(c) == {"id", "status", "count", "summary"} and c["status"] in (
            "pass",
            "warn",
            "fail",
        )
    assert [(e["check"], e["channel"]) for e in data["events"]] == [("dropout", 1), ("dropout", 2)]
    for e in data["events"]:
        assert list(e) == ["check", "start_s", "end_s", "channel", "severity", "value", "detail"]
        assert e["start_s"] == pytest.approx(6.0, abs=2e-4) and e["severity"] == "fail"
    assert data["stats"]["integrated_lufs"] < -10 and len(data["stats"]["true_peak_dbtp"]) == 2
    assert QCResult.from_json(json.dumps(data)).to_dict() == data == result.to_dict()
    env = read_envelope_arrays(take / "REEL-7_t01.envelope.npz")
    assert env["peak_dbfs"].shape == (1200, 2) and env["peak_dbfs"].dtype == np.float16
    assert float(env["block_s"]) == 0.01
    # the envelope shows the dropout: 10 ms block 600 is digital silence
    assert env["rms_dbfs"][600].max() < -140 and env["rms_dbfs"][590].max() > -60


def test_cli_exit_statuses_and_json_copy(take, material, tmp_path, capsys):
    master = _wav(take, material)
    out = tmp_path / "copy.json"
    assert headblock(["qc", str(master), "--json", str(out)]) == 0
    assert "PASS" in capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads((take / "REEL-7_t01.qc.json").read_text())
    x = material.copy()
    S.inject_clip(x, RATE, 3.0, 0.05)
    _wav(take, x)
    assert headblock(["qc", str(master)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_warn_verdict_exits_zero(take, material, capsys):
    x = material.copy()
    S.inject_click(x, RATE, 5.0, 0.1)
    master = _wav(take, x)
    assert headblock(["qc", str(master)]) == 0
    data = json.loads((take / "REEL-7_t01.qc.json").read_text())
    assert data["verdict"] == "warn" and [e["check"] for e in data["events"]] == ["click"]


def test_profile_by_path_and_unknown_profile(take, material, tmp_path, capsys):
    x = material.copy()
    S.inject_click(x, RATE, 5.0, 0.1)
    master = _wav(take, x)
    prof = tmp_path / "noclick.toml"
    prof.write_text('[profile]\nname = "noclick"\n[click]\nenabled = false\n')
    assert headblock(["qc", str(master), "--profile", str(prof)]) == 0
    data = json.loads((take / "REEL-7_t01.qc.json").read_text())
    assert data["profile"] == "noclick" and data["verdict"] == "pass"
    assert "click" not in [c["id"] for c in data["checks"]]
    assert headblock(["qc", str(master), "--profile", "nonesuch"]) == 2
    err = capsys.readouterr().err
    assert "nonesuch" in err and len(err.strip().splitlines()) == 1


def test_loose_file_outside_a_take_folder(tmp_path, material):
    master = S.write_wav(tmp_path / "tape side A.wav", material, RATE)
    run_qc(master)
    assert (tmp_path / "tape side A.qc.json").exists() and (
        tmp_path / "tape side A.envelope.npz"
    ).exists()


def test_premis_validation_event_appended(take, material):
    premis = pytest.importorskip("metadata.formats.premis")
    from datetime import UTC, datetime

    from metadata.take.record import AudioEssence, TakeRecord

    master = _wav(take, material)
    now = datetime.now(UTC)
    record = TakeRecord(
        "REEL-7",
        1,
        "audio",
        master,
        master.stat().st_size,
        "0" * 32,
        12.0,
        now,
        now,
        "demo",
        audio=AudioEssence(RATE, 24, 2),
    )
    pfile = take / "REEL-7_t01.premis.xml"
    premis.write_premis(record, None, pfile)
    before = pfile.read_text().count("<premis:event>") + pfile.read_text().count("<event>")
    run_qc(master)
    text = pfile.read_text()
    assert "validation" in text and "pass" in text
    assert text.count("<premis:event>") + text.count("<event>") == before + 1


def test_video_master_runs_video_and_embedded_audio_checks(tmp_path):
    pytest.importorskip("qc.video_checks")
    from tests.qc.videogen import VideoSpec, make_video

    d = tmp_path / "V" / "V_t01"
    d.mkdir(parents=True)
    info = make_video(d / "V_t01.mkv", VideoSpec(frames=45, audio="pcm_s24le"))
    result = run_qc(info.path)
    ids = [c.id for c in result.checks]
    assert result.kind == "video"
    assert "clipping" in ids and "loudness" in ids and "black" in ids
    assert "audio" in result.stats and (d / "V_t01.envelope.npz").exists()
    assert json.loads((d / "V_t01.qc.json").read_text())["kind"] == "video"


def test_event_merger_joins_neighbours_and_keeps_the_worst():
    m = EventMerger("dropout", gap_s=0.05, lower_is_worse=True)
    m.add(1.00, 1.01, 1, "warn", -40.0, "a")
    m.add(1.03, 1.04, 1, "fail", -70.0, "b")  # within the gap: same event
    m.add(1.02, 1.03, 2, "warn", -45.0, "c")  # another channel: its own event
    m.add(2.00, 2.01, 1, "warn", -30.0, "d")  # too far: a new event
    evs = m.finish()
    assert [(e.channel, e.start_s, e.end_s, e.severity, e.value, e.detail) for e in evs] == [
        (1, 1.00, 1.04, "fail", -70.0, "b"),
        (2, 1.02, 1.03, "warn", -45.0, "c"),
        (1, 2.00, 2.01, "warn", -30.0, "d"),
    ]
    merged = merge_events(
        [
            QCEvent("click", t, t + 0.001, 1, "warn", v)
            for t, v in ((1.0, 30.0), (1.01, 40.0), (3.0, 31.0))
        ],
        0.02,
    )
    assert [(e.start_s, e.end_s, e.value) for e in merged] == [
        (1.0, 1.011, 40.0),
        (3.0, 3.001, 31.0),
    ]


def test_verdict_is_the_worst_check_and_json_is_finite():
    r = QCResult(
        "a.wav",
        "audio",
        1.0,
        "default",
        checks=[CheckResult("click", "warn", 1), CheckResult("hum", "pass", 0)],
    )
    assert r.update_verdict() == "warn"
    r.checks.append(CheckResult("dropout", "fail", 2))
    assert r.update_verdict() == "fail"
    r.stats = {"x": float("nan"), "y": np.float32(1.5), "z": np.array([1, 2])}
    r.events = [QCEvent("hum", 0.0, 1.0, None, "warn", float("-inf"))]
    d = json.loads(r.to_json())
    assert d["stats"] == {"x": None, "y": 1.5, "z": [1, 2]} and d["events"][0]["value"] is None


def test_mono_44k1_16bit_and_rf64(tmp_path):
    """Mono chunks are read into a reused buffer: each must be a copy (a dropout in chunk 2 stays)."""
    import soundfile as sf

    x = S.program(15, 44100, 1, seed=3)
    S.inject_zero_dropout(x, 44100, 7.0, 0.01)
    mono = tmp_path / "mono.wav"
    sf.write(mono, x, 44100, subtype="PCM_16")
    r = run_qc(mono)
    assert [(e.check, round(e.start_s, 3), e.channel) for e in r.events] == [("dropout", 7.0, 1)]
    assert r.check("phase").summary.startswith("not applicable")
    y = S.program(10, 96000, 2, seed=3)
    S.inject_click(y, 96000, 3.3, 0.1)
    rf64 = tmp_path / "big.wav"
    sf.write(rf64, y, 96000, subtype="PCM_24", format="RF64")
    assert rf64.read_bytes()[:4] == b"RF64"
    r = run_qc(rf64)
    assert [(e.check, round(e.start_s, 4)) for e in r.events] == [("click", 3.3)]


class _Tty:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_line_on_a_terminal(take, material, monkeypatch, capsys):
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    master = _wav(take, material)
    assert headblock(["qc", str(master)]) == 0
    assert "\rQC REEL-7_t01.wav [" in tty.text and "100.0%" in tty.text and tty.text.endswith("\n")
    tty.text = ""
    master.write_bytes(master.read_bytes()[:1000])  # truncated: the error gets its own line
    assert headblock(["qc", str(master)]) == 2
    assert tty.text.startswith("headblock: ") and "truncated" in tty.text


# ---------------------------------------------------------------------------------------------
# records QC brings in line: a failure is said, never swallowed


@pytest.fixture
def take_with_broken_records(take, material, monkeypatch):
    """A take whose PREMIS file is not XML and whose catalogue cannot be opened."""
    _wav(take, material)
    TakeLog(take / "REEL-7_t01.log").write("take_start", settings={"rate_hz": RATE})
    (take / "REEL-7_t01.premis.xml").write_text("not a PREMIS document\n", encoding="utf-8")
    monkeypatch.setenv("HEADBLOCK_CATALOGUE_URL", f"sqlite:///{take / 'missing' / 'c.sqlite'}")
    return take


def test_a_record_that_failed_is_carried_on_the_result_and_logged(take_with_broken_records):
    take = take_with_broken_records
    result = run_qc(take / "REEL-7_t01.wav")
    premis_failure, catalogue_failure = result.record_failures
    assert premis_failure.startswith("the PREMIS record of REEL-7_t01.premis.xml was not updated")
    assert "not well-formed XML" in premis_failure
    assert catalogue_failure.startswith("the catalogue record of REEL-7_t01 was not updated")
    assert "unable to open database file" in catalogue_failure
    logged = [e for e in read_log(take / "REEL-7_t01.log") if e.event == "record_failed"]
    assert [(e.level, e.fields["record"], e.fields["file"]) for e in logged] == [
        ("ERROR", "PREMIS", "REEL-7_t01.premis.xml"),
        ("ERROR", "catalogue", "REEL-7_t01"),
    ]
    assert all(e.fields["error"] for e in logged)
    # qc.json keeps its format: the failures are the station's news, not the QC result's
    assert "record_failures" not in json.loads((take / "REEL-7_t01.qc.json").read_text())


def test_headblock_qc_says_a_failed_record_on_stderr(take_with_broken_records, capsys):
    take = take_with_broken_records
    headblock(["qc", str(take / "REEL-7_t01.wav")])
    err = capsys.readouterr().err.splitlines()
    said = [line for line in err if "was not updated" in line]
    assert len(said) == 2 and said[0].startswith("REEL-7_t01.wav: the PREMIS record")


def test_records_in_line_leave_no_failure(take, material, tmp_path, monkeypatch):
    monkeypatch.setenv("HEADBLOCK_CATALOGUE_URL", f"sqlite:///{tmp_path / 'c.sqlite'}")
    _wav(take, material)
    assert run_qc(take / "REEL-7_t01.wav").record_failures == []


@pytest.mark.parametrize(("seconds", "verdict"), [(0.01, "warn"), (0.9, "warn"), (1.5, "pass")])
def test_a_master_too_short_to_judge_is_said(take, material, seconds, verdict):
    """A 10 ms take used to pass every check; now it is a warning that names its length."""
    x = material[: int(seconds * RATE)].copy()
    result = run_qc(_wav(take, x), "default", write=False)
    short = [e for e in result.events if e.check == "duration"]
    assert result.verdict == verdict
    assert bool(short) == (verdict == "warn")
    if short:
        assert short[0].severity == "warn" and "too short to judge" in short[0].detail
        assert short[0].end_s == pytest.approx(seconds, abs=0.001)
    assert next(c for c in result.checks if c.id == "duration").summary.endswith("s long")
