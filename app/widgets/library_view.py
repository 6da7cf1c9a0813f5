"""A view listing what the catalogue knows of one library (takes awaiting sign-off, items):
read in a worker whenever the view is shown or asked to, never on the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from app.workers import JobRunner


class LibraryView(QWidget):
    """Subclasses set ``reading_text``, give ``load_rows`` (run in the worker) and
    ``fill`` (called with the rows on the GUI thread)."""

    reading_text = "Reading the library…"

    def __init__(self, parent=None, library: Path | None = None, url: str | None = None):
        super().__init__(parent)
        self.library = Path(library) if library else None
        self.url = url
        self.rows: list[dict] = []
        self.jobs = JobRunner(self, max_threads=1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel("")

    @staticmethod
    def load_rows(library: Path, url: str | None) -> list[dict]:
        raise NotImplementedError

    def fill(self, rows: list[dict]) -> None:
        raise NotImplementedError

    def showEvent(self, ev):  # noqa: N802 (Qt API) — current whenever shown
        super().showEvent(ev)
        if self.library is not None and self.refresh_button.isEnabled():
            self.refresh()

    def set_library(self, library: Path | None, url: str | None = None) -> None:
        self.library = Path(library) if library else None
        self.url = url
        self.refresh()

    def refresh(self) -> None:
        if self.library is None:
            self.status.setText("No library chosen")
            return
        self.refresh_button.setEnabled(False)
        self.status.setText(self.reading_text)
        self.jobs.submit(
            self.load_rows, self.library, self.url, on_finished=self.show_rows,
            on_failed=self._failed,
        )  # fmt: skip

    def _failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.status.setText(message)

    def show_rows(self, rows: list[dict]) -> None:
        self.refresh_button.setEnabled(True)
        self.rows = list(rows)
        self.fill(self.rows)
