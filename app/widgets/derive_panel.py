"""One row that makes and follows a take's access copies: a button, a progress bar while the
copy is made, then the copy (path, size, MD5 checked) or one line saying why there is none.

Bound to one take (``set_take``), or following whatever the station derives (``follow``: the
window's status bar, where copies made by themselves after QC or sign-off are seen).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.delivery import DeliveryManager, DeriveState

OK_COLOUR = "#8fdc9f"
ERROR_COLOUR = "#e57373"
QUIET_COLOUR = "#8a929a"


def copies_on_disk(take_dir: Path, profiles: list[str]) -> list[Path]:
    """The take's copies by ``profiles`` already beside its master (made earlier)."""
    from headblock.delivery.profiles import load_derive_profile
    from metadata.errors import HeadblockError
    from metadata.take.naming import paths_for_take_dir

    paths = paths_for_take_dir(take_dir)
    master = paths.master_if_present()
    if master is None:
        return []
    kind = "video" if master.suffix.lower() == ".mkv" else "audio"
    found = []
    for name in profiles:
        try:
            copy = paths.file(load_derive_profile(name).suffix(kind))
        except HeadblockError:
            continue
        if copy.is_file():
            found.append(copy)
    return found


class DerivePanel(QWidget):
    def __init__(self, manager: DeliveryManager, parent=None, follow: bool = False):
        super().__init__(parent)
        self.manager = manager
        self.follow = follow
        self.take_dir: Path | None = None
        self.button = QPushButton("Make access copy")
        self.button.setToolTip(
            "Make the take's access copy by the profiles of the station's settings "
            "(Delivery), in a low-priority process of its own"
        )
        self.button.clicked.connect(self.derive)
        self.bar = QProgressBar()
        self.bar.setObjectName("deriveProgress")
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(220)  # a fixed size: updates never re-lay out the window
        self.bar.setVisible(False)
        self.label = QLabel("")
        self.label.setObjectName("deriveResult")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout(self)
        row.setContentsMargins(6 if follow else 0, 0, 0, 0)
        if follow:
            self.button.setVisible(False)
        row.addWidget(self.button)
        row.addWidget(self.bar)
        row.addWidget(self.label, 1)
        manager.changed.connect(self._changed)
        self.set_take(None)

    def set_take(self, take_dir: Path | None) -> None:
        """Follow ``take_dir`` (None: no take, the button disabled)."""
        self.take_dir = Path(take_dir) if take_dir else None
        self.button.setEnabled(self.take_dir is not None)
        self.bar.setVisible(False)
        self._say("", QUIET_COLOUR)
        if self.take_dir is None:
            return
        states = self.manager.state_of(self.take_dir)
        if states:
            self.show_state(states[-1])
            return
        on_disk = copies_on_disk(self.take_dir, self.manager.profiles())
        if on_disk:
            self._say("Made earlier: " + ", ".join(p.name for p in on_disk), QUIET_COLOUR)
            self.label.setToolTip("\n".join(map(str, on_disk)))

    def derive(self) -> None:
        if self.take_dir is not None:
            for state in self.manager.derive(self.take_dir):
                self.show_state(state)

    def _changed(self, state: DeriveState) -> None:
        if self.follow or (self.take_dir is not None and state.take_dir == self.take_dir):
            self.show_state(state)

    def show_state(self, state: DeriveState) -> None:
        name = state.take_dir.name
        who = f"{name} ({state.profile})" if self.follow else state.profile
        if state.state in ("queued", "running"):
            if not self.bar.isVisible():
                self.bar.setVisible(True)
            self.bar.setValue(int(round(state.fraction * 1000)))
            step = state.message or "waiting for the copy before it"
            self.bar.setFormat(f"{state.profile} %p%")
            self.bar.setToolTip(step)
            if self.follow:
                self._say(f"Access copy of {name}…", QUIET_COLOUR)
            else:
                self._say("Making the access copy…" if state.state == "running" else "Queued…",
                          QUIET_COLOUR)  # fmt: skip
            return
        self.bar.setVisible(False)
        if state.state == "done" and state.done is not None:
            self._say(f"{who}: {state.done.line()}", OK_COLOUR)
            self.label.setToolTip(str(state.done.path))
        elif state.state == "cancelled":
            self._say(f"{who}: cancelled, nothing made", QUIET_COLOUR)
        else:
            self._say(f"{who}: {state.error}", ERROR_COLOUR)
            self.label.setToolTip(state.error)

    def _say(self, text: str, colour: str) -> None:
        # only when it changes: progress arrives ten times a second, maybe while a take
        # records, and a label's new text or style re-lays out the window
        if text != self.label.text():
            self.label.setText(text)
        if f"color: {colour}" != self.label.styleSheet():
            self.label.setStyleSheet(f"color: {colour}")
