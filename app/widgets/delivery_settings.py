"""The set-up panel's Delivery box: when the window makes access copies by itself, and by
which derivative profiles (``settings.delivery``)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout

from metadata.settings import AUTO_DERIVE, Settings

AUTO_LABELS = {
    "off": "Only when asked",
    "after_qc": "After QC (pass or warn)",
    "after_signoff": "After sign-off (approved)",
}


class DeliverySettingsBox(QGroupBox):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__("Delivery", parent)
        from headblock.delivery.profiles import available_profiles

        form = QFormLayout(self)
        self.auto = QComboBox()
        for mode in AUTO_DERIVE:
            self.auto.addItem(AUTO_LABELS[mode], mode)
        self.auto.setToolTip(
            "When the station makes a take's access copies by itself; the Review and Sign-off "
            "tabs make them on request"
        )
        form.addRow("Access copies", self.auto)
        self.profile_row = QHBoxLayout()
        form.addRow("Profiles", self.profile_row)
        self.profile_boxes: dict[str, QCheckBox] = {}
        for name in available_profiles():
            self._add_profile(name)
        self.auto.currentIndexChanged.connect(self._emit)

    def _add_profile(self, name: str) -> QCheckBox:
        box = QCheckBox(name if "/" not in name else name.rsplit("/", 1)[-1])
        box.setToolTip(f"derivative profile {name}")
        box.toggled.connect(lambda on, b=box: self._toggled(b, on))
        self.profile_boxes[name] = box
        self.profile_row.addWidget(box)
        return box

    def _toggled(self, box: QCheckBox, on: bool) -> None:
        if not on and not self.profiles():  # one profile at least: the last is kept
            box.blockSignals(True)
            box.setChecked(True)
            box.blockSignals(False)
            return
        self._emit()

    def _emit(self, *_args) -> None:
        self.changed.emit()

    def profiles(self) -> list[str]:
        return [name for name, box in self.profile_boxes.items() if box.isChecked()]

    def load(self, settings: Settings) -> None:
        d = settings.delivery
        self.blockSignals(True)
        try:
            self.auto.setCurrentIndex(max(0, self.auto.findData(d.auto_derive)))
            for name in d.profiles:  # a lab's own profile file named in the settings
                if name not in self.profile_boxes:
                    self._add_profile(name)
            for name, box in self.profile_boxes.items():
                box.blockSignals(True)
                box.setChecked(name in d.profiles)
                box.blockSignals(False)
        finally:
            self.blockSignals(False)

    def store(self, settings: Settings) -> None:
        settings.delivery.auto_derive = str(self.auto.currentData())
        settings.delivery.profiles = self.profiles() or list(settings.delivery.profiles)
