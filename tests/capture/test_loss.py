"""Loss detection through PulseAudio: a reader stalled past the server's buffer loses audio,
PortAudio says nothing, and the clock check reports it with its size and place."""

import signal
import time

import pytest

from tests.capture.helpers import log_events, only_take_dir, spawn, wait_for

STALL_S = 8.0  # PulseAudio absorbs ~5.5 s at 96 kHz/32-bit/2 ch; the rest is lost


@pytest.mark.slow
def test_stalled_reader_loss_is_reported(pulse_server, tmp_path):
    lib = tmp_path / "lib"
    proc = spawn(
        [
            "capture",
            "audio",
            "--device",
            "pulse",
            "--item",
            "STALL",
            "--library",
            str(lib),
            "--seconds",
            "4",
            "--no-qc",
        ],
        env=pulse_server.env,
    )
    try:
        take = wait_for(lambda: list((lib / "STALL").glob("STALL_t*")), 20)[0]
        wait_for(lambda: log_events(take, "take_start"), 10)
        time.sleep(1.0)
        proc.send_signal(signal.SIGSTOP)
        time.sleep(STALL_S)
        proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    take = only_take_dir(lib, "STALL")
    losses = [e for e in log_events(take, "overflow") if e.fields["source"] == "clock"]
    assert len(losses) == 1, log_events(take)
    lost_s = losses[0].fields["frames_lost"] / 96000
    assert 1.0 < lost_s < STALL_S - 4.0, lost_s
    assert 0.5 < losses[0].fields["at_s"] < 4.0
    stop = log_events(take, "take_stop")[0].fields
    assert stop["frames_lost"] == losses[0].fields["frames_lost"]
