"""A burnt-in identifier and timecode: the text read back from the access copy's frames is the
one expected at each frame (matched against the text drawn alone), on a box that is black
whatever the picture, and the picture outside the box is the copy's as without burn-in."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from headblock.delivery.burn_in import BLACK_Y, BurnIn, label
from headblock.delivery.derive import derive_take
from qc.timecode import TakeTimecode


def _profile(tmp_path, burn: bool):
    path = tmp_path / ("burn.toml" if burn else "plain.toml")
    name = "burn" if burn else "plain"
    path.write_text(
        f'[profile]\nname = "{name}"\n[video]\npreset = "ultrafast"\nburn_in = {str(burn).lower()}\n'
    )
    return path


def _lumas(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray()[: f.height] for f in c.decode(video=0)]


def _drawn(burn: BurnIn, text: str) -> np.ndarray:
    canvas = np.full((burn.h, burn.w), 128, np.uint8)
    x0, y0, x1, y1 = burn.draw_luma(canvas, text)
    return canvas[y0:y1, x0:x1].astype(np.float64)


def _likeness(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_identifier_and_time_are_burnt_into_every_frame(take_copy, tmp_path):
    take = take_copy("ntsc")
    plain = derive_take(take, _profile(tmp_path, False))
    burnt = derive_take(take, _profile(tmp_path, True))
    assert "burnt in" in burnt.record.process
    a, b = _lumas(plain.record.path), _lumas(burnt.record.path)
    assert len(a) == len(b) >= 59
    h, w = b[0].shape
    burn = BurnIn("NTSC_t01", w, h, Fraction(30000, 1001))
    rate = Fraction(30000, 1001)
    for i in (0, 17, 45):
        text = label("NTSC_t01", float(i / rate), rate, None)
        assert text == f"NTSC_t01  00:00:{i // 30:02d}:{i % 30:02d}"
        x0, y0, x1, y1 = burn.box(text)
        crop = b[i][y0:y1, x0:x1].astype(np.float64)
        right, wrong = (
            _drawn(burn, text),
            _drawn(burn, label("NTSC_t01", (i + 7) / rate, rate, None)),
        )
        assert _likeness(crop, right) > 0.9
        # where the two times are drawn differently, the copy shows this frame's own
        differ = right != wrong
        assert differ.sum() > 50
        err_right = np.abs(crop - right)[differ].mean()
        assert err_right < 0.3 * np.abs(crop - wrong)[differ].mean()
        # the box is black where there is no text, the picture outside it untouched
        assert np.median(crop[right == BLACK_Y]) < BLACK_Y + 12
        assert np.abs(b[i][: y0 - 8].astype(int) - a[i][: y0 - 8]).mean() < 1.0


def test_the_tape_timecode_is_burnt_when_the_master_has_one():
    tc = TakeTimecode(Fraction(30000, 1001), True, 107892, "test")  # 01:00:00;00 drop-frame
    rate = Fraction(30000, 1001)
    assert label("T_t01", 0.0, rate, tc) == "T_t01  TC 01:00:00;00"
    assert (
        label("T_t01", float(1800 / rate), rate, tc) == "T_t01  TC 01:01:00;02"
    )  # ;00, ;01 dropped
