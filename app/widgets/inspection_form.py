"""The carrier inspection form beside the Items tab's list: the engine of ``headblock inspect``
(metadata.collection.inspection) with the archivist's vocabulary as check boxes.

Conditions are the vocabulary (each with an optional detail); treatments are a bake (°C and
hours), cleaned, repaired, rewound and rehoused (each with how or what); playable; a note and
who inspected. The form builds the same words the command line takes (``baked 54C 8h``,
``mould: spots on the flange``), so one parser judges both, and a refusal is shown in the form
in the engine's own words. Saving (catalogue row, the item's takes' PREMIS) runs in a worker.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from app.workers import JobRunner
from metadata.collection.inspection import CONDITIONS
from metadata.errors import HeadblockError

TREATMENT_HINTS = {
    "cleaned": "how (e.g. Pellon wipe, tape cleaner)",
    "repaired": "what (e.g. leader, 2 splices)",
    "rewound": "how (e.g. library wind)",
    "rehoused": "what (e.g. new reel and box)",
}
ERROR_STYLE = "color: #ff6b6b"
DONE_STYLE = "color: #7ccf8a"


def save_inspection(library: Path, url: str | None, words: dict) -> tuple:
    """In the worker: parse, record, carry to the item's takes. Returns (inspection, lines)."""
    from metadata.collection.inspection import carry_to_takes, make_inspection, record_inspection

    insp = make_inspection(
        words["item"],
        words["conditions"],
        words["treatments"],
        words["playable"],
        words["note"],
        words["by"],
    )
    record_inspection(library, insp, url)
    return insp, carry_to_takes(library, words["item"], url)


def read_history(library: Path, url: str | None, item: str) -> list:
    from metadata.collection.inspection import history

    return history(library, [item], url).get(item, [])


class InspectionForm(QGroupBox):
    """``set_item(row)`` shows an item; ``recorded`` is emitted with the item once saved."""

    recorded = Signal(str)

    def __init__(self, parent=None, library: Path | None = None, url: str | None = None):
        super().__init__("Carrier inspection", parent)
        self.library = Path(library) if library else None
        self.url = url
        self.item: str | None = None
        self.jobs = JobRunner(self, max_threads=1)

        self.heading = QLabel("Choose an item in the list")
        self.heading.setWordWrap(True)
        self.last = QLabel("")
        self.last.setWordWrap(True)
        self.last.setStyleSheet("color: #8a929a")

        self.conditions: dict[str, tuple[QCheckBox, QLineEdit]] = {}
        cond_box = QGroupBox("Condition")
        cond_grid = QGridLayout(cond_box)
        for row, (key, (label, _others)) in enumerate(CONDITIONS.items()):
            check = QCheckBox(label)
            detail = QLineEdit()
            detail.setPlaceholderText("detail (optional)")
            detail.setEnabled(False)
            check.toggled.connect(detail.setEnabled)
            cond_grid.addWidget(check, row, 0)
            cond_grid.addWidget(detail, row, 1)
            self.conditions[key] = (check, detail)

        treat_box = QGroupBox("Treatment")
        treat_grid = QGridLayout(treat_box)
        self.baked = QCheckBox("Baked")
        self.bake_c = QDoubleSpinBox()
        self.bake_c.setRange(0.0, 120.0)
        self.bake_c.setDecimals(1)
        self.bake_c.setValue(54.0)
        self.bake_c.setSuffix(" °C")
        self.bake_h = QDoubleSpinBox()
        self.bake_h.setRange(0.0, 400.0)
        self.bake_h.setDecimals(1)
        self.bake_h.setValue(8.0)
        self.bake_h.setSuffix(" h")
        bake_row = QHBoxLayout()
        bake_row.addWidget(QLabel("at"))
        bake_row.addWidget(self.bake_c)
        bake_row.addWidget(QLabel("for"))
        bake_row.addWidget(self.bake_h)
        for w in (self.bake_c, self.bake_h):
            w.setEnabled(False)
            self.baked.toggled.connect(w.setEnabled)
        treat_grid.addWidget(self.baked, 0, 0)
        treat_grid.addLayout(bake_row, 0, 1)
        self.treatments: dict[str, tuple[QCheckBox, QLineEdit]] = {}
        for row, (kind, hint) in enumerate(TREATMENT_HINTS.items(), start=1):
            check = QCheckBox(kind.capitalize())
            detail = QLineEdit()
            detail.setPlaceholderText(hint)
            detail.setEnabled(False)
            check.toggled.connect(detail.setEnabled)
            treat_grid.addWidget(check, row, 0)
            treat_grid.addWidget(detail, row, 1)
            self.treatments[kind] = (check, detail)

        self.playable = QComboBox()
        for text, value in (("not said", ""), ("yes", "yes"), ("no", "no")):
            self.playable.addItem(text, value)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("anything else (smell, residue, box notes…)")
        self.note.setFixedHeight(56)
        self.by = QLineEdit()
        self.by.setPlaceholderText("who inspected it")
        more = QFormLayout()
        more.addRow("Playable", self.playable)
        more.addRow("Note", self.note)
        more.addRow("By", self.by)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.save_button = QPushButton("Record inspection")
        self.save_button.clicked.connect(self.save)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.save_button)

        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(self.last)
        lay.addWidget(cond_box)
        lay.addWidget(treat_box)
        lay.addLayout(more)
        lay.addLayout(bottom)
        lay.addStretch(1)
        self.set_item(None)

    # -- the item
    def set_item(self, row: dict | None) -> None:
        """Show ``row`` (an inventory row) with its last inspection; None: nothing chosen."""
        self.item = row["item"] if row else None
        self.clear()
        self.save_button.setEnabled(self.item is not None and self.library is not None)
        if row is None:
            self.heading.setText("Choose an item in the list")
            self.last.setText("")
            return
        title = " ".join(row["title"].split())
        self.heading.setText(f"{row['item']}" + (f" — {title}" if title else ""))
        self.read_history()

    def read_history(self) -> None:
        if self.item is None or self.library is None:
            return
        self.last.setText("Reading its inspections…")
        self.jobs.submit(
            read_history, self.library, self.url, self.item,
            on_finished=lambda insps, item=self.item: self._show_history(item, insps),
            on_failed=lambda message: self.last.setText(message),
        )  # fmt: skip

    def _show_history(self, item: str, insps: list) -> None:
        if item != self.item:  # another item was chosen meanwhile
            return
        if not insps:
            self.last.setText("Not inspected yet.")
            return
        last = insps[-1]
        by = f" by {last.by}" if last.by else ""
        when = last.at_utc.strftime("%Y-%m-%d %H:%M")
        self.last.setText(
            f"{len(insps)} inspection(s); the last{by} on {when} UTC: {last.summary()}"
        )

    def clear(self) -> None:
        for check, detail in (*self.conditions.values(), *self.treatments.values()):
            check.setChecked(False)
            detail.clear()
        self.baked.setChecked(False)
        self.playable.setCurrentIndex(0)
        self.note.clear()
        self.message.setText("")

    # -- saving
    def words(self) -> dict:
        """The form as the command line's words, for ``make_inspection``."""
        conditions = []
        for key, (check, detail) in self.conditions.items():
            if check.isChecked():
                text = " ".join(detail.text().split())
                conditions.append(f"{key}: {text}" if text else key)
        treatments = []
        if self.baked.isChecked():
            treatments.append(f"baked {self.bake_c.value():g}C {self.bake_h.value():g}h")
        for kind, (check, detail) in self.treatments.items():
            if check.isChecked():
                treatments.append(f"{kind} {' '.join(detail.text().split())}".strip())
        return {
            "item": self.item or "",
            "conditions": conditions,
            "treatments": treatments,
            "playable": self.playable.currentData() or None,
            "note": self.note.toPlainText(),
            "by": self.by.text(),
        }

    def save(self) -> None:
        if self.item is None or self.library is None:
            return
        words = self.words()
        try:  # the same checks as the worker's, at once: bad input is said here, nothing saved
            from metadata.collection.inspection import make_inspection

            make_inspection(
                words["item"], words["conditions"], words["treatments"], words["playable"],
                words["note"], words["by"],
            )  # fmt: skip
        except HeadblockError as exc:
            self.say(str(exc), error=True)
            return
        self.save_button.setEnabled(False)
        self.say("Recording…")
        self.jobs.submit(
            save_inspection, self.library, self.url, words,
            on_finished=self._saved, on_failed=self._save_failed,
        )  # fmt: skip

    def _saved(self, result) -> None:
        insp, lines = result
        self.save_button.setEnabled(True)
        takes = f"; PREMIS event on {len(lines)} take(s)" if lines else ""
        self.say(f"Inspection {insp.id} recorded{takes}.")
        self.clear_choices()
        self.read_history()
        self.recorded.emit(insp.item)

    def _save_failed(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.say(message, error=True)

    def clear_choices(self) -> None:
        message = self.message.text()
        self.clear()
        self.message.setText(message)

    def say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else DONE_STYLE)
        self.message.setText(text)
