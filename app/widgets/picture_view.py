"""Live picture: the native YUV planes converted to RGB with OpenCV, for display only."""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from app.widgets.image_scope import ImageScope


def to_8bit(plane: np.ndarray, bit_depth: int) -> np.ndarray:
    if bit_depth > 8:
        return (plane >> (bit_depth - 8)).astype(np.uint8)
    return plane.astype(np.uint8, copy=False)


def preview_rgb(
    y: np.ndarray, u: np.ndarray, v: np.ndarray, bit_depth: int, field_only: bool = False
) -> np.ndarray:
    """RGB (h, w, 3) uint8 of native planes of any chroma subsampling (BT.601 limited range).

    The chroma planes are brought to 4:2:2 and packed as YUY2, which OpenCV converts with the
    video-range matrix; 10-bit input is shown at 8 bits (the master keeps every bit).
    ``field_only`` shows the first field at half width: a quarter of the work, and no combing
    on interlaced motion.
    """
    if field_only:
        full_h = y.shape[0]
        y = y[::2, ::2]
        # chroma rows follow luma rows only when the chroma is not vertically subsampled
        u = u[::2, ::2] if u.shape[0] == full_h else u[:, ::2]
        v = v[::2, ::2] if v.shape[0] == full_h else v[:, ::2]
    h, w = y.shape
    w -= w % 2
    y8 = to_8bit(y[:, :w], bit_depth)
    u8 = to_8bit(u, bit_depth)
    v8 = to_8bit(v, bit_depth)
    if u8.shape != (h, w // 2):
        u8 = cv2.resize(u8, (w // 2, h), interpolation=cv2.INTER_NEAREST)
        v8 = cv2.resize(v8, (w // 2, h), interpolation=cv2.INTER_NEAREST)
    packed = np.empty((h, w, 2), np.uint8)
    packed[:, :, 0] = y8
    packed[:, 0::2, 1] = u8
    packed[:, 1::2, 1] = v8
    return cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_YUY2)


class PictureView(ImageScope):
    """The picture, shown at the display aspect ratio (4:3 for SD)."""

    def __init__(self, parent=None):
        super().__init__(background="#000000", axis_order="row-major", invert_y=True, parent=parent)
        self.caption = pg.TextItem("no picture", color="#8a929a", anchor=(0.5, 0.5))
        self.view.addItem(self.caption)
        self.caption.setPos(320, 240)
        self.view.setRange(xRange=(0, 640), yRange=(0, 480), padding=0)
        self._shape = None
        self.display_aspect = 4 / 3

    def show_planes(self, y, u, v, bit_depth: int, field_only: bool = True) -> None:
        self.show_rgb(preview_rgb(y, u, v, bit_depth, field_only=field_only))

    def show_rgb(self, rgb: np.ndarray) -> None:
        self.image.setImage(rgb, autoLevels=False)  # uint8 RGB: no level mapping
        h, w = rgb.shape[:2]
        if self._shape != (h, w):
            self._shape = (h, w)
            shown_w = h * self.display_aspect
            self.image.setRect(QRectF(0, 0, shown_w, h))
            self.view.setRange(xRange=(0, shown_w), yRange=(0, h), padding=0)
            self.caption.setVisible(False)

    def reset(self) -> None:
        self.image.clear()
        self._shape = None
        self.caption.setVisible(True)
