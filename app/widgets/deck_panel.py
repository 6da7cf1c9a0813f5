"""The deck on the bench: transport buttons, the tape's timecode, cue, and capture from IN to
OUT. The deck itself runs on its own thread (``capture.deck.remote.DeckRemote``); its
callbacks arrive here as queued signals, so a deck that hangs or talks garbage never holds the
window: it is one line under the buttons."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.widgets.restyle import restyle
from app.widgets.steady import SteadyLabel

NO_TIMECODE = "--:--:--:--"


class DeckSignals(QObject):
    """The remote's callbacks (called on its thread) as signals queued to the window."""

    reading = Signal(object)  # capture.deck.remote.DeckReading
    problem = Signal(object)  # str, or None once the deck answers again
    message = Signal(str)
    reached_in = Signal(str)
    transfer_done = Signal(object)  # capture.deck.transfer.TransferOutcome


class DeckPanel(QGroupBox):
    """Buttons and fields; ``CaptureTab`` connects them to the remote and the take."""

    commandClicked = Signal(str)  # play, stop, rewind, ff, eject, standby on|off
    cueClicked = Signal(str)
    transferClicked = Signal()
    cancelClicked = Signal()

    def __init__(self, port: str, parent=None):
        super().__init__(f"Deck  {port}", parent)
        self.setObjectName("deckPanel")
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 2, 6, 2)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(6)
        column.addLayout(row)
        self.buttons: dict[str, QPushButton] = {}
        for name, text, tip in (
            ("rewind", "◀◀", "Rewind"),
            ("play", "▶", "Play"),
            ("stop", "■", "Stop"),
            ("ff", "▶▶", "Fast forward"),
            ("eject", "⏏", "Eject"),
            ("standby", "Standby", "Standby on/off (drum and tension)"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setObjectName(f"deck_{name}")
            button.setFocusPolicy(Qt.NoFocus)  # the space bar belongs to record/stop
            button.setMinimumWidth(44 if name != "standby" else 92)
            if name == "standby":
                button.setCheckable(True)
                button.toggled.connect(self._standby_toggled)
            else:
                button.clicked.connect(lambda _=False, n=name: self.commandClicked.emit(n))
            self.buttons[name] = button
            row.addWidget(button)
        self.timecode = SteadyLabel(NO_TIMECODE, "00:00:00;00 ")
        self.timecode.setObjectName("deckTimecode")
        self.timecode.setToolTip("The tape's timecode, as the deck reads it")
        self.mode = SteadyLabel("—", "fast forward · LTC · standby")
        self.mode.setObjectName("deckMode")
        row.addWidget(self.timecode)
        row.addWidget(self.mode)
        row.addSpacing(4)
        self.cue_field = self._tc_field("Cue to this timecode")
        self.cue_button = QPushButton("Cue")
        self.cue_button.clicked.connect(self._cue_clicked)
        row.addWidget(self.cue_field)
        row.addWidget(self.cue_button)
        row.addSpacing(4)
        row.addWidget(QLabel("IN"))
        self.in_field = self._tc_field("Capture starts when the tape reaches IN")
        row.addWidget(self.in_field)
        row.addWidget(QLabel("OUT"))
        self.out_field = self._tc_field("…and stops at OUT")
        row.addWidget(self.out_field)
        row.addWidget(QLabel("pre-roll"))
        self.preroll = QSpinBox()
        self.preroll.setRange(0, 60)
        self.preroll.setSuffix(" s")
        self.preroll.setMaximumWidth(64)
        self.preroll.setToolTip("The deck is cued this long before IN, to roll up to speed")
        row.addWidget(self.preroll)
        self.transfer_button = QPushButton("● Capture IN→OUT")
        self.transfer_button.setObjectName("deckTransfer")
        self.transfer_button.setFocusPolicy(Qt.NoFocus)
        self.transfer_button.clicked.connect(self._transfer_clicked)
        row.addWidget(self.transfer_button)
        row.addStretch(1)
        self.line = QLabel("")  # what the deck said last, or why it does not answer
        self.line.setObjectName("deckLine")
        self.line.setWordWrap(False)
        column.addWidget(self.line)
        self.transferring = False

    @staticmethod
    def _tc_field(tip: str) -> QLineEdit:
        field = QLineEdit()
        field.setPlaceholderText("HH:MM:SS:FF")
        field.setToolTip(tip)
        field.setMinimumWidth(108)
        field.setMaximumWidth(120)
        return field

    def _standby_toggled(self, on: bool) -> None:
        self.commandClicked.emit("standby on" if on else "standby off")

    def _cue_clicked(self, *_args) -> None:
        self.cueClicked.emit(self.cue_field.text().strip())

    def _transfer_clicked(self, *_args) -> None:
        if self.transferring:
            self.cancelClicked.emit()
        else:
            self.transferClicked.emit()

    # -- what the deck said --------------------------------------------------------------------
    def show_reading(self, reading) -> None:
        text = reading.timecode or NO_TIMECODE
        if text != self.timecode.text():
            self.timecode.setText(text)
        parts = [reading.transfer or reading.mode, reading.source.upper()]
        if reading.standby and not reading.transfer:
            parts.append("standby")
        mode = " · ".join(parts)
        if mode != self.mode.text():
            self.mode.setText(mode)
        if not reading.transfer:
            self.buttons["standby"].blockSignals(True)
            self.buttons["standby"].setChecked(bool(reading.standby))
            self.buttons["standby"].blockSignals(False)

    def show_problem(self, line: str | None) -> None:
        if line is None:
            if self.line.property("level") == "error":
                self.say("")
            self.timecode.setEnabled(True)
            return
        self.timecode.setEnabled(False)
        self.mode.setText("no answer")
        self.say(line, "error")

    def say(self, text: str, level: str = "info") -> None:
        self.line.setText(text)
        self.line.setToolTip(text)
        restyle(self.line, level=level)
        self.line.setProperty("level", level)

    def set_transferring(self, on: bool) -> None:
        """During a transfer the button cancels it; transport buttons and fields rest."""
        self.transferring = on
        self.transfer_button.setText("Cancel transfer" if on else "● Capture IN→OUT")
        for widget in (
            *self.buttons.values(),
            self.cue_button,
            self.cue_field,
            self.in_field,
            self.out_field,
            self.preroll,
        ):
            widget.setEnabled(not on)
