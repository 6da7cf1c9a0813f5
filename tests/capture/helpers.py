"""Helpers shared by the capture tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from metadata.take.log import read_log

REPO = Path(__file__).resolve().parents[2]


def ffmpeg_framemd5(path, bitexact: bool = True) -> bytes:
    """FFmpeg's own framemd5 of a file's video stream: the reference Headblock must equal."""
    cmd = ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v"]
    cmd += ["-fflags", "+bitexact"] if bitexact else []
    cmd += ["-f", "framemd5", "-"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def headblock_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "headblock", *args]


def spawn(args: list[str], env: dict | None = None) -> subprocess.Popen:
    env = dict(env or os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        headblock_cmd(*args),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout_s: float, interval_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def only_take_dir(library: Path, item: str) -> Path:
    dirs = sorted((Path(library) / item).glob(f"{item}_t*"))
    assert len(dirs) == 1, dirs
    return dirs[0]


def log_events(take_dir: Path, name: str | None = None):
    logs = list(Path(take_dir).glob("*.log"))
    events = read_log(logs[0]) if logs else []
    return [e for e in events if name is None or e.event == name]


def data_chunk_size(wav: Path) -> int:
    """The data size the header declares right now (0 when not found)."""
    try:
        with open(wav, "rb") as f:
            blob = f.read(8192)
    except FileNotFoundError:
        return 0
    at = blob.find(b"data")
    return int.from_bytes(blob[at + 4 : at + 8], "little") if at >= 0 else 0


def best_offset(haystack: np.ndarray, needle: np.ndarray) -> int:
    """Offset of ``needle`` in ``haystack`` (first channel) by FFT cross-correlation.

    Tonal material correlates almost as well one note or one demo cycle away, so among the
    highest peaks the first one where the samples match exactly wins (else the highest)."""
    from scipy.signal import fftconvolve, find_peaks

    a = haystack[:, 0].astype(np.float64)
    b = needle[:, 0].astype(np.float64)
    corr = np.abs(fftconvolve(a, b[::-1], mode="valid"))
    peaks, _ = find_peaks(np.concatenate([[0.0], corr, [0.0]]), distance=50)
    peaks -= 1
    candidates = peaks[np.argsort(corr[peaks])[::-1][:200]]
    k = min(len(needle), 2000)
    for off in candidates:
        if np.array_equal(haystack[off : off + k], needle[:k]):
            return int(off)
    return int(candidates[0])
