"""Labels for figures that change several times a second.

A QLabel asks its parent layout for a new geometry on every ``setText``, unless its size is
fixed. Each request climbs to the window and re-lays it out, which repaints the tab bar, the
scroll bars and every panel along the way: with a handful of live figures that was a whole
window repainted about 12 times a second. These labels never ask.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class SteadyLabel(QLabel):
    """A label of fixed size: as large as ``widest`` (its longest text) in the current style.

    The size follows the style sheet and font (re-measured when they change), never the text."""

    def __init__(self, text: str, widest: str, parent=None, width: int | None = None):
        super().__init__(text, parent)
        self._widest = widest
        self._width = width
        self._measuring = False
        self._pin()

    def _pin(self) -> None:
        self._measuring = True
        try:
            shown = self.text()
            self.setText(self._widest)
            hint = self.sizeHint()
            self.setText(shown)
        finally:
            self._measuring = False
        self.setFixedSize(self._width or hint.width(), hint.height())

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if not self._measuring and event.type() in (QEvent.StyleChange, QEvent.FontChange):
            self._pin()

    def showEvent(self, event) -> None:  # noqa: N802
        self._pin()  # the style sheet's padding is known by now
        super().showEvent(event)


class SteadyRow(QWidget):
    """Cells side by side sharing the width equally, placed by hand (no layout): a cell's new
    text stops here instead of re-laying out the window. The height is the tallest cell's."""

    def __init__(self, cells: list[QLabel], spacing: int = 6, parent=None):
        super().__init__(parent)
        self.cells = list(cells)
        self.spacing = spacing
        for cell in self.cells:
            cell.setParent(self)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self._fit_height()

    def _fit_height(self) -> None:
        self.setFixedHeight(max((cell.sizeHint().height() for cell in self.cells), default=0))

    def sizeHint(self) -> QSize:  # noqa: N802
        widths = sum(cell.minimumSizeHint().width() for cell in self.cells)
        return QSize(widths + self.spacing * max(0, len(self.cells) - 1), self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(len(self.cells) * 40, self.height())

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.StyleChange, QEvent.FontChange):
            self._fit_height()

    def showEvent(self, event) -> None:  # noqa: N802
        self._fit_height()  # the style sheet is applied by now
        self._place()
        super().showEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._place()
        super().resizeEvent(event)

    def _place(self) -> None:
        if not self.cells:
            return
        step = (self.width() + self.spacing) / len(self.cells)
        for i, cell in enumerate(self.cells):
            x = round(i * step)
            cell.setGeometry(x, 0, round((i + 1) * step) - self.spacing - x, self.height())
