"""QC over one whole cycle of the demo deck finds its planted faults and nothing else."""

import numpy as np
import soundfile as sf

from capture.demo import DEMO_CYCLE_S, DEMO_FAULTS, demo_program
from qc.runner import run_qc

RATE = 48000


def test_demo_cycle_raises_exactly_its_faults(tmp_path):
    x = demo_program(RATE, 2, 0, int(DEMO_CYCLE_S * RATE))
    master = tmp_path / "DEMO_t01.wav"
    sf.write(master, np.asarray(x, np.float64), RATE, subtype="PCM_24")
    result = run_qc(master).to_dict()
    fault_events = [e for e in result["events"] if e["check"] != "loudness"]
    for planted in DEMO_FAULTS:
        hits = [
            e
            for e in fault_events
            if e["check"] == planted.kind
            and e["start_s"] < planted.end_s + 0.01
            and e["end_s"] > planted.start_s - 0.01
        ]
        assert hits, f"{planted.kind} at {planted.start_s} s not found"
    stray = [
        e
        for e in fault_events
        if not any(
            e["check"] == p.kind and e["start_s"] < p.end_s + 0.01 and e["end_s"] > p.start_s - 0.01
            for p in DEMO_FAULTS
        )
    ]
    assert stray == [], stray
