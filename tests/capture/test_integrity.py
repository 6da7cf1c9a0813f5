"""The after-take integrity job on real takes (lavfi video through the real device path, the
demo audio input), with faults planted in the stored bytes and in the framemd5."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import av
import pytest

from capture.audio_take import AudioTake, AudioTakeSettings
from capture.integrity import mark_pending, run_integrity, spawn_integrity
from capture.video.take import VideoTake, VideoTakeSettings
from metadata.catalogue.database import list_takes
from metadata.formats import premis
from metadata.formats.pbcore import write_pbcore
from metadata.take.log import read_log
from metadata.take.naming import paths_for_take_dir
from qc.report import write_report
from tests.capture.helpers import REPO, log_events, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")

TINY = (
    "lavfi:testsrc2=size=64x48:rate=25,noise=alls=30:allf=t+u,format=yuv422p10le[out0];"
    "sine=frequency=1000:sample_rate=48000[out1]"
)
FRAME_S = 1 / 25


def _video_take(library: Path, item: str, seconds: float, device: str = TINY, qc=True):
    take = VideoTake(
        VideoTakeSettings(device=device, library=library, item=item, seconds=seconds, run_qc=qc)
    )
    take.start()
    assert take.wait(seconds + 60), "the take did not finish"
    assert take.error is None, take.error
    return take


def _as_at_stop(take_dir: Path, record):
    """The take as the end of a take leaves it for the job: no .md5, PBCore and PREMIS
    without the MD5, PREMIS with the capture event alone."""
    paths = paths_for_take_dir(take_dir)
    record = dataclasses.replace(record, master=paths.master(record.kind), md5="", size_bytes=0)
    paths.master(record.kind).with_name(paths.master(record.kind).name + ".md5").unlink()
    write_pbcore(record, paths.pbcore)
    premis.write_premis(record, [premis.capture_event(record)], paths.premis)
    return record


@pytest.fixture(scope="module")
def video_source(tmp_path_factory):
    """One second of 64x48 10-bit 4:2:2 video with sound, QC run, as a take leaves it."""
    library = tmp_path_factory.mktemp("vsrc")
    take = _video_take(library, "VID", 1.0)
    return take.paths.directory, take.result.record, dict(take.writer.stats.essence_md5)


@pytest.fixture(scope="module")
def audio_source(tmp_path_factory):
    library = tmp_path_factory.mktemp("asrc")
    take = AudioTake(AudioTakeSettings(device="demo", item="AUD", library=library, seconds=0.5))
    paths = take.start()
    assert take.wait(30)
    written = log_events(paths.directory, "fixity")[0].fields["essence_md5"]
    return paths.directory, take.result.record, written


def _copy(source, tmp_path: Path):
    """A take of its own in a library of its own, at Stop."""
    take_dir, record, written = source
    dest = tmp_path / "lib" / take_dir.parent.name / take_dir.name
    shutil.copytree(take_dir, dest)
    for stale in dest.parent.parent.glob("catalogue.sqlite*"):
        stale.unlink()
    return dest, _as_at_stop(dest, record), written


def _qc(take_dir: Path) -> dict:
    return json.loads(paths_for_take_dir(take_dir).qc_json.read_text())


def _catalogue_state(take_dir: Path) -> str:
    rows = list_takes(take_dir.parent.parent)
    return next(r["integrity"] for r in rows if r["identifier"] == take_dir.name)


def _packet_of_frame(master: Path, index: int) -> tuple[int, int]:
    with av.open(str(master)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
        return packets[index].pos, packets[index].size


def test_clean_video_take_is_done_with_every_record(video_source, tmp_path):
    take_dir, record, written = _copy(video_source, tmp_path)
    paths = paths_for_take_dir(take_dir)
    mark_pending(take_dir)
    assert _qc(take_dir)["integrity"]["state"] == "pending"
    assert _catalogue_state(take_dir) == "pending"
    write_report(take_dir)
    assert "After-take integrity</td><td>pending" in paths.qc_html.read_text()
    assert video_source[1].md5 not in paths.pbcore.read_text()

    seen = []
    result = run_integrity(take_dir, record, written, lambda f, m="": seen.append(f))
    assert result.state == "done", result.detail
    assert result.fixity_ok is True and result.frames.ok and result.frames.decoded == 25
    assert seen == sorted(seen) and seen[-1] == 1.0
    master = paths.master("video")
    md5 = hashlib.md5(master.read_bytes()).hexdigest()
    assert (take_dir / f"{master.name}.md5").read_text() == f"{md5}  {master.name}\n"
    assert record.md5 == md5 == result.md5 and record.size_bytes == master.stat().st_size
    assert f">{md5}<" in paths.pbcore.read_text()
    assert premis.read_fixity(paths.premis) == md5
    types = [(e.type, e.outcome) for e in premis.read_events(paths.premis)]
    assert types == [
        ("capture", "success"),
        ("message digest calculation", "success"),
        ("fixity check", "success"),  # the essence read back
        ("fixity check", "success"),  # the decoded frames against the framemd5
    ]
    qc = _qc(take_dir)
    assert qc["integrity"]["state"] == "done" and qc["integrity"]["framemd5"] == "pass"
    assert qc["integrity"]["fixity"] == "pass" and qc["integrity"]["finished_utc"]
    assert next(c for c in qc["checks"] if c["id"] == "framemd5")["status"] == "pass"
    assert next(c for c in qc["checks"] if c["id"] == "decode_error")["status"] == "pass"
    assert qc["integrity"]["decode_errors"] == 0
    assert _catalogue_state(take_dir) == "done"
    states = [e.fields["state"] for e in read_log(paths.log) if e.event == "integrity"]
    assert states == ["pending", "done"]
    report = paths.qc_html.read_text()  # rewritten by the job
    assert "After-take integrity</td><td>done: MD5 " + md5 in report
    assert "Decoded frames vs framemd5</td><td>verified" in report


def test_a_flipped_byte_in_a_frame_fails_that_frame(video_source, tmp_path):
    take_dir, record, written = _copy(video_source, tmp_path)
    master = paths_for_take_dir(take_dir).master("video")
    pos, size = _packet_of_frame(master, 10)
    with open(master, "r+b") as f:
        f.seek(pos + size // 2)
        byte = f.read(1)
        f.seek(pos + size // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    result = run_integrity(take_dir, record, written)
    assert result.state == "failed"
    assert result.fixity_ok is False and "video packets" in result.fixity_detail
    assert [d.index for d in result.frames.differences] == [10]
    qc = _qc(take_dir)
    assert qc["verdict"] == "fail"
    events = [e for e in qc["events"] if e["check"] == "framemd5"]
    assert len(events) == 1
    assert events[0]["start_s"] == pytest.approx(10 * FRAME_S)
    assert events[0]["end_s"] == pytest.approx(11 * FRAME_S)
    assert events[0]["detail"].startswith("frame 10 ")
    assert qc["integrity"]["state"] == "failed" and qc["integrity"]["framemd5"] == "fail"
    # the same decode kept the decoder's own complaint, at the frame's time
    crc = [e for e in qc["events"] if e["check"] == "decode_error"]
    assert crc and "slice CRC mismatch" in crc[0]["detail"]
    assert crc[0]["start_s"] == pytest.approx(10 * FRAME_S)
    assert qc["integrity"]["decode_errors"] >= 1
    assert _catalogue_state(take_dir) == "failed"
    outcomes = [e.outcome for e in premis.read_events(paths_for_take_dir(take_dir).premis)]
    assert outcomes[-2:] == ["failure", "failure"]


def test_a_changed_framemd5_line_fails_that_frame(video_source, tmp_path):
    take_dir, record, written = _copy(video_source, tmp_path)
    sidecar = paths_for_take_dir(take_dir).framemd5
    lines = sidecar.read_text().splitlines()
    at = next(
        i for i, ln in enumerate(lines) if ln.startswith("0,") and ln.split(",")[2].strip() == "7"
    )
    lines[at] = lines[at][:-32] + "0" * 32
    sidecar.write_text("\n".join(lines) + "\n")
    result = run_integrity(take_dir, record, written)
    assert result.state == "failed" and result.fixity_ok is True
    assert [d.index for d in result.frames.differences] == [7]
    qc = _qc(take_dir)
    assert qc["verdict"] == "fail"
    assert [e["start_s"] for e in qc["events"] if e["check"] == "framemd5"] == [
        pytest.approx(7 * FRAME_S)
    ]
    assert qc["integrity"] == {**qc["integrity"], "fixity": "pass", "framemd5": "fail"}
    assert "frame 7" in qc["integrity"]["detail"]


def test_audio_take_done_then_flipped_data_fails_fixity(audio_source, tmp_path):
    take_dir, record, written = _copy(audio_source, tmp_path / "clean")
    result = run_integrity(take_dir, record, written)
    assert result.state == "done" and result.fixity_ok is True and result.frames is None
    master = paths_for_take_dir(take_dir).master("audio")
    assert premis.read_fixity(paths_for_take_dir(take_dir).premis) == result.md5
    assert _qc(take_dir)["integrity"]["framemd5"] is None

    take_dir, record, written = _copy(audio_source, tmp_path / "flipped")
    master = paths_for_take_dir(take_dir).master("audio")
    data = bytearray(master.read_bytes())
    data[-1000] ^= 0x01  # inside the data chunk (the last chunks are short)
    master.write_bytes(bytes(data))
    result = run_integrity(take_dir, record, written)
    assert result.state == "failed" and result.fixity_ok is False
    qc = _qc(take_dir)
    assert qc["integrity"]["state"] == "failed" and qc["integrity"]["fixity"] == "fail"
    assert "audio data MD5" in qc["integrity"]["detail"]
    assert _catalogue_state(take_dir) == "failed"
    fixity = [e for e in log_events(take_dir, "fixity")][-1]
    assert fixity.level == "ERROR" and fixity.fields["verified"] is False


def _policy_and_nice(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[38]), int(fields[16])  # policy (41st field), nice (19th)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
def test_the_job_runs_at_idle_priority_and_reports(video_source, tmp_path):
    take_dir, record, written = _copy(video_source, tmp_path)
    progress, finished = [], []
    job = spawn_integrity(
        take_dir, record, written, finished.append, lambda f, m: progress.append(f)
    )
    seen = wait_for(lambda: job.done() or _policy_and_nice(job.pid)[0] == os.SCHED_IDLE, 30, 0.002)
    assert seen is True and not job.done(), "the job ended before its priority was seen"
    assert _policy_and_nice(job.pid)[1] == 19
    import psutil

    assert psutil.Process(job.pid).ionice().ioclass == psutil.IOPRIO_CLASS_IDLE
    assert job.wait(60)
    assert job.result.state == "done" and job.progress == 1.0
    assert finished == [job.result] and progress
    assert _qc(take_dir)["integrity"]["state"] == "done"
    states = [e.fields["state"] for e in log_events(take_dir, "integrity")]
    assert states == ["pending", "done"]  # pending said before the process started


def test_a_killed_job_ends_failed_and_loses_nothing(video_source, tmp_path):
    take_dir, record, written = _copy(video_source, tmp_path)
    paths = paths_for_take_dir(take_dir)
    master = paths.master("video")
    before = {p.name: p.read_bytes() for p in (master, paths.framemd5, paths.premis)}
    checks_before = _qc(take_dir)["checks"]
    job = spawn_integrity(take_dir, record, written)
    os.kill(job.pid, signal.SIGKILL)
    assert job.wait(30)
    assert job.result.state == "failed"
    assert "killed by signal 9" in job.result.detail and "headblock verify" in job.result.detail
    assert "its .md5 was not written: run `headblock recover" in job.result.detail
    qc = _qc(take_dir)
    assert qc["integrity"]["state"] == "failed" and qc["checks"] == checks_before
    assert _catalogue_state(take_dir) == "failed"
    assert [e.level for e in log_events(take_dir, "integrity")] == ["INFO", "ERROR"]
    assert {p.name: p.read_bytes() for p in (master, paths.framemd5, paths.premis)} == before
    # checked again later: the job's work run once more finds the take whole
    assert run_integrity(take_dir, record, written).state == "done"
    assert _catalogue_state(take_dir) == "done"


def test_a_second_take_while_the_job_runs_loses_nothing(tmp_path):
    first = _video_take(tmp_path / "lib", "FIRST", 2.0, qc=False)
    job = spawn_integrity(
        first.paths.directory, first.result.record, first.writer.stats.essence_md5
    )
    device = (
        "lavfi:testsrc2=size=320x240:rate=25,format=yuv422p10le[out0];"
        "sine=frequency=1000:sample_rate=48000[out1]"
    )
    second = VideoTake(
        VideoTakeSettings(
            device=device, library=tmp_path / "lib", item="SECOND", seconds=5.0, run_qc=False
        )
    )
    second.start()
    assert not job.done(), "the job must run while the second take records"
    assert second.wait(60) and second.error is None
    status = second.status()
    assert status.frames_lost == 0 and status.frames_dropped == 0
    assert status.frames_written == 125
    assert job.wait(60) and job.result.state == "done", job.result.detail


def test_headblock_verify_records_the_state_as_the_job_does(video_source, tmp_path):
    import subprocess
    import sys

    take_dir, record, written = _copy(video_source, tmp_path)
    run_integrity(take_dir, record, written)
    sidecar = paths_for_take_dir(take_dir).framemd5
    lines = sidecar.read_text().splitlines()
    at = next(
        i for i, ln in enumerate(lines) if ln.startswith("0,") and ln.split(",")[2].strip() == "3"
    )
    lines[at] = lines[at][:-32] + "f" * 32
    sidecar.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "headblock", "verify", str(take_dir)],
        capture_output=True, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "1 frame(s) differ" in out.stdout
    qc = _qc(take_dir)
    assert qc["integrity"]["state"] == "failed" and qc["integrity"]["by"] == "headblock verify"
    assert [e["start_s"] for e in qc["events"] if e["check"] == "framemd5"] == [
        pytest.approx(3 * FRAME_S)
    ]
    assert qc["verdict"] == "fail" and _catalogue_state(take_dir) == "failed"
    shutil.copy(paths_for_take_dir(_copy(video_source, tmp_path / "b")[0]).framemd5, sidecar)
    out = subprocess.run(
        [sys.executable, "-m", "headblock", "verify", str(take_dir)],
        capture_output=True, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    qc = _qc(take_dir)
    assert qc["integrity"]["state"] == "done"
    assert not [e for e in qc["events"] if e["check"] == "framemd5"]
    assert _catalogue_state(take_dir) == "done"


def test_a_missing_master_is_one_clear_failure(audio_source, tmp_path):
    take_dir, record, written = _copy(audio_source, tmp_path)
    paths = paths_for_take_dir(take_dir)
    paths.master("audio").unlink()
    result = run_integrity(take_dir, record, written)
    assert result.state == "failed" and result.fixity_ok is None
    assert result.detail.startswith(f"cannot check {paths.stem}.wav: ")
    assert "No such file" in result.detail and "\n" not in result.detail
    assert _qc(take_dir)["integrity"]["detail"] == result.detail
    assert _catalogue_state(take_dir) == "failed"


def test_a_stopped_job_says_why(video_source, tmp_path):
    take_dir, record, written = _copy(video_source, tmp_path)
    job = spawn_integrity(take_dir, record, written)
    job.stop("the station was closed")
    assert job.wait(30) and job.result.state == "failed"
    assert "(the station was closed)" in job.result.detail
    assert "the station was closed" in _qc(take_dir)["integrity"]["detail"]
