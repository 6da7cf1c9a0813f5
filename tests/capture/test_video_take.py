"""Video takes through the real PyAV device path (lavfi sources paced in real time), read
back with PyAV, ffprobe and ffmpeg. Short takes; tiny frames where the test is not about SD."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from fractions import Fraction

import av
import numpy as np
import pytest

from capture.video.take import VideoTake, VideoTakeSettings
from metadata.formats.framemd5 import read_framemd5
from metadata.take.log import read_log
from tests.capture.helpers import ffmpeg_framemd5

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffprobe") and shutil.which("ffmpeg")), reason="needs ffmpeg and ffprobe"
)

NTSC_10 = "lavfi:testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le[out0];sine=frequency=1000:sample_rate=48000[out1]"


def take(tmp_path, device, seconds, **kw):
    settings = VideoTakeSettings(
        device=device, library=tmp_path / "lib", item=kw.pop("item", "TAPE1"), seconds=seconds,
        run_qc=False, **kw,
    )  # fmt: skip
    t = VideoTake(settings)
    t.start()
    assert t.wait(seconds + 60), "the take did not finish"
    assert t.error is None, t.error
    return t


def ffprobe(path) -> dict:
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(r.stdout)


def ffv1_debug(path) -> str:
    r = subprocess.run(
        ["ffmpeg", "-v", "debug", "-debug", "pict", "-i", str(path), "-frames:v", "2", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    return r.stderr


def events(t, name):
    return [e for e in read_log(t.paths.log) if e.event == name]


def test_ntsc_10bit_master_with_embedded_audio(tmp_path):
    t = take(tmp_path, NTSC_10, 2.0)
    master, st = t.master, t.status()
    assert st.frames_written == 60 == st.frames_received and st.frames_lost == 0  # round(2 * 29.97)
    info = ffprobe(master)
    v = next(s for s in info["streams"] if s["codec_type"] == "video")
    a = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert v["codec_name"] == "ffv1" and v["pix_fmt"] == "yuv422p10le"
    assert (v["width"], v["height"]) == (720, 486)
    assert v["field_order"] == "bt"  # bottom field first, as the archival recipes write it
    assert v["display_aspect_ratio"] == "4:3" and v["sample_aspect_ratio"] == "9:10"
    assert (v["color_primaries"], v["color_space"], v["color_range"]) == (
        "smpte170m",
        "smpte170m",
        "tv",
    )
    assert v["r_frame_rate"] == "30000/1001"
    assert a["codec_name"] == "pcm_s24le" and a["bits_per_raw_sample"] == "24"
    assert int(a["sample_rate"]) == 48000
    assert info["format"]["tags"]["CATALOG_NUMBER"] == "TAPE1"
    dbg = ffv1_debug(master)
    assert "ver:3.4" in dbg and "slices:24" in dbg and "ec:1" in dbg
    # GOP 1, frame count matches duration, audio covers the video exactly
    with av.open(str(master)) as c:
        vpk = [p for p in c.demux(c.streams.video[0]) if p.size]
    assert len(vpk) == 60 and all(p.is_keyframe for p in vpk)
    with av.open(str(master)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples == round(60 * Fraction(1001, 30000) * 48000)
    # framemd5 computed while writing == ffmpeg's own, byte for byte
    written = t.paths.framemd5.read_bytes()
    assert written == ffmpeg_framemd5(master)
    plain = [
        ln
        for ln in ffmpeg_framemd5(master, bitexact=False).splitlines()
        if not ln.startswith(b"#software")
    ]
    assert written.splitlines() == plain
    assert len([ln for ln in read_framemd5(t.paths.framemd5) if not ln.startswith("#")]) == 60
    # fixity, cues and the log
    assert t.fixity_ok is True
    md5_line = (master.parent / (master.name + ".md5")).read_text()
    assert md5_line.endswith(f"  {master.name}\n")
    assert b"\x1c\x53\xbb\x6b" in master.read_bytes()[-200000:]  # Cues element
    assert events(t, "av_offset")[0].fields["offset_ms"] == 0.0
    check = events(t, "essence_check")[0].fields
    assert check["verified"] is True and "video packets" in check["detail"]
    # one byte changed in the stored essence: the packet read-back (no decode) sees it
    from capture.video.finish import verify_essence

    copy = tmp_path / "copy.mkv"
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    ok, detail = verify_essence(copy, t.writer.stats.essence_md5)
    assert not ok and "video packets" in detail and "read back" in detail
    # closing said how far its read-back was: the packets, then the whole file
    assert t.status().closing == 1.0
    seen = []
    verify_essence(master, t.writer.stats.essence_md5, lambda f, m="": seen.append(f))
    assert seen and seen == sorted(seen) and 0 <= seen[0] and seen[-1] <= 1
    stop = events(t, "take_stop")[-1].fields
    assert stop["frames"] == 60 and stop["reason"] == "duration"


def test_pal_8bit_uyvy_kept_as_8bit_422_without_conversion(tmp_path):
    src = "testsrc2=size=720x576:rate=25,format=uyvy422"
    t = take(tmp_path, "lavfi:" + src, 1.0, audio_device="none")
    v = next(s for s in ffprobe(t.master)["streams"] if s["codec_type"] == "video")
    assert v["pix_fmt"] == "yuv422p" and v["field_order"] == "tb"
    assert v["display_aspect_ratio"] == "4:3" and v["sample_aspect_ratio"] == "16:15"
    assert v["color_primaries"] == "bt470bg" and v["color_space"] == "bt470bg"
    assert "slices:24" in ffv1_debug(t.master)
    assert t.status().frames_written == 25
    # the samples are the card's own: unpacking UYVY to planes is exact
    with av.open(src, format="lavfi") as c:
        packed = next(c.decode(video=0)).planes[0]
        ref = np.frombuffer(packed, np.uint8).reshape(576, -1)[:, :1440].reshape(576, 720, 2)
    with av.open(str(t.master)) as c:
        got = next(c.decode(video=0))
    y = np.frombuffer(got.planes[0], np.uint8).reshape(576, -1)[:, :720]
    u = np.frombuffer(got.planes[1], np.uint8).reshape(576, -1)[:, :360]
    np.testing.assert_array_equal(y, ref[:, :, 1])
    np.testing.assert_array_equal(u, ref[:, 0::2, 0])  # U Y V Y
    assert not np.array_equal(u, ref[:, 1::2, 0])
    assert t.paths.framemd5.read_bytes() == ffmpeg_framemd5(t.master)


def test_second_audio_input_lavfi_sine_and_offset(tmp_path):
    t = take(
        tmp_path, "lavfi:testsrc2=size=96x64:rate=25,format=yuv422p10le", 1.6,
        audio_device="lavfi:sine=frequency=1000:sample_rate=48000", audio_channels=2,
    )  # fmt: skip
    assert t.status().frames_written == 40
    off = events(t, "av_offset")[0].fields
    assert off["source"] == "separate" and abs(off["offset_ms"]) < 250
    with av.open(str(t.master)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.name == "pcm_s24le" and a.codec_context.layout.nb_channels == 2
        frames = list(c.decode(a))
        first_s = float(frames[0].pts * frames[0].time_base)
        x = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in frames]).astype(np.float64)
    end_s = first_s + len(x) / 48000
    assert abs(end_s - 1.6) < 0.002  # the audio ends with the last frame
    spec = np.abs(np.fft.rfft(x[:, 0]))
    assert abs(np.argmax(spec) * 48000 / len(x) - 1000) < 5
    assert t.paths.framemd5.read_bytes() == ffmpeg_framemd5(t.master)


def test_audio_from_virtual_pulseaudio_device(tmp_path, pulse_server):
    rate = 96000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(int(rate * 3.0)) / rate)).astype(np.float32)
    player = pulse_server.play(np.stack([tone, tone], 1), rate, block=False)
    try:
        t = take(
            tmp_path, "lavfi:testsrc2=size=96x64:rate=25,format=yuv422p", 1.2,
            audio_device="pulse", audio_rate_hz=rate, audio_channels=2,
        )  # fmt: skip
    finally:
        player.wait()
    assert t.status().frames_written == 30
    assert events(t, "av_offset")[0].fields["source"] == "separate"
    with av.open(str(t.master)) as c:
        x = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in c.decode(audio=0)])
    assert x.dtype == np.int32 and np.all(x & 0xFF == 0)  # 24-bit samples
    x = x.astype(np.float64) / 2**31
    assert len(x) > 0.9 * 1.2 * rate
    mid = x[len(x) // 4 : 3 * len(x) // 4, 0]
    assert 0.3 < np.abs(mid).max() < 0.7
    spec = np.abs(np.fft.rfft(mid))
    assert abs(np.argmax(spec) * rate / len(mid) - 1000) < 5


def test_timestamp_gap_is_logged_at_its_time(tmp_path):
    # frames 10 and 11 never arrive (a driver that lost them): their slots stay empty
    t = take(tmp_path, "lavfi:testsrc2=size=64x48:rate=25,select='not(between(n\\,10\\,11))'", 1.0)
    st = t.status()
    assert st.frames_received == 23 and st.frames_written == 23 and st.frames_lost == 2
    gap = events(t, "gap")
    assert len(gap) == 1 and gap[0].fields == {
        "at_s": 0.4,
        "frames_lost": 2,
        "source": "timestamps",
    }
    pts = [
        int(ln.split(",")[2]) for ln in read_framemd5(t.paths.framemd5) if not ln.startswith("#")
    ]
    assert pts == [*range(10), *range(12, 25)]
    assert t.paths.framemd5.read_bytes() == ffmpeg_framemd5(t.master)
    assert events(t, "take_stop")[-1].fields["frames_lost"] == 2


def test_slow_encoder_drops_are_counted_and_logged(tmp_path, monkeypatch):
    from capture import mkv_writer

    real = mkv_writer.MkvWriter.write_video

    def slow(self, frame, index):
        if 5 <= index < 15:
            import time

            time.sleep(0.12)  # a stalled disk for a moment
        return real(self, frame, index)

    monkeypatch.setattr(mkv_writer.MkvWriter, "write_video", slow)
    t = take(tmp_path, "lavfi:testsrc2=size=64x48:rate=25", 1.6, queue_frames=3)
    st = t.status()
    assert st.frames_dropped > 0 and st.frames_written + st.frames_dropped == 40
    drops = events(t, "frame_drop")
    assert drops and sum(e.fields["frames_lost"] for e in drops) == st.frames_dropped
    assert all(0.2 <= e.fields["at_s"] < 1.6 for e in drops)
    assert events(t, "queue_depth") or st.encoder_queue_peak >= 2
    lines = [ln for ln in read_framemd5(t.paths.framemd5) if not ln.startswith("#")]
    assert len(lines) == st.frames_written  # the master holds what was written, gaps visible


class _FailingCard:
    """A card that delivers ten frames and then vanishes (cable pulled)."""

    device_drops = 0
    device_errors = 0

    def __init__(self):
        from capture.video_input import SourceInfo

        self.info = SourceInfo(64, 48, "yuv422p", Fraction(25))

    def frames(self):
        from metadata.errors import HeadblockError

        for i in range(10):
            f = av.VideoFrame(64, 48, "yuv422p")
            for p in f.planes:
                np.frombuffer(p, np.uint8)[:] = 16 + 8 * i
            yield "video", f, i / 25
        raise HeadblockError("the video input v4l2:/dev/video0 failed: No such device")

    def close(self):
        pass


def test_input_failing_mid_take_keeps_what_was_captured(tmp_path):
    settings = VideoTakeSettings(
        device="v4l2:/dev/video0",
        library=tmp_path / "lib",
        item="FAIL1",
        run_qc=False,
        audio_device="none",
    )
    t = VideoTake(settings, source=_FailingCard())
    t.start()
    assert t.wait(60)
    assert t.error is None and t.input_error is not None
    assert t.result.record.outcome == "stopped: input error"
    assert t.result.record.video.frames == 10 and t.fixity_ok
    assert "No such device" in events(t, "input_error")[0].fields["error"]
    assert t.paths.framemd5.read_bytes() == ffmpeg_framemd5(t.master)


class _ScriptedCard(_FailingCard):
    """A card whose frames carry the given device timestamps (no pacing)."""

    def __init__(self, times):
        super().__init__()
        self.times = times

    def frames(self):
        for t in self.times:
            yield "video", av.VideoFrame(64, 48, "yuv422p"), t


def test_clock_drift_makes_no_phantom_gaps_but_jumps_do(tmp_path):
    period = 1 / 25
    drift = [i * period * (1 + 300e-6) + 0.004 * ((-1) ** i) for i in range(400)]  # 300 ppm, jitter
    jump = [i * period for i in range(20)] + [(i + 3) * period for i in range(20, 40)]
    for name, times, lost in (("DRIFT1", drift, 0), ("JUMP1", jump, 3)):
        settings = VideoTakeSettings(
            device="v4l2:/dev/video0",
            library=tmp_path / "lib",
            item=name,
            run_qc=False,
            audio_device="none",
            queue_frames=500,
        )
        t = VideoTake(settings, source=_ScriptedCard(times))
        t.start()
        assert t.wait(60) and t.error is None
        st = t.status()
        assert st.frames_written == len(times) and st.frames_lost == lost
        gaps = events(t, "gap")
        assert [g.fields["frames_lost"] for g in gaps] == ([lost] if lost else [])
        if lost:
            assert gaps[0].fields["at_s"] == 0.8


def test_work_after_the_take_yields_to_the_next_take(tmp_path, monkeypatch):
    import capture.video.take as vt
    from capture.priority import AFTER_TAKE_NICE, thread_nice

    seen = []
    real = vt.lower_this_thread

    def spy(nice):
        ok = real(nice)
        seen.append((threading.current_thread().name, nice, thread_nice()))
        return ok

    monkeypatch.setattr(vt, "lower_this_thread", spy)
    base = thread_nice()
    t = take(tmp_path, "lavfi:testsrc2=size=64x48:rate=25,format=yuv422p", 0.4)
    assert t.fixity_ok is True
    # the master was closed on the finishing thread, which then lowered itself (only itself)
    assert [(name, nice) for name, nice, _ in seen] == [("video-finish", AFTER_TAKE_NICE)]
    if base is not None:
        assert seen[0][2] == max(AFTER_TAKE_NICE, base) and thread_nice() == base
