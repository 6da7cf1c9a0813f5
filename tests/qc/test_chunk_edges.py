"""A file whose last chunk is shorter than one 10 ms block is checked like any other."""

import numpy as np
import pytest
import soundfile as sf

from qc.audio.reading import BLOCK_S, CHUNK_BLOCKS
from qc.runner import run_qc

RATE = 48000


@pytest.mark.parametrize("tail_frames", [1, int(RATE * BLOCK_S) - 1, int(RATE * BLOCK_S) + 7])
def test_short_last_chunk(tmp_path, tail_frames):
    n = int(RATE * BLOCK_S) * CHUNK_BLOCKS + tail_frames
    t = np.arange(n) / RATE
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    master = tmp_path / "EDGE_t01.wav"
    sf.write(master, np.stack([x, x], 1), RATE, subtype="PCM_24")
    result = run_qc(master).to_dict()
    assert result["duration_s"] == pytest.approx(n / RATE, abs=1e-3)
    assert {c["id"] for c in result["checks"]} >= {"clipping", "dropout", "loudness"}
