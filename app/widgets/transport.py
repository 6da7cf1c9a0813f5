"""Arm, record, stop; the take number before it starts; the elapsed time, large."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.widgets.restyle import restyle
from app.widgets.steady import SteadyLabel


def fmt_elapsed(seconds: float) -> str:
    seconds = max(0.0, seconds)
    whole = int(seconds)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    tenths = int((seconds - whole) * 10)
    return f"{h:02d}:{m:02d}:{s:02d}.{tenths}"


class TransportBar(QWidget):
    armToggled = Signal(bool)
    recordClicked = Signal()
    stopClicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("transport")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(10)
        self.arm_button = QPushButton("Arm")
        self.arm_button.setObjectName("armButton")
        self.arm_button.setCheckable(True)
        self.arm_button.setToolTip("Monitor the input (meters, scopes) without recording.")
        self.record_button = QPushButton("● Record")
        self.record_button.setObjectName("recordButton")
        self.record_button.setToolTip("Start a take (space bar toggles record/stop).")
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the take (space bar).")
        for button in (self.arm_button, self.record_button, self.stop_button):
            button.setMinimumHeight(44)
            button.setMinimumWidth(110)
            button.setFocusPolicy(Qt.NoFocus)  # the space bar belongs to the window, not a button
            lay.addWidget(button)
        # Slots are methods returning None: a lambda returning emit()'s bool makes PySide6
        # mis-count the reference of True/False (a crash at exit).
        self.arm_button.toggled.connect(self._arm_toggled)
        self.record_button.clicked.connect(self._record_clicked)
        self.stop_button.clicked.connect(self._stop_clicked)

        info = QVBoxLayout()
        info.setSpacing(0)
        self.take_label = QLabel("Next take —")
        self.take_label.setObjectName("takeLabel")
        self.state_label = QLabel("Idle")
        self.state_label.setObjectName("stateLabel")
        info.addWidget(self.take_label)
        info.addWidget(self.state_label)
        lay.addLayout(info, 1)
        # the tape's timecode during a take (LTC channel or the source's own), when it has one
        self.timecode_label = SteadyLabel("", "TC 00:00:00;00")
        self.timecode_label.setObjectName("takeTimecode")
        self.timecode_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.timecode_label.setToolTip("The tape's timecode, read during the take")
        lay.addWidget(self.timecode_label)
        self.elapsed_label = SteadyLabel(fmt_elapsed(0), fmt_elapsed(99 * 3600))
        self.elapsed_label.setObjectName("elapsed")
        self.elapsed_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.elapsed_label.setToolTip("Time recorded in this take")
        lay.addWidget(self.elapsed_label)
        self.set_state("idle")

    def _arm_toggled(self, on: bool) -> None:
        self.armToggled.emit(bool(on))

    def _record_clicked(self, *_args) -> None:
        self.recordClicked.emit()

    def _stop_clicked(self, *_args) -> None:
        self.stopClicked.emit()

    def set_state(self, state: str, detail: str = "") -> None:
        """idle | armed | recording | stopping."""
        self.state = state
        recording = state in ("recording", "stopping")
        self.record_button.setEnabled(state in ("idle", "armed"))
        self.stop_button.setEnabled(state == "recording")
        self.arm_button.setEnabled(not recording)
        self.arm_button.blockSignals(True)
        self.arm_button.setChecked(state == "armed" or (recording and self.arm_button.isChecked()))
        self.arm_button.blockSignals(False)
        text = {
            "idle": "Idle",
            "armed": "Armed: monitoring, not recording",
            "recording": "RECORDING",
            "stopping": "Closing the take…",
        }.get(state, state)
        self.state_label.setText(text + (f" — {detail}" if detail else ""))
        restyle(self.state_label, state=state)
        restyle(self.elapsed_label, state=state)

    def set_elapsed(self, seconds: float) -> None:
        text = fmt_elapsed(seconds)
        if text != self.elapsed_label.text():
            self.elapsed_label.setText(text)

    def set_timecode(self, timecode: str) -> None:
        text = f"TC {timecode}" if timecode else ""
        if text != self.timecode_label.text():
            self.timecode_label.setText(text)

    def set_take_text(self, text: str) -> None:
        self.take_label.setText(text)
