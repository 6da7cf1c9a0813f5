"""Live QC: judging while capturing gives the answer judging the file gives.

The demo deck (video with its audio, and an audio deck) is captured with live QC; the
resulting masters are then judged offline from the file, and both must find the same events
(check, channel, times within one frame or one 10 ms block) and the same verdict. The parts
the live analysis could not take (a queue made to overflow) are read back from the master
and give exactly the statistics a decode of the whole file gives.
"""

from __future__ import annotations

import subprocess
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf

from capture.backends import open_audio_input
from capture.demo import DEMO_FAULTS
from capture.demo_video import DEMO_VIDEO_FAULTS
from metadata.take.log import read_log
from qc.audio.analysis import run_audio_checks
from qc.live import LiveAudio, LiveVideo, to_float
from qc.profiles import load_profile
from qc.result import QCResult
from qc.runner import run_qc
from qc.video_stats import compute_video_stats

FRAME_S = 1001 / 30000
BLOCK_S = 0.01


def _events(result: QCResult, skip=("decode_error", "framemd5")):
    return sorted(
        (e.check, e.channel, e.start_s, e.end_s, e.severity)
        for e in result.events
        if e.check not in skip
    )


def _same_events(live, offline, tolerance_s):
    assert len(live) == len(offline), (live, offline)
    for a, b in zip(live, offline, strict=True):
        assert a[0] == b[0] and a[1] == b[1] and a[4] == b[4], (a, b)
        assert abs(a[2] - b[2]) <= tolerance_s and abs(a[3] - b[3]) <= tolerance_s, (a, b)


def _found(result: QCResult, check: str, fault, within_s: float) -> bool:
    """An event of ``check`` overlapping the planted fault (frames lost to a loaded machine
    may take some of it)."""
    return any(
        e.check == check
        and e.start_s - within_s <= fault.end_s
        and e.end_s + within_s >= fault.start_s
        for e in result.events
    )


def test_judging_while_capturing_equals_judging_the_file(tmp_path):
    from capture.audio_take import AudioTake, AudioTakeSettings
    from capture.video.take import VideoTake, VideoTakeSettings

    live_events: list[dict] = []
    audio_live: list[dict] = []
    lock = threading.Lock()

    def on_event(name, fields):
        if name == "qc_live":
            with lock:
                live_events.append(dict(fields))

    def on_audio_event(name, fields):
        if name == "qc_live":
            with lock:
                audio_live.append(dict(fields))

    video = VideoTake(
        VideoTakeSettings(
            device="demo:ntsc",
            library=tmp_path / "lib",
            item="LIVEV",
            seconds=20.0,
            on_event=on_event,
        )
    )
    deck = open_audio_input("demo", 48000, 2, 24)
    deck.start()
    audio = AudioTake(
        AudioTakeSettings(
            device="demo",
            item="LIVEA",
            library=tmp_path / "lib",
            rate_hz=48000,
            seconds=16.0,
            on_event=on_audio_event,
        ),
        input=deck,
    )
    video_paths = video.start()
    audio_paths = audio.start()
    assert video.wait(120) and audio.wait(120)
    deck.stop()

    # the video take with its embedded audio
    master = video_paths.master("video")
    at_stop = QCResult.read(video_paths.qc_json)
    offline = run_qc(master, write=False, catalogue=False)
    assert at_stop.verdict == offline.verdict
    _same_events(_events(at_stop), _events(offline), FRAME_S)
    assert {c.id for c in at_stop.checks} == {c.id for c in offline.checks} - {
        "decode_error",
        "framemd5",
    }
    faults = {f.kind: f for f in DEMO_VIDEO_FAULTS}
    assert _found(at_stop, "video_dropout", faults["dropout"], FRAME_S)
    assert _found(at_stop, "black", faults["black"], FRAME_S)
    assert _found(at_stop, "freeze", faults["freeze"], FRAME_S)
    live_stats = at_stop.stats["video"]["timing"]
    assert live_stats["live_submitted"] == len(np.load(video_paths.file(".vstats.npz"))["pts_s"])
    # the checks fired while the tape played, at their times
    checks = {e["check"] for e in live_events}
    assert {"video_dropout", "black"} <= checks, live_events
    drop = next(e for e in live_events if e["check"] == "video_dropout")
    assert faults["dropout"].start_s - FRAME_S <= drop["start_s"] <= faults["dropout"].end_s
    verdict = [e for e in read_log(video_paths.log) if e.event == "verdict"]
    assert verdict and verdict[0].fields["verdict"] == at_stop.verdict

    # the audio take
    wav = audio_paths.master("audio")
    at_stop = QCResult.read(audio_paths.qc_json)
    offline = run_qc(wav, write=False, catalogue=False)
    assert at_stop.verdict == offline.verdict
    _same_events(_events(at_stop), _events(offline), BLOCK_S)
    audio_faults = {f.kind: f for f in DEMO_FAULTS}
    for kind, check in (("dropout", "dropout"), ("click", "click"), ("clipping", "clipping")):
        assert _found(at_stop, check, audio_faults[kind], BLOCK_S), kind
    assert at_stop.stats["live"]["analysed"] >= 1
    # live, the audio's dropout and click were said while recording (each chunk is 4 s)
    said = {(e["check"], round(e["start_s"], 1)) for e in audio_live}
    assert ("dropout", 4.0) in said and ("click", 9.5) in said, audio_live


def _ffv1_file(path, seconds=3, size="320x240", rate=25):
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi",
            "-i", f"testsrc2=size={size}:rate={rate},noise=alls=20:allf=t",
            "-t", str(seconds), "-c:v", "ffv1", "-pix_fmt", "yuv422p10le", "-y", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def test_frames_the_live_analysis_dropped_are_read_back_from_the_master(tmp_path):
    master = _ffv1_file(tmp_path / "t.mkv")
    profile = load_profile("default")
    live = LiveVideo(320, 240, "yuv422p10le", Fraction(1, 25), profile, queue_frames=2)
    with av.open(str(master)) as c:
        frames = list(c.decode(video=0))
    for slot, frame in enumerate(frames):
        live.submit(frame, slot)  # a burst: the worker cannot keep up with a queue of 2
    stats = live.finish(master)
    assert live.counts.dropped > 10 and live.counts.refilled >= live.counts.dropped
    whole = compute_video_stats(master)
    assert stats.table.shape == whole.table.shape
    assert np.array_equal(stats.table, whole.table)
    assert np.allclose(stats.pts_s, whole.pts_s)


def test_audio_the_live_analysis_could_not_take_is_read_from_the_file(tmp_path):
    rate, seconds = 48000, 13
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((rate * seconds, 2)) * 0.05 * 2**31).astype(np.int32)
    x[rate * 9 : rate * 9 + 2400] = 2**31 - 256  # clipped at 9 s, after the live part ends
    x[rate * 2 : rate * 2 + 480] = 0  # a dropout inside the live part
    wav = tmp_path / "t.wav"
    sf.write(str(wav), x, rate, subtype="PCM_24")
    profile = load_profile("default")
    live = LiveAudio(rate, 2, 24, profile, queue_chunks=1)
    gate = threading.Event()
    feed = live.analyzer.feed

    def held(chunk):  # the worker is slow: the second chunk finds the queue full
        gate.wait(10)
        feed(chunk)

    live.analyzer.feed = held
    for i in range(0, len(x), 4800):
        live.feed(x[i : i + 4800])
    gate.set()
    assert live.abandoned_reason
    found = live.finish(wav, None)
    assert live.counts.refilled > 0
    whole = run_audio_checks(wav, profile)
    assert [(c.id, c.status, c.count) for c in found.checks] == [
        (c.id, c.status, c.count) for c in whole.checks
    ]
    assert sorted((e.check, e.channel, e.start_s, e.end_s) for e in found.events) == sorted(
        (e.check, e.channel, e.start_s, e.end_s) for e in whole.events
    )
    assert any(e.check == "clipping" and abs(e.start_s - 9.0) < 0.01 for e in found.events)


def test_samples_are_measured_as_a_reader_of_the_master_gets_them(tmp_path):
    x = np.array([[2**31 - 1, -(2**31)], [0x12345678, -0x0FEDCBA9], [255, -1]], dtype=np.int32)
    wav = tmp_path / "x.wav"
    sf.write(str(wav), x, 48000, subtype="PCM_24")
    back, _ = sf.read(str(wav), dtype="float32")
    assert np.array_equal(to_float(x, 24), back.T)
    y = (x >> 16).astype(np.int16)
    sf.write(str(wav), y, 48000, subtype="PCM_16")
    back, _ = sf.read(str(wav), dtype="float32")
    assert np.array_equal(to_float(y, 16), back.T)


@pytest.mark.parametrize("queue_frames", [2])
def test_a_live_analysis_never_blocks_the_submitter(tmp_path, queue_frames):
    profile = load_profile("default")
    live = LiveVideo(720, 486, "yuv422p10le", Fraction(1001, 30000), profile,
                     queue_frames=queue_frames)  # fmt: skip
    frame = av.VideoFrame(720, 486, "yuv422p10le")
    t0 = time.perf_counter()
    for slot in range(300):
        live.submit(frame, slot)
    assert time.perf_counter() - t0 < 0.5  # 300 frames handed over without waiting
    live.close()
    assert live.counts.analysed + live.counts.dropped == 300
