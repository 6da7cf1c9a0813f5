"""``headblock gui [--demo] [--library DIR]``: the station window.

Tabs: Bench (capture), Review, Sign-off, Items (the collection's inventory) and Dashboard
(the project's progress). An item chosen in Items fills the bench's item form; its last take,
or a take double-clicked in the sign-off queue, opens in Review. Access copies
(``app.delivery``) are made from Review and Sign-off, and by themselves after QC or sign-off
as the settings say; the status bar follows them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget

from app.capture_tab import CaptureTab
from app.dashboard_view import DashboardView
from app.delivery import DeliveryManager
from app.item_queue import ItemQueueView, fill_item_form
from app.queue_view import QueueView
from app.review.view import ReviewView
from capture.priority import engine_starter, lower_this_thread
from metadata.errors import HeadblockError
from metadata.settings import Settings, config_path, load_settings, save_settings
from resources import resource_path


def load_style() -> str:
    try:
        return resource_path("style.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def window_settings() -> QSettings:
    """Window geometry only (QSettings), kept beside the settings file."""
    return QSettings(str(config_path().with_name("window.ini")), QSettings.IniFormat)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, settings_path: Path | None = None):
        super().__init__()
        self.setWindowTitle("Headblock")
        self.settings = settings
        self.settings_path = settings_path
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.bench = CaptureTab(settings, settings_path=settings_path)
        self.tabs.addTab(self.bench, "Bench")
        library = Path(settings.library).expanduser()
        self.review = ReviewView(library=library)
        self.tabs.addTab(self.review, "Review")
        self.queue = QueueView(library=library)
        self.tabs.addTab(self.queue, "Sign-off")
        self.queue.open_take.connect(self.review_take)
        self.items = ItemQueueView(library=library, station=settings.station or None)
        self.tabs.addTab(self.items, "Items")
        self.items.item_chosen.connect(self.use_item)
        self.items.open_take.connect(self.review_take)
        self.dashboard = DashboardView(library=library)
        self.tabs.addTab(self.dashboard, "Dashboard")
        self._attach_delivery()
        geometry = window_settings().value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1560, 960)

    def _attach_delivery(self) -> None:
        """Access copies: per take in Review and Sign-off, by themselves after the bench's QC
        or a sign-off (as ``settings.delivery`` says), all followed in the status bar."""
        from app.widgets.derive_panel import DerivePanel

        self.delivery = DeliveryManager(self.settings, self)
        self.review.attach_delivery(self.delivery)
        self.queue.attach_delivery(self.delivery)
        self.bench.takeFinished.connect(self.delivery.after_qc)
        self.review.take_signed.connect(self.delivery.after_signoff)
        self.queue.take_signed.connect(self.delivery.after_signoff)
        self.delivery_status = DerivePanel(self.delivery, follow=True)
        self.statusBar().addWidget(self.delivery_status, 1)

    def use_item(self, row: dict) -> None:
        """The bench's item form filled from the catalogue, ready for the next take."""
        fill_item_form(self.bench.setup, row)
        self.tabs.setCurrentWidget(self.bench)

    def review_take(self, take_dir: Path) -> None:
        self.review.open_path(take_dir)
        self.tabs.setCurrentWidget(self.review)

    def closeEvent(self, event):  # noqa: N802
        if self.bench.controller.state == "recording":
            if not self.bench.confirm("A take is recording. Stop it and close the window?"):
                event.ignore()
                return
        window_settings().setValue("window/geometry", self.saveGeometry())
        self.delivery.shutdown()  # a copy being made is stopped and removed, never half-left
        self.bench.shutdown()
        super().closeEvent(event)


def bench_palette() -> QPalette:
    """The calm dark base of the bench theme (the style sheet adds the accents)."""
    palette = QPalette()
    colours = {
        QPalette.Window: "#1b1e22",
        QPalette.WindowText: "#d6dce2",
        QPalette.Base: "#14171a",
        QPalette.AlternateBase: "#1f2327",
        QPalette.Text: "#e8eef2",
        QPalette.Button: "#2a2f35",
        QPalette.ButtonText: "#e8eef2",
        QPalette.ToolTipBase: "#2a2f35",
        QPalette.ToolTipText: "#e8eef2",
        QPalette.Highlight: "#2f6f8f",
        QPalette.HighlightedText: "#ffffff",
        QPalette.PlaceholderText: "#6a727a",
        QPalette.Mid: "#343a42",
        QPalette.Dark: "#101214",
        QPalette.Light: "#3a4149",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor("#6a727a"))
    return palette


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("Headblock")
    app.setOrganizationName("Headblock")
    app.setStyle("Fusion")
    app.setPalette(bench_palette())
    font = app.font()
    font.setPointSizeF(10.5)
    app.setFont(font)
    app.setStyleSheet(load_style())
    return app


def prepare_settings(args) -> tuple[Settings, Path | None]:
    settings = load_settings()
    if getattr(args, "library", None):
        settings.library = str(Path(args.library).expanduser())
    if getattr(args, "demo", False):
        settings.audio.device = "demo"
        if not settings.video.device or not settings.video.device.startswith("demo"):
            settings.video.device = "demo:ntsc" if settings.video.standard != "pal" else "demo:pal"
    return settings, None


def cmd_gui(args) -> int:
    """Open the station window; returns when it closes."""
    if (
        not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and sys.platform.startswith("linux")
    ):
        if not os.environ.get("QT_QPA_PLATFORM"):
            raise HeadblockError(
                "no display: run `headblock gui` on the station's desktop (or under xvfb-run)"
            )
    from app.qtfix import void_call_problem

    problem = void_call_problem()
    if problem:
        raise HeadblockError(problem)
    settings, path = prepare_settings(args)
    app = make_app()
    favour_the_take()
    window = MainWindow(settings, path)
    try:
        save_settings(settings)
    except HeadblockError as exc:
        window.bench.show_error(str(exc))
    window.show()
    if getattr(args, "demo", False):
        window.bench.transport.arm_button.setChecked(True)  # live meters at once
    _close_on_signals(app, window)
    return int(app.exec())


def favour_the_take() -> None:
    """From here on the window's own thread yields the processor to the engine's threads
    (``capture.priority``); call once, before the first take or input is opened."""
    engine_starter()
    lower_this_thread()


def _close_on_signals(app: QApplication, window: MainWindow) -> None:
    """Ctrl-C or SIGTERM closes the window as the close button does: a running take is
    stopped and finished (its file valid, its sidecars written), never cut off."""
    import signal

    def close(signum, frame):
        window.bench.confirm = lambda text: True
        window.close()
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, close)
    # Python runs signal handlers between bytecodes: wake the interpreter now and then
    timer = QTimer(window)
    timer.start(250)
    timer.timeout.connect(_noop)


def _noop() -> None:
    return None
