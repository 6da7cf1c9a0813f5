"""The set-up panel: inputs, library, item identifier and the carrier / signal-chain form.

The form is bound to ``metadata.take.meta.TakeMeta``: what is typed here is what goes into the
BWF CodingHistory, PBCore and PREMIS of the take.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.widgets.delivery_settings import DeliverySettingsBox
from app.widgets.restyle import restyle
from capture.audio_input import STANDARD_RATES_HZ, input_devices
from capture.backends import video_inputs as video_input_devices
from metadata.errors import HeadblockError
from metadata.settings import Settings
from metadata.take.meta import (
    CARRIER_PRESETS,
    CARRIERS,
    EQUALISATIONS,
    NOISE_REDUCTIONS,
    TakeMeta,
    carrier_kind,
)
from metadata.take.naming import item_id_problem, next_take_number

BITS = (16, 24, 32)
NO_VIDEO = ("(no video: audio take)", "")


def list_audio_inputs() -> list[tuple[str, str]]:
    """(label, device) of every PortAudio input, the demo deck first."""
    out = [("Demo deck", "demo")]
    try:
        devices = input_devices()
    except HeadblockError:  # no PortAudio: the demo deck still works
        devices = []
    for device in devices:
        label = f"{device['name']} ({device['channels']} ch, {device['default_rate_hz']} Hz)"
        out.append((label, device["name"]))
    return out


def list_video_inputs() -> list[tuple[str, str]]:
    """(label, device) of the video inputs the engine can open; none first (audio takes)."""
    out = [NO_VIDEO]
    for entry in video_input_devices():
        label = entry["name"]
        if entry.get("format") in ("v4l2", "decklink"):
            label = f"{label} ({entry['device']})"
        out.append((label, entry["device"]))
    return out


def _form(group: QGroupBox) -> QFormLayout:
    form = QFormLayout(group)
    form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    return form


def _line_edit(placeholder: str = "") -> QLineEdit:
    line = QLineEdit()
    if placeholder:
        line.setPlaceholderText(placeholder)
    return line


def _editable_combo(choices=()) -> QComboBox:
    """A list to choose from where anything else may be typed."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(choices)
    return combo


class SetupPanel(QWidget):
    """Emits ``changed`` whenever anything that affects the next take changes."""

    changed = Signal()
    inputsChanged = Signal()  # device / format: the monitor must be re-opened

    def __init__(self, parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(8)

        # -- inputs -------------------------------------------------------------------------
        inputs = QGroupBox("Inputs")
        inputs_form = _form(inputs)
        self.audio_device = _editable_combo()
        self.audio_device.setToolTip("PortAudio input (name or index) or the demo deck")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setMaximumWidth(80)
        self.refresh_button.setToolTip("List the audio and video inputs again")
        device_row = QHBoxLayout()
        device_row.addWidget(self.audio_device, 1)
        device_row.addWidget(self.refresh_button)
        inputs_form.addRow("Audio input", device_row)
        format_row = QHBoxLayout()
        self.rate = QComboBox()
        for rate_hz in STANDARD_RATES_HZ:
            self.rate.addItem(f"{rate_hz / 1000:g} kHz", rate_hz)
        self.bits = QComboBox()
        for bits in BITS:
            self.bits.addItem(f"{bits}-bit", bits)
        self.channels = QSpinBox()
        self.channels.setRange(1, 32)
        self.channels.setSuffix(" ch")
        format_row.addWidget(self.rate)
        format_row.addWidget(self.bits)
        inputs_form.addRow("Format", format_row)
        inputs_form.addRow("Channels", self.channels)
        self.video_device = _editable_combo()
        self.video_device.setToolTip(
            "FFmpeg input FORMAT:TARGET (v4l2:/dev/video0, decklink:NAME, lavfi:…) or the demo deck"
        )
        inputs_form.addRow("Video input", self.video_device)
        self.standard = QComboBox()
        self.standard.addItem("NTSC 720×486 29.97", "ntsc")
        self.standard.addItem("PAL 720×576 25", "pal")
        inputs_form.addRow("Standard", self.standard)
        self.video_audio = QCheckBox("Audio from the input above")
        self.video_audio.setToolTip(
            "Checked: the audio input above (rate, bits, channels) is recorded into the video "
            "master; unchecked: the capture device's embedded audio."
        )
        inputs_form.addRow("", self.video_audio)
        mode_row = QHBoxLayout()
        self.mode_audio = QRadioButton("Audio (WAV)")
        self.mode_video = QRadioButton("Video (MKV)")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.mode_audio)
        self.mode_group.addButton(self.mode_video)
        mode_row.addWidget(self.mode_audio)
        mode_row.addWidget(self.mode_video)
        inputs_form.addRow("Record", mode_row)
        column.addWidget(inputs)

        # -- item ---------------------------------------------------------------------------
        item_box = QGroupBox("Item")
        item_form = _form(item_box)
        library_row = QHBoxLayout()
        self.library = _line_edit("folder where takes are written")
        self.browse_button = QPushButton("Browse")
        self.browse_button.setFixedWidth(78)
        library_row.addWidget(self.library, 1)
        library_row.addWidget(self.browse_button)
        item_form.addRow("Library", library_row)
        self.item_id = _line_edit("catalogue identifier, e.g. ARC-0042")
        self.item_id.setMaxLength(80)
        item_form.addRow("Item ID", self.item_id)
        self.item_problem_label = QLabel("")
        self.item_problem_label.setObjectName("itemProblem")
        self.item_problem_label.setWordWrap(True)
        item_form.addRow("", self.item_problem_label)
        self.title = _line_edit()
        item_form.addRow("Title", self.title)
        column.addWidget(item_box)

        # -- carrier and signal chain -------------------------------------------------------
        chain = QGroupBox("Carrier and signal chain")
        self.preset = QComboBox()
        self.preset.addItem("(choose a preset)", "")
        for name in CARRIER_PRESETS:
            self.preset.addItem(name, name)
        self.carrier = _editable_combo()
        self.carrier.addItem("", "")
        for key, (label, _physical, _kind) in CARRIERS.items():
            self.carrier.addItem(label, key)
        self.tape_speed = _line_edit()
        self.track_config = _line_edit()
        self.equalisation = _editable_combo(EQUALISATIONS)
        self.noise_reduction = _editable_combo(NOISE_REDUCTIONS)
        self.deck = _line_edit("make and model")
        self.deck_serial = _line_edit()
        self.tbc = _line_edit()
        self.ad_interface = _line_edit("A/D interface or capture card")
        self.technician = _line_edit()
        self.notes = QPlainTextEdit()
        self.notes.setFixedHeight(60)
        chain_form = _form(chain)
        for label, field in (
            ("Preset", self.preset),
            ("Carrier", self.carrier),
            ("Tape speed", self.tape_speed),
            ("Tracks", self.track_config),
            ("Equalisation", self.equalisation),
            ("Noise reduction", self.noise_reduction),
            ("Playback deck", self.deck),
            ("Deck serial", self.deck_serial),
            ("TBC", self.tbc),
            ("A/D interface", self.ad_interface),
            ("Technician", self.technician),
            ("Notes", self.notes),
        ):
            chain_form.addRow(label, field)
        column.addWidget(chain)
        self.delivery = DeliverySettingsBox()
        column.addWidget(self.delivery)
        column.addStretch(1)

        self._text_fields = {
            "title": self.title,
            "tape_speed": self.tape_speed,
            "track_config": self.track_config,
            "deck": self.deck,
            "deck_serial": self.deck_serial,
            "tbc": self.tbc,
            "ad_interface": self.ad_interface,
            "technician": self.technician,
        }
        self._combo_fields = {
            "equalisation": self.equalisation,
            "noise_reduction": self.noise_reduction,
        }
        self._extra_meta: dict[str, str] = {}

        for combo in self.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        self.refresh_devices()
        self.item_id.textChanged.connect(self._validate_item)
        self.library.textChanged.connect(self._validate_item)
        self.preset.activated.connect(self._apply_preset)
        self.refresh_button.clicked.connect(self.refresh_devices)
        self.browse_button.clicked.connect(self._browse)
        for line in (*self._text_fields.values(), self.item_id, self.library):
            line.textChanged.connect(self._emit_changed)
        self.notes.textChanged.connect(self._emit_changed)
        self.delivery.changed.connect(self._emit_changed)
        for combo in (self.carrier, self.equalisation, self.noise_reduction):
            combo.currentTextChanged.connect(self._emit_changed)
        for combo in (self.audio_device, self.rate, self.bits, self.video_device, self.standard):
            combo.currentIndexChanged.connect(self._emit_inputs)
        self.audio_device.lineEdit().editingFinished.connect(self._emit_inputs)
        self.channels.valueChanged.connect(self._emit_inputs)
        self.mode_audio.toggled.connect(self._emit_inputs)
        self.video_audio.toggled.connect(self._emit_inputs)
        self._validate_item()

    # Python slots, not signal-to-signal connections: PySide6 mis-counts references of
    # forwarded arguments (a crash at exit).
    def _emit_changed(self, *_args) -> None:
        self.changed.emit()

    def _emit_inputs(self, *_args) -> None:
        self.inputsChanged.emit()
        self.changed.emit()

    # -- devices ----------------------------------------------------------------------------
    def refresh_devices(self) -> None:
        for combo, entries in (
            (self.audio_device, list_audio_inputs()),
            (self.video_device, list_video_inputs()),
        ):
            current = self._combo_value(combo)
            combo.blockSignals(True)
            combo.clear()
            for label, value in entries:
                combo.addItem(label, value)
            self._set_combo_value(combo, current)
            combo.blockSignals(False)

    @staticmethod
    def _combo_value(combo: QComboBox) -> str:
        index = combo.currentIndex()
        if (
            index >= 0
            and combo.itemText(index) == combo.currentText()
            and combo.itemData(index) is not None
        ):
            return str(combo.itemData(index))
        return combo.currentText().strip()

    @staticmethod
    def _set_combo_value(combo: QComboBox, value) -> None:
        index = combo.findData(value)
        if index < 0 and isinstance(value, str) and value:
            combo.addItem(value, value)
            index = combo.count() - 1
        if index >= 0:
            combo.setCurrentIndex(index)

    def audio_device_value(self) -> str:
        return self._combo_value(self.audio_device)

    def video_device_value(self) -> str:
        return self._combo_value(self.video_device)

    def set_audio_device(self, device: str) -> None:
        self._set_combo_value(self.audio_device, device)

    def set_video_device(self, device: str) -> None:
        self._set_combo_value(self.video_device, device)

    def mode(self) -> str:
        return "video" if self.mode_video.isChecked() else "audio"

    # -- item -------------------------------------------------------------------------------
    def item_problem(self) -> str | None:
        return item_id_problem(self.item_id.text().strip())

    def refresh_item_status(self) -> None:
        """Re-read the next take number (a take was just recorded)."""
        self._validate_item()

    def _validate_item(self) -> None:
        text = self.item_id.text().strip()
        problem = item_id_problem(text) if text else "enter the item identifier before recording"
        valid = problem is None
        restyle(self.item_id, valid=("true" if valid else "false") if text else "")
        if valid:
            try:
                n = next_take_number(Path(self.library.text().strip() or "."), text)
                self.item_problem_label.setText(f"✓ next take {text}_t{n:02d}")
            except OSError:
                self.item_problem_label.setText("✓")
        else:
            self.item_problem_label.setText(problem)
        restyle(self.item_problem_label, problem="false" if valid else "true")

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Library folder", self.library.text())
        if path:
            self.library.setText(path)

    # -- metadata ---------------------------------------------------------------------------
    def _apply_preset(self, index: int) -> None:
        name = self.preset.itemData(index)
        values = CARRIER_PRESETS.get(name)
        if not values:
            return
        meta = self.take_meta()
        for key, value in values.items():
            setattr(meta, key, value)
        self.set_take_meta(meta)
        if carrier_kind(values["carrier"]) == "video":
            self.mode_video.setChecked(True)
        else:
            self.mode_audio.setChecked(True)
        self.changed.emit()

    def take_meta(self) -> TakeMeta:
        meta = TakeMeta()
        for key, line in self._text_fields.items():
            setattr(meta, key, line.text().strip())
        for key, combo in self._combo_fields.items():
            setattr(meta, key, combo.currentText().strip())
        index = self.carrier.currentIndex()
        if index >= 0 and self.carrier.itemText(index) == self.carrier.currentText():
            meta.carrier = str(self.carrier.itemData(index) or "")
        else:
            meta.carrier = self.carrier.currentText().strip()
        meta.notes = self.notes.toPlainText().strip()
        for key, value in self._extra_meta.items():
            if key in TakeMeta.field_names() and not getattr(meta, key):
                setattr(meta, key, value)
        return meta

    def set_take_meta(self, meta: TakeMeta) -> None:
        for key, line in self._text_fields.items():
            line.setText(getattr(meta, key))
        for key, combo in self._combo_fields.items():
            combo.setCurrentText(getattr(meta, key))
        index = self.carrier.findData(meta.carrier)
        if index >= 0:
            self.carrier.setCurrentIndex(index)
        else:
            self.carrier.setCurrentText(meta.carrier)
        self.notes.setPlainText(meta.notes)
        # fields the form does not show (description, originator…) are kept as they were
        self._extra_meta = {
            key: getattr(meta, key) for key in ("description", "originator", "originator_reference")
        }

    # -- settings ---------------------------------------------------------------------------
    def load_settings(self, settings: Settings) -> None:
        self.set_audio_device(settings.audio.device)
        self._set_combo_value(self.rate, settings.audio.rate_hz)
        self._set_combo_value(self.bits, settings.audio.bits)
        self.channels.setValue(settings.audio.channels)
        self.set_video_device(settings.video.device)
        self._set_combo_value(self.standard, settings.video.standard)
        self.video_audio.setChecked(bool(settings.video.audio_device))
        (self.mode_video if settings.mode == "video" else self.mode_audio).setChecked(True)
        self.library.setText(settings.library)
        self.item_id.setText(settings.item)
        self.set_take_meta(TakeMeta.from_dict(settings.meta))
        index = self.preset.findData(settings.preset)
        self.preset.setCurrentIndex(max(0, index))
        self.delivery.load(settings)
        self._validate_item()

    def store_settings(self, settings: Settings) -> None:
        settings.audio.device = self.audio_device_value() or "demo"
        settings.audio.rate_hz = int(self.rate.currentData())
        settings.audio.bits = int(self.bits.currentData())
        settings.audio.channels = self.channels.value()
        settings.video.device = self.video_device_value()
        settings.video.standard = str(self.standard.currentData())
        settings.video.audio_device = settings.audio.device if self.video_audio.isChecked() else ""
        settings.mode = self.mode()
        settings.library = self.library.text().strip()
        settings.item = self.item_id.text().strip()
        settings.preset = str(self.preset.currentData() or "")
        meta = self.take_meta().to_dict()
        meta.pop("extra", None)
        settings.meta = {key: value for key, value in meta.items() if value}
        self.delivery.store(settings)

    def set_inputs_enabled(self, enabled: bool) -> None:
        """While recording, inputs and the item cannot change (the take's record would lie)."""
        for widget in (
            self.audio_device,
            self.rate,
            self.bits,
            self.channels,
            self.video_device,
            self.standard,
            self.mode_audio,
            self.mode_video,
            self.video_audio,
            self.library,
            self.browse_button,
            self.item_id,
            self.refresh_button,
        ):
            widget.setEnabled(enabled)
