"""The tape's timecode live in a take's status: LTC decoded from a channel as the take runs
(audio take and video take), following a break; None without code."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from capture.audio_take import AudioTake, AudioTakeSettings
from capture.timecode.smpte import RATES, to_frames
from tests.capture.test_take_timecode import RATE, LtcDemoInput
from tests.fixtures import ltc

FPS = RATES["25"]


def _watch(take, seconds: float = 30.0) -> list[tuple[float, str | None]]:
    """(elapsed s, status timecode) about ten times a second while the take records."""
    seen = []
    deadline = time.monotonic() + seconds
    while not take.wait(0.1) and time.monotonic() < deadline:
        status = take.status()
        if status.state == "recording":  # after, the armed input runs on past the take's end
            seen.append((status.elapsed_s, status.timecode))
    return seen


def test_audio_take_shows_its_ltc_live(tmp_path):
    wave, _ = ltc.ltc_signal("02:00:00:00", 25 * 8, "25", RATE, level_db=-18)
    source = LtcDemoInput(wave, rate_hz=RATE, channels=2, bits=24)
    settings = AudioTakeSettings(
        device="demo", item="LIVE1", library=tmp_path, rate_hz=RATE, seconds=2.6,
        qc=False, ltc_channel=2,
    )  # fmt: skip
    take = AudioTake(settings, input=source)
    try:
        source.start()
        time.sleep(0.3)  # the tape rolls before the take starts, as with an armed input
        take.start()
        seen = _watch(take)
    finally:
        source.stop()
    codes = [(t, c) for t, c in seen if c]
    assert len(codes) >= 10 and codes[0][0] < 2.0  # shown within about a second
    frames = [to_frames(c, FPS) for _, c in codes]
    assert frames == sorted(frames) and frames[-1] - frames[0] >= 20
    # the code follows the take's clock: its lead over the elapsed time (frames written, which
    # the writer drains in batches of about 0.35 s) stays within half a second
    start = to_frames("02:00:00:00", FPS)
    leads = [(to_frames(code, FPS) - start) / 25 - elapsed for elapsed, code in codes]
    assert -0.3 < min(leads) and max(leads) < 0.9 and max(leads) - min(leads) < 0.5, leads


def test_no_code_on_the_channel_is_none(tmp_path):
    noise, _ = ltc.noise(8.0, RATE, level_db=-20)
    source = LtcDemoInput(noise, rate_hz=RATE, channels=2, bits=24)
    settings = AudioTakeSettings(
        device="demo", item="LIVE2", library=tmp_path, rate_hz=RATE, seconds=1.2,
        qc=False, ltc_channel=2,
    )  # fmt: skip
    take = AudioTake(settings, input=source)
    try:
        take.start()
        seen = _watch(take)
    finally:
        source.stop()
    assert seen and all(code is None for _, code in seen)


@pytest.mark.slow
def test_video_take_shows_its_ltc_live_across_a_break(tmp_path):
    from capture.video.take import VideoTake, VideoTakeSettings

    signal, _ = ltc.join(
        ltc.ltc_signal("01:00:00:00", 40, "25", RATE, level_db=-12),
        ltc.silence(0.6, RATE),
        ltc.ltc_signal("03:00:00:00", 45, "25", RATE, level_db=-12),
    )
    wav = tmp_path / "ltc.wav"
    sf.write(wav, np.stack([np.zeros_like(signal), signal], axis=1), RATE, subtype="PCM_24")
    settings = VideoTakeSettings(
        device="lavfi:testsrc2=size=160x120:rate=25", library=tmp_path, item="LIVE3",
        seconds=3.8, audio_device=f"lavfi:amovie={wav}", run_qc=False, ltc_channel=2,
    )  # fmt: skip
    take = VideoTake(settings)
    take.start()
    seen = _watch(take)
    assert take.result is not None, take.error
    codes = [c for _, c in seen if c]
    assert any(c.startswith("01:00:01") for c in codes)
    assert any(c.startswith("03:00:0") for c in codes)
    first_late = next(i for i, c in enumerate(codes) if c.startswith("03"))
    assert all(c.startswith("01") for c in codes[:first_late])  # no code mixed across the break
