"""Guards against reference-count bugs of PySide6 6.12 on CPython 3.11.

With PySide6 6.12 on CPython 3.11, every ``emit()`` called from Python returns ``True``
without taking a reference to it, so each call lowers ``True``'s reference count by one; after
a few hundred signals the interpreter aborts at exit ("bool_dealloc: deallocating True or
False"). The window emits ~100 signals a second. ``apply()`` measures the bug on a private
object and, only when it is present, wraps ``emit`` to give the missing reference back.
The same release also loses a reference to ``None`` on every call of a void C++ method, which
cannot be patched from Python: ``void_call_problem()`` says so (pin PySide6 below 6.12).
"""

from __future__ import annotations

import ctypes
import sys

_applied = False


def _emit_leaks_bool() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.sig.emit()
    return sys.getrefcount(True) < before - 4


def apply() -> bool:
    """Install the wrapper if this PySide6 needs it; True when installed (idempotent)."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False  # bools are immortal from 3.12: a lost reference does no harm
    from PySide6.QtCore import SignalInstance

    if not _emit_leaks_bool():
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]

    def emit(self, *args):
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    SignalInstance.emit = emit
    _applied = True
    return True


def void_call_problem() -> str | None:
    """A one-line warning when void Qt calls lose references to None (PySide6 6.12 on 3.11)."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return None
    from PySide6 import __version__ as version
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) < before - 4:
        return (
            f"PySide6 {version} loses references to None on this Python "
            f"{sys.version_info.major}.{sys.version_info.minor}: the window will crash after a "
            "while; install PySide6-Essentials 6.11 (pip install 'PySide6-Essentials<6.12')"
        )
    return None
