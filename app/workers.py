"""Background jobs for the window (closing a take, QC) that carry their errors to the user.

A job is a plain function run on a QThreadPool; its result, error message or progress come back
as queued Qt signals, so the GUI thread only ever sees finished values. Errors become one line
(``HeadblockError`` text as it is; anything else with its type) and never a silent failure.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from metadata.errors import HeadblockError


class JobSignals(QObject):
    finished = Signal(object)  # the function's return value
    failed = Signal(str)  # one line for the user
    progress = Signal(float, str)  # fraction, message
    done = Signal()  # always, after finished or failed


class Job(QRunnable):
    """``fn(*args, progress=..., **kwargs)`` when ``with_progress``; else ``fn(*args, **kwargs)``."""

    def __init__(self, fn: Callable, *args, with_progress: bool = False, **kwargs):
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.with_progress = with_progress
        self.signals = JobSignals()
        self.setAutoDelete(False)  # the owner keeps a reference until ``done``

    def run(self) -> None:
        try:
            if self.with_progress:
                self.kwargs["progress"] = lambda fraction, message="": self.signals.progress.emit(
                    float(fraction), str(message)
                )
            result = self.fn(*self.args, **self.kwargs)
        except HeadblockError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # shown to the user; the traceback goes to stderr for a report
            traceback.print_exc()
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.signals.finished.emit(result)
        finally:
            self.signals.done.emit()


class JobRunner(QObject):
    """A private pool (two threads) whose jobs are kept alive until they finish."""

    def __init__(self, parent=None, max_threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.pool.setExpiryTimeout(2000)  # idle threads end soon: nothing lingers after a job
        self._jobs: set[Job] = set()

    def submit(
        self,
        fn: Callable,
        *args,
        on_finished: Callable | None = None,
        on_failed: Callable | None = None,
        on_progress: Callable | None = None,
        **kwargs,
    ) -> Job:
        job = Job(fn, *args, with_progress=on_progress is not None, **kwargs)
        if on_finished:
            job.signals.finished.connect(on_finished)
        if on_failed:
            job.signals.failed.connect(on_failed)
        if on_progress:
            job.signals.progress.connect(on_progress)
        job.signals.done.connect(partial(self._forget, job))
        self._jobs.add(job)
        self.pool.start(job)
        return job

    def _forget(self, job: Job) -> None:
        self._jobs.discard(job)

    def busy(self) -> bool:
        return bool(self._jobs)

    def wait(self, timeout_ms: int = 30000) -> bool:
        return self.pool.waitForDone(timeout_ms)
