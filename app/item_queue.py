"""The bench's item queue: the inventory with each item's status, filtered and searched, and
the carrier inspection form beside it.

Filled in a worker from the catalogue (metadata.catalogue.inventory). Choosing an item
(double-click or "Use on the bench") claims it for this station (metadata.catalogue.claims)
and asks for it on the bench (``item_chosen``: the row). When another station holds it the
window says which and since when, and asks before taking it over; the bench form is left as
it was unless the technician takes it. "Review last take" asks for the item's newest take in
the review view (``open_take``: its folder). The selected item is shown in the inspection form
(app.widgets.inspection_form).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets.inspection_form import InspectionForm
from app.widgets.library_view import LibraryView
from app.widgets.row_table import row_table
from metadata.catalogue.claims import STALE_AFTER
from metadata.catalogue.inventory import STATUSES
from metadata.clock import format_minute, utc_now
from metadata.errors import HeadblockError
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
    COLUMNS = ("item", "status", "carrier", "collection", "takes", "station", "title")
    item_chosen = Signal(object)  # the item's row (dict)
    open_take = Signal(object)  # Path of a take folder

    reading_text = "Reading the inventory…"

    def __init__(
        self,
        parent=None,
        library: Path | None = None,
        url: str | None = None,
        station: str | None = None,
    ):
        super().__init__(parent, library, url)
        self.shown: list[dict] = []
        self.station = station  # None: the settings' station, else the host name

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
        self.release_button = QPushButton("Release")
        self.release_button.setToolTip("End this station's claim on the item")
        self.table = row_table(self.COLUMNS)
        self.inspection = InspectionForm(library=library, url=url)
        self.inspection.recorded.connect(lambda _item: self.refresh())
        self.table.setToolTip("Double-click an item to fill the bench's item form")
        self.status.setStyleSheet("color: #8a929a")

        top = QHBoxLayout()
        for w in (self.status_filter, self.carrier_filter, self.collection_filter):
            top.addWidget(w)
        top.addWidget(self.search, 1)
        top.addWidget(self.refresh_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.release_button)
        buttons.addWidget(self.review_button)
        buttons.addWidget(self.use_button)
        queue = QWidget()
        left = QVBoxLayout(queue)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(top)
        left.addWidget(self.table, 1)
        left.addLayout(buttons)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(queue)
        form_scroll = QScrollArea()  # the form's full height never sets the window's minimum
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QScrollArea.NoFrame)
        form_scroll.setWidget(self.inspection)
        self.splitter.addWidget(form_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.splitter)

        for combo in (self.status_filter, self.carrier_filter, self.collection_filter):
            combo.currentIndexChanged.connect(self._filter_changed)
        self.search.textChanged.connect(self._filter_changed)
        self.use_button.clicked.connect(self.use_selected)
        self.review_button.clicked.connect(self.review_selected)
        self.release_button.clicked.connect(self.release_selected)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._selection_changed()

    @staticmethod
    def load_rows(library: Path, url: str | None) -> list[dict]:
        from metadata.catalogue.inventory import list_items

        return list_items(library, url)

    def set_library(self, library: Path | None, url: str | None = None) -> None:
        self.inspection.library = Path(library) if library else None
        self.inspection.url = url
        super().set_library(library, url)

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
        chosen = self.selected_row()
        self.shown = [r for r in self.rows if matches(r, status, carrier, collection, text)]
        self.table.setRowCount(len(self.shown))
        for index, row in enumerate(self.shown):
            cells = (
                row["item"],
                row["status"].replace("_", " "),
                carrier_label(row["carrier"]),
                row["collection"],
                str(row["takes"]),
                row.get("claimed_by", ""),
                " ".join(row["title"].split()),
            )
            for column, text_ in enumerate(cells):
                cell = QTableWidgetItem(text_)
                if column == 1 and row["status"] == "on_hold":
                    cell.setToolTip(row["hold_reason"])
                if column == 5 and text_:
                    since = row["claimed_utc"]
                    cell.setToolTip(f"claimed since {format_minute(since)} UTC")
                    if since is not None and utc_now() - since >= STALE_AFTER:
                        cell.setText(f"{text_} (stale)")  # a station that never came back
                        cell.setForeground(QColor("#fbc02d"))
                self.table.setItem(index, column, cell)
        self.status.setText(f"{len(self.shown)} of {len(self.rows)} item(s)")
        items = self.shown_items()
        if chosen is not None and chosen["item"] in items:  # a refresh keeps the item chosen
            self.table.selectRow(items.index(chosen["item"]))
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
        self.release_button.setEnabled(bool(row and row.get("claimed_by")))
        if (row and row["item"]) != self.inspection.item:
            self.inspection.set_item(row)

    def _double_clicked(self, index: int, _column: int) -> None:
        self.table.selectRow(index)
        self.use_selected()

    def use_selected(self) -> None:
        """Claim the item for this station, then put it on the bench. Held elsewhere: say who
        and since when, and ask; the bench is left alone unless the technician takes it over.
        A catalogue that cannot be reached does not stop the bench: it is said, and the item
        is used unclaimed."""
        row = self.selected_row()
        if row is None:
            return
        if self.library is not None:
            from metadata.catalogue.claims import ClaimedElsewhere, claim_item

            try:
                try:
                    held, _ = claim_item(self.library, row["item"], self.station, self.url)
                except ClaimedElsewhere as exc:
                    other = exc.claim
                    if not self.ask_take_over(other):
                        self.status.setText(f"Not used: {exc}")
                        return
                    held, _ = claim_item(
                        self.library, row["item"], self.station, self.url, take_over=True
                    )
                    self.status.setText(f"{row['item']}: taken over from station {other.station}")
                else:
                    self.status.setText(f"{row['item']}: claimed for station {held.station}")
                row["claimed_by"], row["claimed_utc"] = held.station, held.claimed_utc
            except HeadblockError as exc:
                self.status.setText(f"{row['item']} used without a claim: {exc}")
        self.item_chosen.emit(row)

    def ask_take_over(self, claim) -> bool:
        """Another station holds the item: say who and since when, and ask."""
        answer = QMessageBox.question(
            self,
            "Item held by another station",
            f"{claim.item} is held by station {claim.station} {claim.since_text()}.\n\n"
            "Take it over for this station? The other station is not told until it looks.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def release_selected(self) -> None:
        """End this station's claim (another station's is refused: use the command line)."""
        from metadata.catalogue.claims import release_claim

        row = self.selected_row()
        if row is None or self.library is None:
            return
        try:
            ended = release_claim(self.library, row["item"], self.station, self.url)
        except HeadblockError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(f"{row['item']}: released" if ended else f"{row['item']}: not held")
        self.refresh()

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
