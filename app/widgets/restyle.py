"""Set a widget's style-sheet properties (``[level="warn"]`` and the like) and apply them."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def restyle(widget: QWidget, **properties: str) -> None:
    """Qt reads a property selector only when the style is polished again."""
    for name, value in properties.items():
        widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
