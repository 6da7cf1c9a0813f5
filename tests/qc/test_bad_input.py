"""Bad input to ``headblock qc``: one clear line on stderr, exit 2, never a traceback or a hang."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from headblock.cli import main as headblock
from tests.fixtures import signals as S

RATE = 48000
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    x = S.program(3, RATE, 2, seed=2, kind="music")
    wav = S.write_wav(d / "g.wav", x, RATE)
    av = pytest.importorskip("av")
    mkv = d / "g.mkv"
    with av.open(str(mkv), "w") as out:
        st = out.add_stream("pcm_s24le", rate=RATE, layout="stereo")
        xi = (np.round(x * 2**23).astype(np.int32)) << 8
        fr = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(xi).reshape(1, -1), format="s32", layout="stereo"
        )
        fr.sample_rate = RATE
        for p in [*st.encode(fr), *st.encode(None)]:
            out.mux(p)
    return {"wav": wav.read_bytes(), "mkv": mkv.read_bytes()}


def _riff(fmt_code: int = 1, data: bytes = b"") -> bytes:
    fmt = struct.pack("<HHIIHH", fmt_code, 2, RATE, RATE * 6, 6, 24)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


CASES = {
    "zero-length wav": ("x.wav", lambda g: b"", "empty"),
    "zero-length mkv": ("x.mkv", lambda g: b"", "empty"),
    "truncated wav": ("x.wav", lambda g: g["wav"][: len(g["wav"]) // 2], "truncated"),
    "wav cut inside its header": ("x.wav", lambda g: g["wav"][:30], "truncated"),
    "truncated mkv": ("x.mkv", lambda g: g["mkv"][: len(g["mkv"]) // 3], "truncated"),
    "random bytes as wav": ("x.wav", lambda g: os.urandom(4096), "not a WAV"),
    "riff header then garbage": ("x.wav", lambda g: g["wav"][:12] + os.urandom(3000), "corrupt"),
    "unknown wav format code": (
        "x.wav",
        lambda g: _riff(0x7777, bytes(600)),
        "not a readable audio file",
    ),
    "wav without samples": ("x.wav", lambda g: _riff(1, b""), "no samples"),
    "mkv header then garbage": (
        "x.mkv",
        lambda g: g["mkv"][:60] + os.urandom(len(g["mkv"]) - 60),
        "cannot be read",
    ),
    "mkv named wav": ("x.wav", lambda g: g["mkv"], "wrong extension"),
    "wav named mkv": ("x.mkv", lambda g: g["wav"], "wrong extension"),
    "text named wav": ("x.wav", lambda g: b"hello, this is not audio\n" * 20, "not a WAV"),
    "unsupported extension": ("x.txt", lambda g: b"hello", "unsupported"),
    "no extension": ("noext", lambda g: g["wav"], "unsupported"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_one_line_exit_2(case, good, tmp_path, capsys):
    name, make, words = CASES[case]
    f = tmp_path / name
    f.write_bytes(make(good))
    status = headblock(["qc", str(f)])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("headblock: "), err
    assert words in lines[0], lines[0]
    assert "Traceback" not in err and "unexpected error" not in err
    assert not list(tmp_path.glob("*.qc.json"))


def test_missing_file_and_folder(tmp_path, capsys):
    assert headblock(["qc", str(tmp_path / "nope.wav")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert headblock(["qc", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err


def test_fifo_is_refused_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    assert headblock(["qc", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_json_to_missing_folder(good, tmp_path, capsys):
    f = tmp_path / "ok.wav"
    f.write_bytes(good["wav"])
    assert headblock(["qc", str(f), "--json", str(tmp_path / "no" / "such" / "out.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_real_command_prints_no_traceback(tmp_path):
    f = tmp_path / "junk.wav"
    f.write_bytes(b"RIFF" + os.urandom(200))
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run(
        [sys.executable, "-m", "headblock.cli", "qc", str(f)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
