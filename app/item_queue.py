"""The bench's item queue: the inventory with each item's status, filtered and searched.

Filled in a worker from the catalogue (metadata.catalogue.inventory). Choosing an item
(double-click or "Use on the bench") asks for it on the bench (``item_chosen``: the row); "Review
last take" asks for the item's newest take in the review view (``open_take``: its folder).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.widgets.library_view import LibraryView
from app.widgets.row_table import row_table
from metadata.catalogue.inventory import STATUSES
from metadata.take.meta import CARRIERS

ALL = ""


def carrier_label(key: str) -> str:
    return CARRIERS[key][0] if key in CARRIERS else (key or "not known")


def matches(row: dict, status: str, carrier: str, collection: str, text: str) -> bool:
    """The queue's filter: every given criterion holds; ``text`` is searched case-blind in the
    identifier, title, collection, notes and the list's other columns."""
    if status and row["status"] != status:
        return False
    if carrier and row["carrier"] != carrier:
        return False
    if collection and row["collection"] != collection:
        return False
    if text:
        hay = " ".join(
            [row["item"], row["title"], row["collection"], row["notes"], *row["extra"].values()]
        )
        return text.casefold() in hay.casefold()
    return True


class ItemQueueView(LibraryView):
    COLUMNS = ("item", "status", "carrier", "collection", "takes", "title")
    item_chosen = Signal(object)  # the item's row (dict)
    open_take = Signal(object)  # Path of a take folder

    reading_text = "Reading the inventory…"

    def __init__(self, parent=None, library: Path | None = None, url: str | None = None):
        super().__init__(parent, library, url)
        self.shown: list[dict] = []

        self.status_filter = QComboBox()
        self.status_filter.addItem("all statuses", ALL)
        for s in STATUSES:
            self.status_filter.addItem(s.replace("_", " "), s)
        self.carrier_filter = QComboBox()
        self.carrier_filter.addItem("all carriers", ALL)
        for key, (label, _physical, _kind) in CARRIERS.items():
            self.carrier_filter.addItem(label, key)
        self.collection_filter = QComboBox()
        self.collection_filter.addItem("all collections", ALL)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search identifier, title, notes…")
        self.search.setClearButtonEnabled(True)
        self.use_button = QPushButton("Use on the bench")
        self.review_button = QPushButton("Review last take")
        self.table = row_table(self.COLUMNS)
        self.table.setToolTip("Double-click an item to fill the bench's item form")
        self.status.setStyleSheet("color: #8a929a")

        top = QHBoxLayout()
        for w in (self.status_filter, self.carrier_filter, self.collection_filter):
            top.addWidget(w)
        top.addWidget(self.search, 1)
        top.addWidget(self.refresh_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.review_button)
        buttons.addWidget(self.use_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)

        for combo in (self.status_filter, self.carrier_filter, self.collection_filter):
            combo.currentIndexChanged.connect(self._filter_changed)
        self.search.textChanged.connect(self._filter_changed)
        self.use_button.clicked.connect(self.use_selected)
        self.review_button.clicked.connect(self.review_selected)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._selection_changed()

    @staticmethod
    def load_rows(library: Path, url: str | None) -> list[dict]:
        from metadata.catalogue.inventory import list_items

        return list_items(library, url)

    def fill(self, rows: list[dict]) -> None:
        chosen = self.collection_filter.currentData()
        self.collection_filter.blockSignals(True)
        self.collection_filter.clear()
        self.collection_filter.addItem("all collections", ALL)
        for name in sorted({r["collection"] for r in self.rows if r["collection"]}):
            self.collection_filter.addItem(name, name)
        index = self.collection_filter.findData(chosen)
        self.collection_filter.setCurrentIndex(max(index, 0))
        self.collection_filter.blockSignals(False)
        self._filter_changed()

    def _filter_changed(self, *_args) -> None:
        status = self.status_filter.currentData() or ALL
        carrier = self.carrier_filter.currentData() or ALL
        collection = self.collection_filter.currentData() or ALL
        text = self.search.text().strip()
        self.shown = [r for r in self.rows if matches(r, status, carrier, collection, text)]
        self.table.setRowCount(len(self.shown))
        for index, row in enumerate(self.shown):
            cells = (
                row["item"],
                row["status"].replace("_", " "),
                carrier_label(row["carrier"]),
                row["collection"],
                str(row["takes"]),
                " ".join(row["title"].split()),
            )
            for column, text_ in enumerate(cells):
                cell = QTableWidgetItem(text_)
                if column == 1 and row["status"] == "on_hold":
                    cell.setToolTip(row["hold_reason"])
                self.table.setItem(index, column, cell)
        self.status.setText(f"{len(self.shown)} of {len(self.rows)} item(s)")
        self._selection_changed()

    def shown_items(self) -> list[str]:
        return [r["item"] for r in self.shown]

    # -- choosing
    def selected_row(self) -> dict | None:
        index = self.table.currentRow()
        if 0 <= index < len(self.shown) and self.table.selectionModel().hasSelection():
            return self.shown[index]
        return None

    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.use_button.setEnabled(row is not None)
        self.review_button.setEnabled(bool(row and row["takes"]))

    def _double_clicked(self, index: int, _column: int) -> None:
        self.table.selectRow(index)
        self.use_selected()

    def use_selected(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.item_chosen.emit(row)

    def review_selected(self) -> None:
        from metadata.catalogue.inventory import item_take_dirs

        row = self.selected_row()
        if row is None or self.library is None:
            return
        takes = item_take_dirs(self.library, row["item"])
        if takes:
            self.open_take.emit(takes[-1])
        else:
            self.status.setText(f"{row['item']} has no take yet")


def fill_item_form(setup, row: dict) -> None:
    """Put an inventory item into the bench's item form (identifier, title, carrier, notes)."""
    setup.item_id.setText(row["item"])
    setup.title.setText(row["title"])
    setup._set_combo_value(setup.carrier, row["carrier"])
    setup.notes.setPlainText(row["notes"])  # the previous item's notes never linger
