"""The controller's display timing: a fixed tick grid, and easing that keeps the bars last."""

from __future__ import annotations

import pytest

from app.controller import (
    GONIO_EVERY_VIDEO,
    METERS_EVERY,
    PICTURE_EVERY,
    WAVEFORM_EVERY_VIDEO,
    BenchController,
)


def test_ticks_keep_to_a_grid(qtbot):
    c = BenchController(refresh_hz=30)
    c._next_due = 100.0
    c._schedule_next(100.004)  # this tick came 4 ms late: the next one is not pushed back
    assert c._next_due == pytest.approx(100.0 + 1 / 30)
    assert c.timer.interval() == round((1 / 30 - 0.004) * 1000)
    c._schedule_next(c._next_due + 0.001)
    assert c._next_due == pytest.approx(100.0 + 2 / 30)
    c._schedule_next(105.0)  # after a stall: a new grid, no burst of catch-up ticks
    assert c._next_due == pytest.approx(105.0 + 1 / 30)
    assert c.timer.interval() == 33


def test_display_eases_pictures_first_and_the_bars_last(qtbot):
    c = BenchController()
    levels = []
    for fill in (0.0, 0.05, 0.15, 0.35, 0.7, 1.0):
        c._queue_fill = fill
        levels.append(c.ease_level())
    assert levels == [0, 0, 1, 2, 3, 3]
    for every in (METERS_EVERY, PICTURE_EVERY, WAVEFORM_EVERY_VIDEO, GONIO_EVERY_VIDEO):
        assert list(every) == sorted(every)  # easing never makes a pane faster
    assert METERS_EVERY[: len(METERS_EVERY) - 1] == (1, 1, 1)  # bars at full rate till 60 %
    assert PICTURE_EVERY[1] > PICTURE_EVERY[0]  # pictures are the first to slow
    c._queue_fill = 0.0
    c.take, c.take_kind = object(), "video"
    assert c.traces_every() == (WAVEFORM_EVERY_VIDEO[0], GONIO_EVERY_VIDEO[0])
    c.take_kind = "audio"
    assert c.traces_every() == (1, 2)
    c.take = None
