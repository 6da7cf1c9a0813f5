"""A take killed with SIGKILL is made valid by ``headblock recover`` without losing audio."""

import signal
import subprocess
import time

import numpy as np
import soundfile as sf

from headblock.cli import main
from tests.capture.helpers import data_chunk_size, log_events, spawn, wait_for
from tests.capture.test_audio_take import demo_pcm24


def test_kill_9_then_recover(tmp_path, capsys):
    lib = tmp_path / "lib"
    proc = spawn(["capture", "audio", "--device", "demo", "--item", "CRASH", "--library",
                  str(lib), "--seconds", "30"])  # fmt: skip
    try:
        take = wait_for(lambda: list((lib / "CRASH").glob("CRASH_t*")), 30)[0]
        wav = take / "CRASH_t01.wav"
        # wait for at least two header updates, then kill right after one
        wait_for(lambda: data_chunk_size(wav) >= 2 * 96000 * 6, 30)
        declared = data_chunk_size(wav)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (take / "CRASH_t01.wav.md5").exists()
    assert main(["recover", str(lib)]) == 0
    out = capsys.readouterr().out
    assert "recovered CRASH_t01.wav" in out
    audio, rate = sf.read(str(wav), dtype="int32")
    assert rate == 96000 and len(audio) >= declared // 6
    # every frame kept is the program the deck played, none altered
    np.testing.assert_array_equal(audio >> 8, demo_pcm24(0, len(audio)))
    r = subprocess.run(["md5sum", "-c", "CRASH_t01.wav.md5"], cwd=take, capture_output=True)
    assert r.returncode == 0
    rec = log_events(take, "recovery")
    assert rec and rec[0].fields["outcome"] == "recovered"
    premis = (take / "CRASH_t01.premis.xml").read_text()
    assert "recovery" in premis and "recovered" in premis
    assert (take / "CRASH_t01.pbcore.xml").is_file()
    assert not (take / ".headblock-reserve").exists()
    # a second run finds nothing left open
    assert main(["recover", str(lib)]) == 0
    assert "no open take" in capsys.readouterr().err


def test_recover_leaves_closed_takes_alone(tmp_path, capsys):
    lib = tmp_path / "lib"
    assert main(["capture", "audio", "--device", "demo", "--item", "DONE", "--library",
                 str(lib), "--seconds", "0.3", "--no-qc"]) == 0  # fmt: skip
    wav = lib / "DONE" / "DONE_t01" / "DONE_t01.wav"
    before = wav.read_bytes()
    time.sleep(0.01)
    assert main(["recover", str(lib)]) == 0
    assert wav.read_bytes() == before


def test_recover_missing_library_is_exit_2(tmp_path, capsys):
    assert main(["recover", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
