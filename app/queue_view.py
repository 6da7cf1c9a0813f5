"""The supervisor's queue: takes across the library whose QC is done and that await a decision.

Filled from the catalogue (brought in line with the take folders in a worker on refresh);
sortable by verdict (fail first) and by date; one click on "Report" opens the take's report,
writing it first when missing. Double-click asks for the take in the review view (``open_take``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.signoff_dialog import SignoffDialog
from app.widgets.integrity import IntegrityWatcher, integrity_label, read_take_integrity
from app.widgets.library_view import LibraryView
from app.widgets.row_table import row_table
from metadata.catalogue import database as catalogue
from metadata.clock import format_minute
from metadata.errors import HeadblockError
from metadata.verdicts import VERDICT_COLOURS, worst_first


class _SortItem(QTableWidgetItem):
    """Sorts by a key kept beside the text (verdict severity, time as a number)."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):
        if isinstance(other, _SortItem):
            return self.key < other.key
        return super().__lt__(other)


def _ts(dt) -> float:
    return dt.timestamp() if isinstance(dt, datetime) else 0.0


class QueueView(LibraryView):
    COLUMNS = (
        "take", "verdict", "kind", "duration", "events", "state", "captured", "QC", "integrity",
        "report",
    )  # fmt: skip
    open_take = Signal(object)  # Path of a take folder, for the review view
    take_signed = Signal(object, dict)  # take folder, the decision recorded

    def __init__(self, parent=None, library: Path | None = None, url: str | None = None):
        super().__init__(parent, library, url)
        self._sorted_once = False
        self.open_url = QDesktopServices.openUrl  # replaced in tests
        self.title = QLabel("Takes awaiting sign-off")
        self.title.setStyleSheet("font-weight: bold")
        self.signoff_button = QPushButton("Sign off…")
        self.signoff_button.clicked.connect(self.sign_selected)
        self.status.setStyleSheet("color: #8a929a")
        self.table = row_table(self.COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.setToolTip("Double-click a take to review it")
        # the after-take integrity job's state, followed while pending (its end may fail a take)
        self.integrity_watch = IntegrityWatcher(self)
        self.integrity_watch.changed.connect(self._integrity_changed)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.signoff_button)
        self.derive_panel = None  # the selected take's access copy row (attach_delivery)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)

    def attach_delivery(self, manager) -> None:
        """An access copy row for the selected take (``app.delivery.DeliveryManager``)."""
        from app.widgets.derive_panel import DerivePanel

        self.derive_panel = DerivePanel(manager, self)
        self.layout().insertWidget(2, self.derive_panel)
        self.table.itemSelectionChanged.connect(self._bind_derive)
        self._bind_derive()

    def _bind_derive(self) -> None:
        if self.derive_panel is None:
            return
        rows = self.table.selectionModel().selectedRows()
        take_dir = self.take_dir_at(rows[0].row()) if rows else None
        if take_dir != self.derive_panel.take_dir:
            self.derive_panel.set_take(take_dir)

    @staticmethod
    def load_rows(library: Path, url: str | None) -> list[dict]:
        """Rebuild the catalogue from the library, then list the takes awaiting sign-off."""
        catalogue.rebuild(library, url)
        rows = catalogue.awaiting_signoff(library, url)
        for row in rows:  # the state in words, for the tooltip
            if row.get("integrity"):
                row["integrity_entry"] = read_take_integrity(Path(row["take_dir"]))
        return rows

    def fill(self, rows: list[dict]) -> None:
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            verdict = str(row.get("verdict") or "")
            duration_s = row.get("duration_s")
            cells = [
                _SortItem(row["identifier"], (row["item"], row["take_number"])),
                _SortItem(verdict.upper(), (worst_first(verdict), _ts(row.get("captured_utc")))),
                _SortItem(str(row.get("kind") or ""), str(row.get("kind") or "")),
                _SortItem(
                    f"{duration_s:.1f} s" if duration_s is not None else "", duration_s or 0.0
                ),
                _SortItem(str(row.get("events") or 0), int(row.get("events") or 0)),
                _SortItem(str(row.get("state") or "").replace("_", " "), str(row.get("state"))),
                _SortItem(format_minute(row.get("captured_utc")), _ts(row.get("captured_utc"))),
                _SortItem(format_minute(row.get("qc_utc")), _ts(row.get("qc_utc"))),
                _SortItem("", ""),
            ]
            for column, item in enumerate(cells):
                item.setData(Qt.ItemDataRole.UserRole, row["take_dir"])
                self.table.setItem(index, column, item)
            if verdict in VERDICT_COLOURS:
                cells[1].setForeground(QColor(VERDICT_COLOURS[verdict]))
            entry = row.get("integrity_entry") or (
                {"state": row["integrity"]} if row.get("integrity") else None
            )
            self._show_integrity(cells[self.COLUMNS.index("integrity")], entry)
            self.integrity_watch.watch(row["take_dir"], entry)
            button = QPushButton("Open report")
            button.setToolTip("Open the QC report (written first if missing)")
            button.clicked.connect(
                lambda _=False, take_dir=row["take_dir"]: self.open_report(Path(take_dir))
            )
            self.table.setCellWidget(index, len(self.COLUMNS) - 1, button)
        self.table.setSortingEnabled(True)
        if not self._sorted_once:  # worst verdict first, oldest first within it
            self._sorted_once = True
            self.table.sortItems(1, Qt.SortOrder.AscendingOrder)
        self.status.setText(f"{len(self.rows)} take(s) awaiting sign-off")

    @staticmethod
    def _show_integrity(item: QTableWidgetItem, entry: dict | None) -> None:
        state, colour, tip = integrity_label(entry)
        item.setText(state)
        item.key = state
        item.setForeground(QColor(colour))
        item.setToolTip(f"After-take integrity: {tip}")

    def _integrity_changed(self, take_dir: str, entry) -> None:
        column = self.COLUMNS.index("integrity")
        for row in range(self.table.rowCount()):
            item = self.table.item(row, column)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == take_dir:
                self._show_integrity(item, entry)
                if (entry or {}).get("state") == "failed":  # its verdict may be fail now
                    self.refresh()
                return

    def take_dir_at(self, row: int) -> Path | None:
        item = self.table.item(row, 0)
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def take_ids_in_order(self) -> list[str]:
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

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
            on_finished=lambda report: (
                self.status.setText(str(report)),
                self.open_url(QUrl.fromLocalFile(str(report))),
            ),
            on_failed=self._failed,
        )

    def _double_clicked(self, row: int, _col: int) -> None:
        take_dir = self.take_dir_at(row)
        if take_dir is not None:
            self.open_take.emit(take_dir)

    def sign_selected(self):
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.status.setText("Select a take first")
            return None
        take_dir = self.take_dir_at(rows[0].row())
        try:
            dlg = SignoffDialog(take_dir, self)
        except HeadblockError as exc:
            self.status.setText(str(exc))
            return None
        dlg.signed.connect(self._signed)
        dlg.signed.connect(lambda entry: self.take_signed.emit(take_dir, entry))
        dlg.open()
        return dlg

    def _signed(self, _entry: dict) -> None:
        self.refresh()  # the signed take leaves the queue
