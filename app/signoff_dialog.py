"""The supervisor's sign-off dialog: name, approve or reject, comment; hashes recorded.

The decision is written in a worker (the report may have to be generated first) through
``qc.signoff.signoff``, the same function as ``headblock signoff``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from app.workers import JobRunner
from metadata.errors import HeadblockError
from metadata.review.marks import event_key
from metadata.take.naming import paths_for_take_dir
from qc.review_model import load_review_model


def review_summary(take_dir: Path) -> tuple[dict, str]:
    """(qc dict, one-line summary of the events and how many the reviewer marked)."""
    try:
        model = load_review_model(take_dir)
    except HeadblockError:
        return {}, "no QC result"
    events, marks = model.events, model.marks
    counts = {"confirmed": 0, "false_alarm": 0}
    unreviewed = 0
    for event in events:
        mark = marks.get(event_key(event))
        if mark and mark.get("mark") in counts:
            counts[mark["mark"]] += 1
        else:
            unreviewed += 1
    text = (
        f"{len(events)} event(s): {counts['confirmed']} confirmed, "
        f"{counts['false_alarm']} false alarm(s), {unreviewed} not reviewed"
    )
    return model.qc, text


class SignoffDialog(QDialog):
    signed = Signal(dict)  # the decision as saved

    def __init__(self, take_dir: Path, parent=None):
        super().__init__(parent)
        self.take_dir = Path(take_dir)
        self.paths = paths_for_take_dir(self.take_dir)
        self.result_entry: dict | None = None
        self.jobs = JobRunner(self, max_threads=1)
        self.setWindowTitle(f"Sign off {self.paths.stem}")
        qc, summary = review_summary(self.take_dir)
        verdict = str(qc.get("verdict", "?"))
        head = QLabel(
            f"<b>{self.paths.stem}</b> — QC verdict <b>{verdict.upper()}</b><br>{summary}"
        )
        head.setWordWrap(True)
        self.name = QLineEdit(QSettings().value("signoff/name", "") or "")
        self.name.setPlaceholderText("your name")
        # Checkable buttons: both choices stay visible whatever the style sheet does to radios.
        self.approve_radio = QPushButton("Approve")
        self.reject_radio = QPushButton("Reject (re-capture as a new take)")
        for button, colour in ((self.approve_radio, "#2e7d32"), (self.reject_radio, "#c62828")):
            button.setCheckable(True)
            button.setStyleSheet(f"QPushButton:checked {{ background: {colour}; color: white; }}")
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.approve_radio)
        group.addButton(self.reject_radio)
        (self.reject_radio if verdict == "fail" else self.approve_radio).setChecked(True)
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("comment (recorded with the decision)")
        self.comment.setMaximumHeight(90)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record decision")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        decisions = QHBoxLayout()
        decisions.addWidget(self.approve_radio)
        decisions.addWidget(self.reject_radio)
        form = QFormLayout()
        form.addRow("Supervisor", self.name)
        form.addRow("Decision", decisions)
        form.addRow("Comment", self.comment)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addLayout(form)
        note = QLabel(
            "The decision, the time (UTC) and SHA-256 hashes of the QC result and report are "
            "recorded in the take folder, PREMIS and the catalogue. It cannot be edited later; "
            "a new decision can be added."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #8a929a")
        lay.addWidget(note)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(460)

    @property
    def decision(self) -> str:
        return "approved" if self.approve_radio.isChecked() else "rejected"

    def submit(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.message.setText("<span style='color:#e53935'>Type your name first.</span>")
            return
        self.buttons.setEnabled(False)
        self.message.setText("Recording…")
        from qc.signoff import signoff

        self.jobs.submit(
            signoff,
            self.take_dir,
            name,
            self.decision,
            self.comment.toPlainText(),
            on_finished=self._done,
            on_failed=self._failed,
        )

    def _done(self, entry: dict) -> None:
        QSettings().setValue("signoff/name", entry.get("by", ""))
        self.result_entry = entry
        self.signed.emit(entry)
        self.accept()

    def _failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.message.setText(f"<span style='color:#e53935'>{message}</span>")

    def done(self, r):  # noqa: D401 (Qt API) — wait for a decision being written
        self.jobs.wait(30000)
        super().done(r)
