"""The take before the display: threads that only draw run at a lower scheduling priority.

On two cores an FFV1 encoder and a busy window want more than the machine has. When they
compete, the scheduler must side with the take. A process cannot raise a thread above its
own priority without privileges, but any thread may lower itself, and a thread starts at
the priority of the thread that made it. So the window's thread lowers itself once, and
everything of the engine (takes, inputs, their encoder and device threads) is started from
``engine_starter()``, a thread made before that and left at the process's priority.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

AFTER_TAKE_NICE = 10  # checks after a take (read-back, QC) yield to the next take and the window
DISPLAY_NICE = 4  # CFS weight 0.41 of the take's threads when both want a core

_starter: ThreadPoolExecutor | None = None
_starter_lock = threading.Lock()


def thread_nice(native_id: int | None = None) -> int | None:
    """The nice value of a thread (this one by default); None where threads have none."""
    if not sys.platform.startswith("linux"):
        return None
    return os.getpriority(os.PRIO_PROCESS, native_id or threading.get_native_id())


def lower_this_thread(nice: int = DISPLAY_NICE) -> bool:
    """Lower the calling thread (only it, on Linux) to ``nice``; False where it cannot."""
    current = thread_nice()
    if current is None:
        return False
    if current >= nice:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        return False
    return True


def engine_starter() -> ThreadPoolExecutor:
    """The one thread that starts engine work, made (and running) on first use."""
    global _starter
    with _starter_lock:
        if _starter is None:
            _starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-starter")
            _starter.submit(lambda: None).result()  # its thread exists from now on
        return _starter


def on_engine_thread(fn, *args, **kwargs):
    """Run ``fn`` on the engine starter and return its result (or raise its exception)."""
    starter = engine_starter()
    if threading.current_thread().name.startswith("engine-starter"):
        return fn(*args, **kwargs)
    return starter.submit(fn, *args, **kwargs).result()
