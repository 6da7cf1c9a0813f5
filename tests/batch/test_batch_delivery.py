"""``headblock batch qc`` on a vendor's delivery: a folder of files with no capture log and no
take folder. Run as the command a person types, on its own ``LocalCluster`` (the one cluster of
this module), with root's permission to read any file taken away (``setpriv`` drops
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so a file with no read permission fails to open as
it would for a station's user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch.helpers import program_wav

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def delivery(tmp_path) -> Path:
    d = tmp_path / "vendor-delivery-2026-11"
    d.mkdir()
    program_wav(d / "tape_a.wav", 4.0, seed=1)
    program_wav(d / "tape_b.wav", 4.0, seed=2)
    # a test pattern in FFV1/Matroska: its colours leave the broadcast range (a known fault)
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi",
            "-i", "testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "1", "-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1",
            "-slices", "24", "-field_order", "bb", "-c:a", "pcm_s24le", "-ac", "2",
            "-shortest", str(d / "tape_c.mkv"),
        ],
        check=True,
    )  # fmt: skip
    whole = (d / "tape_a.wav").read_bytes()
    (d / "tape_d.wav").write_bytes(whole[: len(whole) // 2])  # cut short in transfer
    (d / "tape_e.mov").write_bytes(os.urandom(50_000))  # not a QuickTime file at all
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(d / "tape_b.wav"), "-c:a", "libmp3lame",
         str(d / "tape_f.mp3")],
        check=True,
    )  # fmt: skip
    shutil.copyfile(d / "tape_b.wav", d / "tape_g.wav")
    (d / "tape_g.wav").chmod(0o000)  # no read permission
    os.mkfifo(d / "tape_h.wav")  # a named pipe where a file should be
    (d / "tape_a.wav.md5").write_text("0" * 32 + "  tape_a.wav\n")  # a sidecar, not media
    return d


def test_delivery_report_lists_every_bad_file_once_failures_first(delivery, tmp_path):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop root's right to read any file")
    cmd = [sys.executable, "-m", "headblock", "batch", "qc", str(delivery), "--workers", "1"]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HEADBLOCK_CONFIG": str(tmp_path / "none")}
    env.pop("HEADBLOCK_CATALOGUE_URL", None)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # files failed: the batch itself completed
    assert "Traceback" not in proc.stderr

    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Delivery QC report: 8 file(s)")
    said = {}
    for line in lines[1:]:
        m = re.match(r"(FAIL|ERROR|WARN)\s+(\S+): (.*)", line)
        if m:
            said[Path(m.group(2)).name] = (m.group(1), m.group(3))
    assert said["tape_c.mkv"][0] == "FAIL" and "out_of_range fail" in said["tape_c.mkv"][1]
    assert said["tape_d.wav"][0] == "ERROR" and "truncated" in said["tape_d.wav"][1]
    assert said["tape_e.mov"][0] == "ERROR" and "cannot be read as media" in said["tape_e.mov"][1]
    assert (
        said["tape_f.mp3"][0] == "ERROR" and "unsupported file type .mp3" in said["tape_f.mp3"][1]
    )
    assert said["tape_g.wav"][0] == "ERROR" and "Permission denied" in said["tape_g.wav"][1]
    assert said["tape_h.wav"][0] == "ERROR" and "not a regular file" in said["tape_h.wav"][1]
    assert "tape_a.wav" not in said and "tape_b.wav" not in said
    assert "pass 2" in proc.stdout and "error 5" in proc.stdout and "fail 1" in proc.stdout

    report = Path(lines[-1].removeprefix("report: "))
    assert report.parent == delivery and report.name.startswith("headblock-batch-qc-")
    html = report.read_text()
    assert "<h1>Delivery QC report</h1>" in html and "need the vendor's attention" in html
    order = re.findall(r"<td class='p'>([^<]+)</td>", html)
    assert order.index("tape_c.mkv") < order.index("tape_d.wav") < order.index("tape_a.wav")
    assert len(order) == 8  # one row per file, sidecars left out
    for good in ("tape_a", "tape_b"):
        assert (delivery / f"{good}.qc.json").exists()  # written by the worker
    assert not (delivery / "catalogue.sqlite").exists()  # no take: no catalogue
    assert not list(delivery.glob(".headblock-batch-*"))  # finished: no journal left
