"""Widgets and their pure display maths: ballistics, decimation, scopes, health, the form."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.widgets.health import HealthFigures, HealthStrip, disk_level
from app.widgets.meters import FLOOR_DBFS, MeterBridge, PeakBallistics
from app.widgets.phase import goniometer_histogram
from app.widgets.picture_view import preview_rgb
from app.widgets.setup_panel import SetupPanel
from app.widgets.vectorscope import bar_target, chroma_histogram
from app.widgets.waveform import PeakDecimator
from app.widgets.waveform_monitor import legal_range, luma_waveform
from metadata.take.meta import CARRIER_PRESETS, CARRIERS


def test_peak_ballistics_hold_then_fall():
    b = PeakBallistics()
    bar, hold = b.update(-6.0, 0.033)
    assert (bar, hold) == (-6.0, -6.0)  # instant attack
    for _ in range(30):  # 1.0 s of silence: bar falls 20 dB/s, hold stays
        bar, hold = b.update(FLOOR_DBFS, 1 / 30)
    assert bar == pytest.approx(-26.0, abs=0.3)
    assert hold == -6.0
    for _ in range(30):  # past 1.5 s the hold falls too
        bar, hold = b.update(FLOOR_DBFS, 1 / 30)
    assert hold == pytest.approx(-6.0 - 20.0 * (2.0 - 1.5), abs=0.8)


def test_decimator_keeps_a_one_sample_spike():
    d = PeakDecimator(96000, 2, window_s=6.0, bins=1200)
    x = np.zeros((96000, 2), np.float32)
    x[12345, 1] = -0.9
    for chunk in np.array_split(x, 37):  # ragged blocks, as the timer delivers them
        d.push(chunk)
    _, y = d.trace(1)
    assert y.min() == pytest.approx(-0.9)
    _, y0 = d.trace(0)
    assert np.all(y0 == 0)


def test_goniometer_mono_is_vertical():
    t = np.arange(4800) / 48000
    s = 0.5 * np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    h = goniometer_histogram(np.stack([s, s], axis=1), size=101)
    assert h[50, :].sum() == h.sum()  # side = 0: one column (x = centre)
    h2 = goniometer_histogram(np.stack([s, -s], axis=1), size=101)
    assert h2[:, 50].sum() == h2.sum()  # out of phase: mid = 0, one row


def test_goniometer_scales_tape_level_program_to_fill_the_picture(qtbot):
    """Program at -20 dBFS was a dot in the middle; with the gain it fills most of the picture,
    the gain is shown, and a louder block lowers it at once (no picture beyond the edge)."""
    from app.widgets.phase import Goniometer

    gonio = Goniometer(size=101)
    qtbot.addWidget(gonio)
    rng = np.random.default_rng(3)
    quiet = (0.1 * rng.standard_normal((4800, 2))).clip(-0.3, 0.3).astype(np.float32)

    def extent(block, gain_db):
        hist = goniometer_histogram(block, 101, 10 ** (gain_db / 20))
        rows, cols = np.nonzero(hist)
        return max(rows.max() - rows.min(), cols.max() - cols.min()) / 100

    assert extent(quiet, 0.0) < 0.4  # unity gain: a small cloud in the middle
    for _ in range(30):
        gonio.push(quiet)
    assert 6.0 <= gonio.gain_db <= 10.0  # peak 0.3 drawn at 0.8 of the radius: +8.5 dB
    assert extent(quiet, gonio.gain_db) > 0.6
    assert gonio.gain_caption.toPlainText() == f"{gonio.gain_db:+.0f} dB"
    gonio.push(quiet * 3)  # three times louder: the gain drops at once
    assert gonio.gain_db == pytest.approx(20 * np.log10(0.8 / 0.9), abs=0.1) or gonio.gain_db == 0
    silence = np.zeros((4800, 2), np.float32)
    for _ in range(60):
        gonio.push(silence)
    assert gonio.gain_db == 30.0  # never more than +30 dB on hiss or silence


def test_vectorscope_bar_targets_and_histogram():
    cb, cr = bar_target((1, 0, 0), 1.0)  # 100% red: BT.601 (90, 240)
    assert cb == pytest.approx(90.2, abs=0.2) and cr == pytest.approx(240.0, abs=0.1)
    cb75, cr75 = bar_target((1, 0, 0), 0.75)
    assert cr75 == pytest.approx(128 + 0.75 * 112, abs=0.1)
    u = np.full((486, 360), int(round(cb)) << 2, np.uint16)  # 10-bit planes
    v = np.full((486, 360), int(round(cr)) << 2, np.uint16)
    h = chroma_histogram(u, v, 10)
    assert h[int(round(cb)), int(round(cr))] == h.sum() > 0


def test_luma_waveform_flags_out_of_range_pixels_only():
    assert legal_range(10) == (64, 940) and legal_range(8) == (16, 235)
    y = np.full((486, 720), 500, np.uint16)
    y[:, :100] = 40  # illegal black, 10-bit
    total, oor = luma_waveform(y, 10, columns=240, row_step=1)
    assert total.sum() == y.size
    assert oor.sum() == 486 * 100
    assert oor[:, 500 >> 2].sum() == 0


def test_preview_of_a_grey_frame_is_grey():
    y = np.full((486, 720), 502, np.uint16)  # mid grey, 10-bit
    u = np.full((486, 360), 512, np.uint16)
    v = np.full((486, 360), 512, np.uint16)
    rgb = preview_rgb(y, u, v, 10)
    assert rgb.shape == (486, 720, 3)
    assert np.all(np.abs(rgb.astype(int) - rgb[0, 0, 0]) <= 1)
    half = preview_rgb(y, u, v, 10, field_only=True)
    assert half.shape == (243, 360, 3)


def test_disk_levels():
    assert disk_level(None) == "ok"
    assert disk_level(31 * 60) == "ok"
    assert disk_level(29 * 60) == "amber"
    assert disk_level(4 * 60) == "red"


def test_health_strip_colours(qtbot):
    h = HealthStrip()
    qtbot.addWidget(h)
    h.show_figures(HealthFigures(samples_lost=0, disk_free_bytes=10**12, disk_time_left_s=1e6))
    assert h.samples.level == "ok" and h.disk.level == "ok"
    h.show_figures(
        HealthFigures(samples_lost=480, last_sample_loss_at_s=75.0, frames_dropped=2,
                      disk_free_bytes=5 * 10**8, disk_time_left_s=200.0)
    )  # fmt: skip
    assert (
        h.samples.level == "red" and "480" in h.samples.text() and "1 min 15 s" in h.samples.text()
    )
    assert h.frames.level == "red"
    assert h.disk.level == "red" and "3 min 20 s left" in h.disk.text()


def test_clip_light_latches_and_clears_on_click(qtbot):
    m = MeterBridge(2)
    qtbot.addWidget(m)
    m.update_levels([-0.001, -12.0], [-3.0, -15.0], 0.033)
    assert m.clips[0].latched and not m.clips[1].latched
    m.update_levels([-20.0, -20.0], [-23.0, -23.0], 0.033)
    assert m.clips[0].latched  # latched: stays on after the signal falls
    qtbot.mouseClick(m.clips[0], Qt.LeftButton)
    assert not m.clips[0].latched


def test_item_id_validated_as_typed(qtbot, tmp_path):
    p = SetupPanel()
    qtbot.addWidget(p)
    p.library.setText(str(tmp_path))
    qtbot.keyClicks(p.item_id, "tape 12/3")
    assert p.item_id.property("valid") == "false"
    assert "characters outside" in p.item_problem_label.text()
    p.item_id.clear()
    qtbot.keyClicks(p.item_id, "-lead")
    assert "may not start" in p.item_problem_label.text()
    p.item_id.clear()
    qtbot.keyClicks(p.item_id, "ARC-0042")
    assert p.item_id.property("valid") == "true"
    assert "ARC-0042_t01" in p.item_problem_label.text()
    assert p.item_problem() is None


def test_presets_fill_the_take_meta(qtbot):
    p = SetupPanel()
    qtbot.addWidget(p)
    names = list(CARRIER_PRESETS)
    p.preset.setCurrentIndex(p.preset.findData('1/4" reel, 7.5 ips, NAB, half-track'))
    p._apply_preset(p.preset.currentIndex())
    meta = p.take_meta()
    assert (meta.carrier, meta.tape_speed, meta.equalisation) == ("open_reel", "7.5 ips", "NAB")
    assert p.mode() == "audio"
    p.preset.setCurrentIndex(p.preset.findData("VHS, SP"))
    p._apply_preset(p.preset.currentIndex())
    assert p.take_meta().carrier == "vhs" and p.mode() == "video"
    assert "Cassette, Dolby B" in names and "U-matic" in names and "Betacam SP" in names
    assert all(preset["carrier"] in CARRIERS for preset in CARRIER_PRESETS.values())


def test_the_inputs_offered_are_the_engines(qtbot, monkeypatch):
    import app.widgets.setup_panel as setup_panel

    monkeypatch.setattr(
        setup_panel,
        "input_devices",
        lambda: [
            {
                "index": 3,
                "name": "Scarlett 2i2",
                "hostapi": "ALSA",
                "channels": 2,
                "default_rate_hz": 48000,
            }
        ],
    )
    panel = SetupPanel()
    qtbot.addWidget(panel)
    audio = [panel.audio_device.itemData(i) for i in range(panel.audio_device.count())]
    assert audio == ["demo", "Scarlett 2i2"]
    assert panel.audio_device.itemText(1) == "Scarlett 2i2 (2 ch, 48000 Hz)"
    video = [panel.video_device.itemData(i) for i in range(panel.video_device.count())]
    assert video[0] == "" and "demo:ntsc" in video and "demo:pal" in video


def test_scope_images_of_a_frame():
    from types import SimpleNamespace

    from app.scopes import images_of

    y = np.full((486, 720), 940, np.uint16)
    y[:, :360] = 30  # half the picture below legal black
    u = np.full((486, 360), 512, np.uint16)
    v = np.full((486, 360), 512, np.uint16)
    frame = SimpleNamespace(y=y, u=u, v=v, bit_depth=10, width=720, height=486, pts_s=1.0)
    im = images_of(frame)
    assert im.picture.shape == (243, 360, 3) and im.picture.dtype == np.uint8
    assert im.vectorscope[128, 128] == pytest.approx(1.0)  # all chroma at the centre
    red = im.waveform[..., 0].astype(int) - im.waveform[..., 1]
    assert red[:, 30 >> 2].max() > 100  # illegal black drawn red
    assert red[:, 940 >> 2].max() <= 0  # legal white drawn green


def test_steady_label_fits_its_widest_text_in_the_style_sheet_font(qtbot):
    from app.widgets.steady import SteadyLabel

    label = SteadyLabel("0", "00:00:00.0")
    qtbot.addWidget(label)
    label.setStyleSheet("font-size: 30pt; padding: 0 8px;")
    label.show()
    qtbot.waitExposed(label)
    needed = label.fontMetrics().horizontalAdvance("00:00:00.0") + 16
    assert label.width() >= needed and label.height() >= label.fontMetrics().height()
    before = label.size()
    label.setText("12:34:56.7")
    assert label.size() == before  # a new text never asks for a new size


def test_busy_processor_warns_only_when_the_take_falls_behind(qtbot):
    h = HealthStrip()
    qtbot.addWidget(h)
    h.show_figures(HealthFigures(cpu_percent=100.0, queue_depth=0, queue_fill=0.0))
    assert h.cpu.level == "ok" and h.cpu.text() == "CPU 100%"  # video capture keeping up
    h.show_figures(HealthFigures(cpu_percent=90.0, queue_depth=18, queue_fill=0.2))
    assert h.cpu.level == "amber"
    h.show_figures(HealthFigures(cpu_percent=99.0, queue_depth=54, queue_fill=0.6))
    assert h.cpu.level == "red" and h.queue.level == "amber"
