"""The LTC decoder against LTC encoded in the test code at known timecodes: every rate,
speed and level, varispeed, level steps, breaks, drop-frame, and material with no code."""

from __future__ import annotations

import numpy as np
import pytest

from capture.timecode.ltc import LtcDecoder, decode
from capture.timecode.scan import summarize
from capture.timecode.smpte import RATES, from_frames, to_frames
from tests.fixtures import ltc
from tests.fixtures.signals import program

RATE = 48000


def assert_planted(frames, planted, rate_hz=RATE, tolerance=1, min_fraction=0.95):
    """Every decoded frame is a planted one (timecode, rate and position), and nearly all
    planted frames are found."""
    assert frames, "no frame decoded"
    positions = np.array([p.position for p in planted])
    for frame in frames:
        k = int(np.argmin(np.abs(positions - frame.position)))
        assert frame.timecode == planted[k].timecode, (frame, planted[k])
        assert frame.fps == planted[k].fps
        assert abs(frame.position - planted[k].position) <= tolerance, (frame, planted[k])
    assert len({f.position for f in frames}) == len(frames)
    assert len(frames) >= min_fraction * len(planted) - 2


@pytest.mark.parametrize("fps", ["24", "25", "29.97", "30"])
@pytest.mark.parametrize("speed", [0.9, 1.0, 1.1])
@pytest.mark.parametrize("level_db", [0.0, -30.0])
def test_every_rate_speed_and_level(fps, speed, level_db):
    start = "00:09:58;10" if fps == "29.97" else "23:59:58:10"  # across midnight/the 10th minute
    wave, planted = ltc.ltc_signal(start, 90, fps, RATE, speed=speed, level_db=level_db)
    frames = decode(wave, RATE)
    assert_planted(frames, planted)
    assert all(f.drop_frame == (fps == "29.97") for f in frames)
    assert not summarize(frames, RATE).breaks


def test_varispeed_and_shuttle_steps():
    def speed(t):  # a slow wobble of +-10 %, then a jump to 0.9 and to 1.1
        return np.where(t < 3, 1 + 0.1 * np.sin(2 * np.pi * t / 1.5), np.where(t < 4, 0.9, 1.1))

    wave, planted = ltc.ltc_signal("10:00:00:00", 150, "25", RATE, speed=speed)
    frames = decode(wave, RATE)
    assert_planted(frames, planted)
    assert not summarize(frames, RATE).breaks


def test_level_steps_down_to_minus_30_db():
    wave, planted = ltc.ltc_signal("01:00:00:00", 150, "30", RATE, level_db=0.0)
    gain = np.ones(len(wave), dtype=np.float32)
    third = len(wave) // 3
    gain[third : 2 * third] = 10 ** (-30 / 20)
    gain[2 * third :] = 10 ** (-12 / 20)
    frames = decode(wave * gain, RATE)
    assert_planted(frames, planted, min_fraction=0.9)


def test_drop_frame_minutes():
    wave, planted = ltc.ltc_signal("00:00:59;20", 40, "29.97", RATE)
    frames = decode(wave, RATE)
    assert_planted(frames, planted)
    codes = [f.timecode for f in frames]
    assert "00:00:59;29" in codes and "00:01:00;02" in codes
    assert "00:01:00;00" not in codes and "00:01:00;01" not in codes
    nxt = codes.index("00:00:59;29")
    assert codes[nxt + 1] == "00:01:00;02"
    assert frames[nxt + 1].frame_number == frames[nxt].frame_number + 1


def test_breaks_silence_and_jumps():
    signal, planted = ltc.join(
        ltc.ltc_signal("01:00:00:00", 60, "25", RATE),
        ltc.silence(0.5, RATE),
        ltc.ltc_signal("01:00:10:00", 60, "25", RATE, speed=1.05),
        ltc.ltc_signal("02:30:00:00", 60, "25", RATE),  # an edit: the code jumps, no gap
        ltc.noise(0.4, RATE, level_db=-25),
        ltc.ltc_signal("02:30:05:00", 60, "25", RATE, level_db=-24),
    )
    frames = decode(signal, RATE)
    assert_planted(frames, planted, tolerance=2, min_fraction=0.9)  # the edge after noise
    summary = summarize(frames, RATE)
    assert [(b.before[:8], b.after[:8]) for b in summary.breaks] == [
        ("01:00:02", "01:00:10"),
        ("01:00:12", "02:30:00"),
        ("02:30:02", "02:30:05"),
    ]
    assert summary.first.timecode.startswith("01:00:00:0")
    assert summary.last.timecode.startswith("02:30:07:")


def test_rate_changes_between_stretches():
    signal, planted = ltc.join(
        ltc.ltc_signal("00:10:00:00", 40, "30", RATE),
        ltc.silence(0.2, RATE),
        ltc.ltc_signal("00:20:00:00", 40, "24", RATE),
    )
    frames = decode(signal, RATE)
    assert_planted(frames, planted)
    assert {f.fps for f in frames} == {"30", "24"}
    assert len(summarize(frames, RATE).breaks) == 1


def test_short_stretch_without_rollover_takes_the_rate_nearest_its_speed():
    wave, planted = ltc.ltc_signal("03:00:00:02", 12, "25", RATE)  # frames 2..13: no rollover
    frames = decode(wave, RATE)
    assert_planted(frames, planted)


def test_a_garbled_frame_yields_no_false_timecode():
    wave, planted = ltc.ltc_signal("05:00:00:00", 75, "25", RATE)
    rng = np.random.default_rng(3)
    at = planted[30].position
    wave[at + 300 : at + 700] = rng.standard_normal(400).astype(np.float32)  # bits of one frame
    frames = decode(wave, RATE)
    assert_planted(frames, planted, min_fraction=0.9)
    assert not any(f.timecode == "05:00:01:05" for f in frames)


@pytest.mark.parametrize(
    "name",
    ["silence", "noise", "quiet noise", "music", "speech", "square 1200 Hz", "clicks"],
)
def test_no_code_no_timecode(name):
    n = 5 * RATE
    rng = np.random.default_rng(7)
    if name == "silence":
        x = np.zeros(n, np.float32)
    elif name == "noise":
        x = rng.standard_normal(n).astype(np.float32) * 0.3
    elif name == "quiet noise":
        x = rng.standard_normal(n).astype(np.float32) * 0.003
    elif name in ("music", "speech"):
        x = program(5.0, RATE, channels=1, kind=name)[:, 0]
    elif name == "square 1200 Hz":  # transitions at 2400 per second: biphase zeros, no sync
        x = np.sign(np.sin(2 * np.pi * 1200 * np.arange(n) / RATE)).astype(np.float32) * 0.5
    else:
        x = np.zeros(n, np.float32)
        x[:: RATE // 100] = 0.9
    assert decode(x, RATE) == []


def test_blocks_of_any_size_decode_the_same():
    wave, planted = ltc.ltc_signal("12:34:56:00", 50, "24", 44100)
    whole = decode(wave, 44100, block=len(wave))
    decoder = LtcDecoder(44100)
    small = []
    for start in range(0, len(wave), 997):
        small += decoder.feed(wave[start : start + 997])
    small += decoder.finish()
    assert [(f.position, f.timecode) for f in small] == [(f.position, f.timecode) for f in whole]
    assert_planted(whole, planted)


def test_integer_pcm_at_its_own_full_scale():
    wave, planted = ltc.ltc_signal("08:00:00:00", 40, "25", RATE, level_db=-30)
    pcm16 = np.round(wave * 32767).astype(np.int16)
    assert_planted(decode(pcm16, RATE), planted)
    pcm32 = np.round(wave * 8388607).astype(np.int32) << 8  # 24-bit in the top bits
    assert_planted(decode(pcm32, RATE), planted)
    assert decode(np.zeros(RATE, np.int32) + 3, RATE) == []


def test_96_khz_with_dc_and_inverted_polarity():
    wave, planted = ltc.ltc_signal("07:00:00:00", 50, "30", 96000, level_db=-20)
    frames = decode(-wave + 0.02, 96000)
    assert_planted(frames, planted)


def test_samples_since_midnight_of_the_first_sample():
    lead = ltc.silence(0.3, RATE)
    signal, planted = ltc.join(lead, ltc.ltc_signal("10:00:00:00", 60, "25", RATE))
    summary = summarize(decode(signal, RATE), RATE)
    first = summary.first
    expected = 10 * 3600 * RATE + first.frame_number % 25 * (RATE // 25) - first.position
    assert summary.samples_since_midnight() == expected
    assert abs(expected - (10 * 3600 - 0.3) * RATE) <= 1


def test_timecode_arithmetic():
    df = RATES["29.97"]
    assert to_frames("00:01:00;02", df) == 1800
    assert from_frames(17982, df) == "00:10:00;00"
    assert from_frames(to_frames("23:59:59;29", df) + 1, df) == "00:00:00;00"
    assert to_frames("01:00:00:00", RATES["25"]) == 90000
    with pytest.raises(Exception, match="dropped"):
        to_frames("00:02:00;00", df)
    with pytest.raises(Exception, match="frame 25"):
        to_frames("00:00:00:25", RATES["25"])
