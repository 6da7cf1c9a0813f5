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

from metadata.settings import Settings
from metadata.take.meta import CARRIERS, TakeMeta
from metadata.take.naming import item_id_problem, next_take_number

# name -> TakeMeta fields it sets (other fields are left as typed)
PRESETS: dict[str, dict[str, str]] = {
    '1/4" reel, 7.5 ips, NAB, half-track': {
        "carrier": "open_reel",
        "tape_speed": "7.5 ips",
        "track_config": "half-track stereo",
        "equalisation": "NAB",
        "noise_reduction": "none",
        "tbc": "",
    },
    '1/4" reel, 15 ips, IEC, full-track': {
        "carrier": "open_reel",
        "tape_speed": "15 ips",
        "track_config": "full-track mono",
        "equalisation": "IEC (CCIR)",
        "noise_reduction": "none",
        "tbc": "",
    },
    "Cassette, Dolby B": {
        "carrier": "cassette",
        "tape_speed": "1 7/8 ips",
        "track_config": "quarter-track stereo",
        "equalisation": "120 µs (Type I)",
        "noise_reduction": "Dolby B",
        "tbc": "",
    },
    "VHS, SP": {
        "carrier": "vhs",
        "tape_speed": "SP",
        "track_config": "linear stereo",
        "equalisation": "",
        "noise_reduction": "",
        "tbc": "",
    },
    "U-matic": {
        "carrier": "umatic",
        "tape_speed": "3.75 ips (9.53 cm/s)",
        "track_config": "2 linear audio tracks",
        "equalisation": "",
        "noise_reduction": "",
        "tbc": "",
    },
    "Betacam SP": {
        "carrier": "betacam_sp",
        "tape_speed": "10.15 cm/s",
        "track_config": "2 linear + 2 AFM tracks",
        "equalisation": "",
        "noise_reduction": "Dolby C (linear tracks)",
        "tbc": "",
    },
}
EQUALISATIONS = ("", "NAB", "IEC (CCIR)", "IEC2 / AES", "120 µs (Type I)", "70 µs (Type II/IV)")
NOISE_REDUCTIONS = (
    "",
    "none",
    "Dolby A",
    "Dolby B",
    "Dolby C",
    "Dolby SR",
    "dbx I",
    "dbx II",
    "telcom c4",
)
RATES_HZ = (44100, 48000, 88200, 96000, 192000)
BITS = (16, 24, 32)
VIDEO_CHOICES = (
    ("(no video: audio take)", ""),
    ("Demo deck, NTSC", "demo:ntsc"),
    ("Demo deck, PAL", "demo:pal"),
    (
        "Test signal (lavfi testsrc2, NTSC 10-bit)",
        "lavfi:testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le",
    ),
)


def list_audio_inputs() -> list[tuple[str, str]]:
    """(label, device) of every PortAudio input, the demo deck first."""
    out = [("Demo deck", "demo")]
    try:
        import sounddevice as sd

        for idx, dev in enumerate(sd.query_devices()):
            if dev.get("max_input_channels", 0) > 0:
                label = f"{dev['name']} ({dev['max_input_channels']} ch, {int(dev['default_samplerate'])} Hz)"
                out.append((label, dev["name"]))
                del idx
    except Exception:  # no PortAudio: the demo deck still works
        pass
    return out


def list_video_inputs() -> list[tuple[str, str]]:
    """(label, device) of the video inputs the engine can open; none first (audio takes)."""
    out = [VIDEO_CHOICES[0]]
    try:
        from capture.backends import video_inputs as engine_list

        for entry in engine_list():
            label = entry["name"]
            if entry.get("format") in ("v4l2", "decklink"):
                label = f"{label} ({entry['device']})"
            out.append((label, entry["device"]))
    except Exception:  # the engine's listing failed: offer what always exists
        out.extend(VIDEO_CHOICES[1:])
        for dev in sorted(Path("/dev").glob("video*")):
            out.append((f"V4L2 {dev}", f"v4l2:{dev}"))
    return out


class SetupPanel(QWidget):
    """Emits ``changed`` whenever anything that affects the next take changes."""

    changed = Signal()
    inputsChanged = Signal()  # device / format: the monitor must be re-opened
    refreshRequested = Signal()

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
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(8)

        # -- inputs -------------------------------------------------------------------------
        inputs = QGroupBox("Inputs")
        f = QFormLayout(inputs)
        f.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.audio_device = QComboBox()
        self.audio_device.setEditable(True)
        self.audio_device.setToolTip("PortAudio input (name or index) or the demo deck")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setMaximumWidth(80)
        self.refresh_button.setToolTip("List the audio and video inputs again")
        row = QHBoxLayout()
        row.addWidget(self.audio_device, 1)
        row.addWidget(self.refresh_button)
        f.addRow("Audio input", row)
        fmt = QHBoxLayout()
        self.rate = QComboBox()
        for r in RATES_HZ:
            self.rate.addItem(f"{r / 1000:g} kHz", r)
        self.bits = QComboBox()
        for b in BITS:
            self.bits.addItem(f"{b}-bit", b)
        self.channels = QSpinBox()
        self.channels.setRange(1, 32)
        self.channels.setSuffix(" ch")
        fmt.addWidget(self.rate)
        fmt.addWidget(self.bits)
        f.addRow("Format", fmt)
        f.addRow("Channels", self.channels)
        self.video_device = QComboBox()
        self.video_device.setEditable(True)
        self.video_device.setToolTip(
            "FFmpeg input FORMAT:TARGET (v4l2:/dev/video0, decklink:NAME, lavfi:…) or the demo deck"
        )
        f.addRow("Video input", self.video_device)
        self.standard = QComboBox()
        self.standard.addItem("NTSC 720×486 29.97", "ntsc")
        self.standard.addItem("PAL 720×576 25", "pal")
        f.addRow("Standard", self.standard)
        self.video_audio = QCheckBox("Audio from the input above")
        self.video_audio.setToolTip(
            "Checked: the audio input above (rate, bits, channels) is recorded into the video "
            "master; unchecked: the capture device's embedded audio."
        )
        f.addRow("", self.video_audio)
        mode_row = QHBoxLayout()
        self.mode_audio = QRadioButton("Audio (WAV)")
        self.mode_video = QRadioButton("Video (MKV)")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.mode_audio)
        self.mode_group.addButton(self.mode_video)
        mode_row.addWidget(self.mode_audio)
        mode_row.addWidget(self.mode_video)
        f.addRow("Record", mode_row)
        lay.addWidget(inputs)

        # -- item ---------------------------------------------------------------------------
        item_box = QGroupBox("Item")
        fi = QFormLayout(item_box)
        fi.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        lib_row = QHBoxLayout()
        self.library = QLineEdit()
        self.library.setPlaceholderText("folder where takes are written")
        self.browse_button = QPushButton("Browse")
        self.browse_button.setFixedWidth(78)
        lib_row.addWidget(self.library, 1)
        lib_row.addWidget(self.browse_button)
        fi.addRow("Library", lib_row)
        self.item_id = QLineEdit()
        self.item_id.setPlaceholderText("catalogue identifier, e.g. ARC-0042")
        self.item_id.setMaxLength(80)
        fi.addRow("Item ID", self.item_id)
        self.item_problem_label = QLabel("")
        self.item_problem_label.setObjectName("itemProblem")
        self.item_problem_label.setWordWrap(True)
        fi.addRow("", self.item_problem_label)
        self.title = QLineEdit()
        fi.addRow("Title", self.title)
        lay.addWidget(item_box)

        # -- carrier and signal chain -------------------------------------------------------
        chain = QGroupBox("Carrier and signal chain")
        fc = QFormLayout(chain)
        fc.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.preset = QComboBox()
        self.preset.addItem("(choose a preset)", "")
        for name in PRESETS:
            self.preset.addItem(name, name)
        fc.addRow("Preset", self.preset)
        self.carrier = QComboBox()
        self.carrier.setEditable(True)
        self.carrier.addItem("", "")
        for key, (label, _physical, _kind) in CARRIERS.items():
            self.carrier.addItem(label, key)
        fc.addRow("Carrier", self.carrier)
        self.tape_speed = QLineEdit()
        fc.addRow("Tape speed", self.tape_speed)
        self.track_config = QLineEdit()
        fc.addRow("Tracks", self.track_config)
        self.equalisation = QComboBox()
        self.equalisation.setEditable(True)
        self.equalisation.addItems(EQUALISATIONS)
        fc.addRow("Equalisation", self.equalisation)
        self.noise_reduction = QComboBox()
        self.noise_reduction.setEditable(True)
        self.noise_reduction.addItems(NOISE_REDUCTIONS)
        fc.addRow("Noise reduction", self.noise_reduction)
        self.deck = QLineEdit()
        self.deck.setPlaceholderText("make and model")
        fc.addRow("Playback deck", self.deck)
        self.deck_serial = QLineEdit()
        fc.addRow("Deck serial", self.deck_serial)
        self.tbc = QLineEdit()
        fc.addRow("TBC", self.tbc)
        self.ad_interface = QLineEdit()
        self.ad_interface.setPlaceholderText("A/D interface or capture card")
        fc.addRow("A/D interface", self.ad_interface)
        self.technician = QLineEdit()
        fc.addRow("Technician", self.technician)
        self.notes = QPlainTextEdit()
        self.notes.setFixedHeight(60)
        fc.addRow("Notes", self.notes)
        lay.addWidget(chain)
        lay.addStretch(1)

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
        self.refresh_button.clicked.connect(self._emit_refresh)
        self.refresh_button.clicked.connect(self.refresh_devices)
        self.browse_button.clicked.connect(self._browse)
        for w in (*self._text_fields.values(), self.item_id, self.library):
            w.textChanged.connect(self._emit_changed)
        self.notes.textChanged.connect(self._emit_changed)
        for c in (self.carrier, self.equalisation, self.noise_reduction):
            c.currentTextChanged.connect(self._emit_changed)
        for c in (self.audio_device, self.rate, self.bits, self.video_device, self.standard):
            c.currentIndexChanged.connect(self._emit_inputs)
        self.audio_device.lineEdit().editingFinished.connect(self._emit_inputs)
        self.channels.valueChanged.connect(self._emit_inputs)
        self.mode_audio.toggled.connect(self._emit_inputs)
        self.video_audio.toggled.connect(self._emit_inputs)
        self._validate_item()

    # Python slots, not signal-to-signal connections: PySide6 mis-counts references of
    # forwarded arguments (a crash at exit).
    def _emit_changed(self, *_args) -> None:
        self.changed.emit()

    def _emit_refresh(self, *_args) -> None:
        self.refreshRequested.emit()

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
        idx = combo.currentIndex()
        if (
            idx >= 0
            and combo.itemText(idx) == combo.currentText()
            and combo.itemData(idx) is not None
        ):
            return str(combo.itemData(idx))
        return combo.currentText().strip()

    @staticmethod
    def _set_combo_value(combo: QComboBox, value) -> None:
        idx = combo.findData(value)
        if idx < 0 and isinstance(value, str) and value:
            combo.addItem(value, value)
            idx = combo.count() - 1
        if idx >= 0:
            combo.setCurrentIndex(idx)

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
        self.item_id.setProperty("valid", ("true" if valid else "false") if text else "")
        self.item_id.style().unpolish(self.item_id)
        self.item_id.style().polish(self.item_id)
        if valid:
            try:
                n = next_take_number(Path(self.library.text().strip() or "."), text)
                self.item_problem_label.setText(f"✓ next take {text}_t{n:02d}")
            except OSError:
                self.item_problem_label.setText("✓")
        else:
            self.item_problem_label.setText(problem)
        self.item_problem_label.setProperty("problem", "false" if valid else "true")
        self.item_problem_label.style().unpolish(self.item_problem_label)
        self.item_problem_label.style().polish(self.item_problem_label)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Library folder", self.library.text())
        if path:
            self.library.setText(path)

    # -- metadata ---------------------------------------------------------------------------
    def _apply_preset(self, index: int) -> None:
        name = self.preset.itemData(index)
        values = PRESETS.get(name)
        if not values:
            return
        meta = self.take_meta()
        for key, value in values.items():
            setattr(meta, key, value)
        self.set_take_meta(meta)
        if CARRIERS.get(values["carrier"], ("", "", "audio"))[2] == "video":
            self.mode_video.setChecked(True)
        else:
            self.mode_audio.setChecked(True)
        self.changed.emit()

    def take_meta(self) -> TakeMeta:
        meta = TakeMeta()
        for key, w in self._text_fields.items():
            setattr(meta, key, w.text().strip())
        for key, c in self._combo_fields.items():
            setattr(meta, key, c.currentText().strip())
        idx = self.carrier.currentIndex()
        if idx >= 0 and self.carrier.itemText(idx) == self.carrier.currentText():
            meta.carrier = str(self.carrier.itemData(idx) or "")
        else:
            meta.carrier = self.carrier.currentText().strip()
        meta.notes = self.notes.toPlainText().strip()
        for key, value in self._extra_meta.items():
            if key in TakeMeta.field_names() and not getattr(meta, key):
                setattr(meta, key, value)
        return meta

    def set_take_meta(self, meta: TakeMeta) -> None:
        for key, w in self._text_fields.items():
            w.setText(getattr(meta, key))
        for key, c in self._combo_fields.items():
            c.setCurrentText(getattr(meta, key))
        idx = self.carrier.findData(meta.carrier)
        if idx >= 0:
            self.carrier.setCurrentIndex(idx)
        else:
            self.carrier.setCurrentText(meta.carrier)
        self.notes.setPlainText(meta.notes)
        # fields the form does not show (description, originator…) are kept as they were
        self._extra_meta = {
            k: getattr(meta, k) for k in ("description", "originator", "originator_reference")
        }

    # -- settings ---------------------------------------------------------------------------
    def load_settings(self, s: Settings) -> None:
        self.set_audio_device(s.audio.device)
        self._set_combo_value(self.rate, s.audio.rate_hz)
        self._set_combo_value(self.bits, s.audio.bits)
        self.channels.setValue(s.audio.channels)
        self.set_video_device(s.video.device)
        self._set_combo_value(self.standard, s.video.standard)
        self.video_audio.setChecked(bool(s.video.audio_device))
        (self.mode_video if s.mode == "video" else self.mode_audio).setChecked(True)
        self.library.setText(s.library)
        self.item_id.setText(s.item)
        self.set_take_meta(TakeMeta.from_dict(s.meta))
        idx = self.preset.findData(s.preset)
        self.preset.setCurrentIndex(max(0, idx))
        self._validate_item()

    def store_settings(self, s: Settings) -> None:
        s.audio.device = self.audio_device_value() or "demo"
        s.audio.rate_hz = int(self.rate.currentData())
        s.audio.bits = int(self.bits.currentData())
        s.audio.channels = self.channels.value()
        s.video.device = self.video_device_value()
        s.video.standard = str(self.standard.currentData())
        s.video.audio_device = s.audio.device if self.video_audio.isChecked() else ""
        s.mode = self.mode()
        s.library = self.library.text().strip()
        s.item = self.item_id.text().strip()
        s.preset = str(self.preset.currentData() or "")
        meta = self.take_meta().to_dict()
        meta.pop("extra", None)
        s.meta = {k: v for k, v in meta.items() if v}

    def set_inputs_enabled(self, enabled: bool) -> None:
        """While recording, inputs and the item cannot change (the take's record would lie)."""
        for w in (
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
            w.setEnabled(enabled)
