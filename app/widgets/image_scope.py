"""The frame shared by the picture and the image scopes: one ImageItem in a view of fixed
aspect that the mouse does not move, on a dark background."""

from __future__ import annotations

import pyqtgraph as pg

SCOPE_BACKGROUND = "#101214"


class ImageScope(pg.GraphicsLayoutWidget):
    def __init__(
        self,
        tooltip: str = "",
        background: str = SCOPE_BACKGROUND,
        axis_order: str = "col-major",
        invert_y: bool = False,
        parent=None,
    ):
        super().__init__(parent)
        self.setBackground(background)
        if tooltip:
            self.setToolTip(tooltip)
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=invert_y)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder=axis_order)
        self.view.addItem(self.image)
