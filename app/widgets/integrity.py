"""The after-take integrity state (pending / done / failed) as the window shows it, and a
watcher that notices when a take's job ends.

The job (``capture.integrity``) runs in a process of its own and records its state in the
take folder; the watcher polls the folders of the takes it was given while they are pending
(a stat every ``interval_ms``, the qc.json read again only when it or the log changed) and
emits ``changed(take_dir, entry)``. ``announce(take_dir)`` (safe from any thread: give it to
``capture.integrity.spawn_integrity(..., on_done=lambda r: announce(r.take_dir))``) makes every
watcher look at once; ``notify`` does it for one watcher.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from metadata.take.naming import paths_for_take_dir
from qc.integrity import describe, read_integrity

COLOURS = {"pending": "#8a929a", "done": "#43a047", "failed": "#e53935"}


class _Hub(QObject):
    ended = Signal(str)


_hub: _Hub | None = None  # made on the GUI thread by the first watcher


def announce(take_dir) -> None:
    """A take's integrity job has ended (or verify ran): every watcher looks at it now. Safe
    from any thread; a no-op before the window made its first watcher."""
    if _hub is not None:
        _hub.ended.emit(str(take_dir))


def integrity_label(entry: dict | None) -> tuple[str, str, str]:
    """(short text, colour, tooltip) of an integrity entry (None: never checked)."""
    state = str((entry or {}).get("state") or "")
    if not state:
        return "", "#8a929a", describe(entry)
    return state, COLOURS.get(state, "#8a929a"), describe(entry)


def read_take_integrity(take_dir: Path) -> dict | None:
    try:
        paths = paths_for_take_dir(Path(take_dir))
    except Exception:  # not a take folder (a loose file opened in Review)
        return None
    return read_integrity(paths.qc_json, paths.log)


class IntegrityWatcher(QObject):
    """Follows takes whose integrity job is pending; ``changed`` when one's state moves."""

    changed = Signal(str, object)  # take folder, entry (dict or None)
    notify = Signal(str)  # a take folder to look at now (from any thread)

    def __init__(self, parent=None, interval_ms: int = 2000):
        super().__init__(parent)
        self._watched: dict[str, tuple] = {}  # take folder -> (stamp of its files, state)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._poll)
        self.notify.connect(self.check_now, Qt.ConnectionType.QueuedConnection)
        global _hub
        if _hub is None:
            _hub = _Hub()
        _hub.ended.connect(self._announced, Qt.ConnectionType.QueuedConnection)

    def watch(self, take_dir: Path | str, entry: dict | None) -> None:
        """Follow ``take_dir`` while its state is pending (others need no watching)."""
        key = str(take_dir)
        state = (entry or {}).get("state")
        if state == "pending":
            self._watched[key] = (self._stamp(key), state)
            self._timer.start()
        else:
            self._watched.pop(key, None)

    def forget(self, take_dir: Path | str) -> None:
        self._watched.pop(str(take_dir), None)

    def watching(self) -> list[str]:
        return list(self._watched)

    def _announced(self, take_dir: str) -> None:
        if take_dir in self._watched:
            self.check_now(take_dir)

    def check_now(self, take_dir: str) -> None:
        entry = read_take_integrity(Path(take_dir))
        self._watched.pop(take_dir, None)
        self.changed.emit(take_dir, entry)
        self.watch(take_dir, entry)

    @staticmethod
    def _stamp(take_dir: str) -> tuple:
        try:
            paths = paths_for_take_dir(Path(take_dir))
        except Exception:
            return ()
        out = []
        for p in (paths.qc_json, paths.log):
            try:
                st = p.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def _poll(self) -> None:
        for key, (stamp, state) in list(self._watched.items()):
            now = self._stamp(key)
            if now == stamp:
                continue
            entry = read_take_integrity(Path(key))
            new_state = (entry or {}).get("state")
            if new_state == state:
                self._watched[key] = (now, state)
                continue
            self._watched.pop(key, None)
            self.changed.emit(key, entry)
        if not self._watched:
            self._timer.stop()
