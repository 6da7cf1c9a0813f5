"""One contract for every kind of take (``capture.take.Take``), run against each: the same
test body for an audio take (the demo deck) and a video take (an FFmpeg test signal with
sound), as Picard's common format tests run against every format."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from capture.audio_take import AudioTake, AudioTakeSettings
from capture.take import STATES, Take, TakeStatus
from capture.video.take import VideoTake, VideoTakeSettings
from metadata.formats.checksums import md5_path_for
from metadata.take.log import read_log

MEDIA_S = 1.5
LAVFI_WITH_SOUND = (
    "lavfi:testsrc2=size=64x48:rate=25,format=yuv422p[out0];"
    "sine=frequency=1000:sample_rate=48000[out1]"
)
# the same signal through the station's own FFmpeg (``capture.ffmpeg_input``)
FFMPEG_WITH_SOUND = (
    "ffmpeg:-f lavfi -i testsrc2=size=64x48:rate=25,format=yuv422p "
    "-f lavfi -i sine=frequency=1000:sample_rate=48000"
)


def _audio_take(library) -> AudioTake:
    return AudioTake(
        AudioTakeSettings(device="demo", item="CONTRACT", library=library, rate_hz=48000)
    )


def _video_take(library) -> VideoTake:
    return VideoTake(VideoTakeSettings(device=LAVFI_WITH_SOUND, library=library, item="CONTRACT"))


def _ffmpeg_video_take(library) -> VideoTake:
    if not shutil.which("ffmpeg"):
        pytest.skip("no ffmpeg on PATH")
    return VideoTake(VideoTakeSettings(device=FFMPEG_WITH_SOUND, library=library, item="CONTRACT"))


@pytest.fixture(
    params=[_audio_take, _video_take, _ffmpeg_video_take], ids=["audio", "video", "ffmpeg-video"]
)
def take(request, tmp_path) -> Take:
    return request.param(tmp_path / "lib")


def _wait_for_media(take: Take, seconds: float, timeout_s: float = 30.0) -> list[TakeStatus]:
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.append(take.status())
        if seen[-1].elapsed_s >= seconds:
            return seen
        time.sleep(0.05)
    pytest.fail(f"the take made {seen[-1].elapsed_s:.2f} s of media in {timeout_s:g} s")


def test_a_take_keeps_the_contract(take):
    assert isinstance(take, Take)
    before = take.status()
    assert isinstance(before, TakeStatus) and before.state == "idle"
    assert take.paths is None and take.result is None

    paths = take.start()
    assert paths == take.paths and paths.directory.is_dir()
    assert take.status().state == "recording"

    seen = _wait_for_media(take, MEDIA_S)
    elapsed = [s.elapsed_s for s in seen]
    written = [s.frames_written for s in seen]
    assert elapsed == sorted(elapsed) and written == sorted(written)  # progress, never back
    assert written[-1] > 0 and all(0.0 <= s.queue_fill <= 1.0 for s in seen)
    assert all(s.state == "recording" for s in seen)
    audio = take.latest_audio(256)
    assert audio is not None and audio.dtype == np.float32 and audio.ndim == 2
    assert np.abs(audio).max() <= 1.0

    take.stop("user")
    assert take.wait(120), "the take did not finish"
    take.stop("user")  # stopping a finished take changes nothing
    assert take.wait(0)

    after = take.status()
    assert after.state == "done" and after.state in STATES
    assert after.elapsed_s >= MEDIA_S and after.frames_written >= written[-1]
    assert after.closing is not None  # the read-back ran and said how far it was

    assert take.error is None
    result = take.result
    assert result is not None and result.paths == paths
    assert result.reason == "user" and result.record.outcome == "complete"
    assert result.fixity_ok and result.qc_verdict in ("pass", "warn", "fail")
    assert result.exit_status == (1 if result.qc_verdict == "fail" else 0)
    assert result.record.kind == take.kind
    assert result.record.duration_s == pytest.approx(after.elapsed_s, abs=0.1)

    master = paths.master(take.kind)
    assert result.record.master == master and master.stat().st_size > 0
    for sidecar in (md5_path_for(master), paths.pbcore, paths.premis, paths.qc_json, paths.log):
        assert sidecar.exists(), sidecar.name
    names = [e.event for e in read_log(paths.log)]
    assert names[0] == "take_start" and "take_stop" in names and "fixity" in names
