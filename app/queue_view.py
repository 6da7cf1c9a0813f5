"""The supervisor's queue: takes across the library whose QC is done and that await a decision.

Filled from the catalogue (brought in line with the take folders in a worker on refresh);
sortable by verdict (fail first) and by date; one click on "Report" opens the take's report,
writing it first when missing. Double-click opens the take in the review view.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.workers import JobRunner
from metadata.errors import HeadblockError

VERDICT_RANK = {"fail": 0, "warn": 1, "pass": 2}
VERDICT_COLOURS = {"fail": "#e53935", "warn": "#fb8c00", "pass": "#43a047"}


class _SortItem(QTableWidgetItem):
    """Sorts by a key kept beside the text (verdict severity, time as a number)."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):
        if isinstance(other, _SortItem):
            return self.key < other.key
        return super().__lt__(other)


def row_table(columns) -> QTableWidget:
    """A read-only table of whole rows, one selected at a time (the queue's, the events')."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fmt(dt) -> str:
    if isinstance(dt, datetime):
        return dt.strftime("%Y-%m-%d %H:%M")
    return str(dt or "")


def _ts(dt) -> float:
    return dt.timestamp() if isinstance(dt, datetime) else 0.0


class QueueView(QWidget):
    COLUMNS = ("take", "verdict", "kind", "duration", "events", "state", "captured", "QC", "report")
    open_take = Signal(object)  # Path of a take folder, for the review view
    signed = Signal(dict)

    def __init__(self, parent=None, library: Path | None = None, url: str | None = None):
        super().__init__(parent)
        self.library = Path(library) if library else None
        self.url = url
        self.rows: list[dict] = []
        self._sorted_once = False
        self.jobs = JobRunner(self, max_threads=1)
        self.open_url = QDesktopServices.openUrl  # replaced in tests
        self.title = QLabel("Takes awaiting sign-off")
        self.title.setStyleSheet("font-weight: bold")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.signoff_button = QPushButton("Sign off…")
        self.signoff_button.clicked.connect(self.sign_selected)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #8a929a")
        self.table = row_table(self.COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.setToolTip("Double-click a take to review it")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.signoff_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)

    def showEvent(self, ev):  # noqa: N802 (Qt API) — the queue is current whenever shown
        super().showEvent(ev)
        if self.library is not None and self.refresh_button.isEnabled():
            self.refresh()

    def set_library(self, library: Path | None, url: str | None = None) -> None:
        self.library = Path(library) if library else None
        self.url = url
        self.refresh()

    # -- filling
    def refresh(self) -> None:
        """Rebuild the catalogue from the library in a worker, then list the queue."""
        if self.library is None:
            self.status.setText("No library chosen")
            return
        from metadata.catalogue import database as catalogue

        library, url = self.library, self.url

        def job():
            catalogue.rebuild(library, url)
            return catalogue.awaiting_signoff(library, url)

        self.refresh_button.setEnabled(False)
        self.status.setText("Reading the library…")
        self.jobs.submit(job, on_finished=self.show_rows, on_failed=self._failed)

    def _failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.status.setText(message)

    def show_rows(self, rows: list[dict]) -> None:
        self.refresh_button.setEnabled(True)
        self.rows = list(rows)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            verdict = str(row.get("verdict") or "")
            dur = row.get("duration_s")
            cells = [
                _SortItem(row["identifier"], (row["item"], row["take_number"])),
                _SortItem(
                    verdict.upper(), (VERDICT_RANK.get(verdict, 3), _ts(row.get("captured_utc")))
                ),
                _SortItem(str(row.get("kind") or ""), str(row.get("kind") or "")),
                _SortItem(f"{dur:.1f} s" if dur is not None else "", dur or 0.0),
                _SortItem(str(row.get("events") or 0), int(row.get("events") or 0)),
                _SortItem(str(row.get("state") or "").replace("_", " "), str(row.get("state"))),
                _SortItem(_fmt(row.get("captured_utc")), _ts(row.get("captured_utc"))),
                _SortItem(_fmt(row.get("qc_utc")), _ts(row.get("qc_utc"))),
            ]
            for c, item in enumerate(cells):
                item.setData(Qt.ItemDataRole.UserRole, row["take_dir"])
                self.table.setItem(r, c, item)
            if verdict in VERDICT_COLOURS:
                cells[1].setForeground(QColor(VERDICT_COLOURS[verdict]))
            button = QPushButton("Open report")
            button.setToolTip("Open the QC report (written first if missing)")
            button.clicked.connect(lambda _=False, d=row["take_dir"]: self.open_report(Path(d)))
            self.table.setCellWidget(r, len(self.COLUMNS) - 1, button)
        self.table.setSortingEnabled(True)
        if not self._sorted_once:  # worst verdict first, oldest first within it
            self._sorted_once = True
            self.table.sortItems(1, Qt.SortOrder.AscendingOrder)
        self.status.setText(f"{len(self.rows)} take(s) awaiting sign-off")

    def take_dir_at(self, row: int) -> Path | None:
        item = self.table.item(row, 0)
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def take_ids_in_order(self) -> list[str]:
        return [self.table.item(r, 0).text() for r in range(self.table.rowCount())]

    def sort_by(self, column: str, descending: bool = False) -> None:
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.sortItems(self.COLUMNS.index(column), order)

    # -- actions
    def open_report(self, take_dir: Path) -> None:
        from metadata.take.naming import paths_for_take_dir

        paths = paths_for_take_dir(take_dir)
        if paths.qc_html.exists():
            self.open_url(QUrl.fromLocalFile(str(paths.qc_html)))
            return

        def job():
            from qc.report import write_report

            write_report(take_dir)
            return paths.qc_html

        self.status.setText(f"Writing the report of {paths.stem}…")
        self.jobs.submit(
            job,
            on_finished=lambda p: (
                self.status.setText(str(p)),
                self.open_url(QUrl.fromLocalFile(str(p))),
            ),
            on_failed=self._failed,
        )

    def _double_clicked(self, row: int, _col: int) -> None:
        d = self.take_dir_at(row)
        if d is not None:
            self.open_take.emit(d)
            self._open_in_review(d)

    def _open_in_review(self, take_dir: Path) -> None:
        """Show the take in the window's review tab, when the window has one."""
        from PySide6.QtWidgets import QTabWidget

        from app.review import ReviewView

        review = self.window().findChild(ReviewView)
        if review is None:
            return
        review.open_path(take_dir)
        tabs = self.window().findChild(QTabWidget)
        if tabs is not None and tabs.indexOf(review) >= 0:
            tabs.setCurrentWidget(review)

    def sign_selected(self):
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.status.setText("Select a take first")
            return None
        d = self.take_dir_at(rows[0].row())
        from app.signoff_dialog import SignoffDialog

        try:
            dlg = SignoffDialog(d, self)
        except HeadblockError as exc:
            self.status.setText(str(exc))
            return None
        dlg.signed.connect(lambda entry: (self.signed.emit(entry), self.refresh()))
        dlg.open()
        return dlg
