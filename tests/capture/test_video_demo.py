"""The demo deck's video: faults at their known times, and a take from it with preview."""

from __future__ import annotations

import av
import numpy as np

from capture.demo_video import DEMO_VIDEO_FAULTS, NOISE_C, NOISE_Y, DemoPicture
from capture.video.take import VideoTake, VideoTakeSettings


def test_demo_picture_faults_at_known_times():
    pic = DemoPicture(720, 486)
    kinds = {f.kind: f for f in DEMO_VIDEO_FAULTS}
    clean = [pic.planes(i, i / 29.97) for i in range(3)]
    for y, u, _v in clean:
        assert 64 <= np.median(y) <= 940 and y.shape == (486, 720) and u.shape == (486, 360)
        assert (y >= 935).sum() < 20000  # no streaks outside the dropout
    assert not np.array_equal(clean[0][0], clean[1][0])  # the picture moves (and has noise)
    t_drop = kinds["dropout"].start_s + 0.05
    y, _, _ = pic.planes(200, t_drop)
    rows = np.flatnonzero((y == 940).sum(axis=1) >= 60)
    assert 1 <= len(rows) <= 6  # streaks on a few lines
    t_black = kinds["black"].start_s + 0.05
    y, u, _ = pic.planes(400, t_black)
    assert abs(float(y.mean()) - 64) < 3 and abs(float(u.mean()) - 512) < 1
    f = kinds["freeze"]
    a = pic.planes(539, f.start_s - 0.01)
    b = pic.planes(540, f.start_s + 0.01)
    c = pic.planes(545, f.start_s + 0.2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(b[0], c[0])
    d = pic.planes(600, f.end_s + 0.01)
    assert not np.array_equal(c[0], d[0])


def test_demo_tape_noise_is_band_limited_like_a_deck():
    pic = DemoPicture(720, 486)

    def neighbour_corr(n):
        n = n.astype(np.float64)
        return float(np.corrcoef(n[:, :, :-1].ravel(), n[:, :, 1:].ravel())[0, 1])

    assert abs(float(pic.noise_y.std()) - NOISE_Y) < 0.3
    assert abs(float(pic.noise_c.std()) - NOISE_C) < 0.3
    # white noise would give 0; a 3 MHz luma and 0.5 MHz chroma bandwidth give about this
    assert 0.6 < neighbour_corr(pic.noise_y) < 0.9
    assert neighbour_corr(pic.noise_c) > 0.9


def test_demo_take_with_preview(tmp_path):
    previews, meters = [], []
    settings = VideoTakeSettings(
        device="demo:ntsc", library=tmp_path / "lib", item="DEMO1", seconds=1.0, run_qc=False
    )
    take = VideoTake(settings)
    take.start()
    while not take.wait(0.1):
        p = take.latest_frame()
        if p is not None:
            previews.append(p)
        a = take.latest_audio(4800)
        if a is not None and len(a):
            meters.append(a)
        st = take.status()
        assert st.state in ("recording", "finishing", "done")
        assert 0 <= st.encoder_queue_depth <= settings.queue_frames
    assert take.error is None, take.error
    assert previews, "no preview frame while recording"
    assert meters and meters[-1].shape[1] == 2 and meters[-1].dtype.kind == "f"
    assert 0.01 < float(abs(meters[-1]).max()) <= 1.0  # the demo program, not silence
    p = previews[-1]
    assert (p.width, p.height, p.bit_depth) == (720, 486, 10)
    assert p.y.shape == (486, 720) and p.u.shape == (486, 360) and p.y.dtype == np.uint16
    assert 0 < p.y.max() <= 1023
    st = take.status()
    assert st.state == "done" and st.frames_written == 30 and st.frames_lost == 0
    assert st.audio_samples_written == 48048  # 30 frames of 29.97 at 48 kHz
    with av.open(str(take.master)) as c:
        v = c.streams.video[0]
        assert v.codec_context.pix_fmt == "yuv422p10le"
        assert c.streams.audio[0].codec_context.layout.nb_channels == 2
    assert take.result.record.video.frames == 30
    assert take.result.record.video.display_aspect_ratio == "4:3"
