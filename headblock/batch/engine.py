"""Mapping a batch verb over its files on a Dask cluster.

The client decides what is done (journal, the verb's ``skip``), submits one task per
remaining file (its key names the verb, the file and the options: a file is never submitted
twice), and takes the results as they complete. Each result is journalled and recorded
(catalogue) once, by path: a task Dask ran again after losing a worker brings no second
record. A file whose task cannot finish (its worker died each time it tried) is an ``error``
line like any other bad file.

Each task runs inside ``premis.keyed_events`` with a key made of the batch run (kept by a
resumed run), the verb and the file: a task Dask runs a second time after its worker died
having written its PREMIS events writes the same identifiers, and they are not added twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from headblock.batch.journal import Journal
from headblock.batch.outcome import Outcome, Unit, worst_first
from headblock.batch.registry import BatchVerb
from metadata.clock import utc_stamp
from metadata.errors import HeadblockError

ResultFn = Callable[[Unit, Outcome], None]


@dataclass
class BatchResult:
    verb: str
    title: str
    paths: list[str]
    options: dict
    outcomes: list[Outcome] = field(default_factory=list)  # worst first
    started_utc: str = ""
    finished_utc: str = ""
    workers: int = 0
    scheduler: str = ""
    wall_s: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.outcome] = out.get(o.outcome, 0) + 1
        return out


def default_workers() -> int:
    """One worker process per core: QC holds the GIL in places, so threads would queue."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _quiet_dask_logs(level: int) -> None:
    """Dask's logging configuration gives child loggers (``tornado.application``,
    ``distributed.client``…) levels of their own, so each is set, not only the parents."""
    for name in list(logging.root.manager.loggerDict) + ["distributed", "tornado"]:
        if name.split(".")[0] in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """A Dask client: on the lab's scheduler (``tcp://HOST:8786``) or on a ``LocalCluster`` of
    ``workers`` processes with one thread each."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise HeadblockError(f"batch work needs dask[distributed]: {exc}") from exc
    # Dask's own logs (a lost worker, a closed connection while shutting down) carry
    # tracebacks; what matters to the user is in the summary. HEADBLOCK_DEBUG keeps them.
    quiet = logging.WARNING if os.environ.get("HEADBLOCK_DEBUG") else logging.CRITICAL
    _quiet_dask_logs(quiet)
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise HeadblockError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
        _quiet_dask_logs(quiet)
        try:
            yield client
        finally:
            client.close()
        return
    n = default_workers() if workers is None else workers
    if n < 1:
        raise HeadblockError("--workers must be at least 1")
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: another cluster may hold 8787
        silence_logs=quiet,
    )
    client = Client(cluster)
    _quiet_dask_logs(quiet)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def task_key(verb: str, unit: Unit, fingerprint: str) -> str:
    from dask.base import tokenize

    return f"{verb}-{Path(unit.path).name}-{tokenize(unit.path, fingerprint)}"


def event_key(verb: str, unit: Unit, run_id: str) -> str:
    """The PREMIS event key of one file's task in one batch run (see ``run_task``)."""
    return f"{Path(unit.path).name}-batch-{verb}-{run_id}"


def run_task(run: Callable[[Unit, dict], Outcome], verb: str, unit: Unit, options: dict):
    """On a worker: the verb's ``run`` with its PREMIS events keyed by run, verb and file."""
    from metadata.formats.premis import keyed_events

    with keyed_events(event_key(verb, unit, options.get("batch_run", "once"))):
        return run(unit, options)


def run_batch(
    verb: BatchVerb,
    paths: list[Path],
    options: dict,
    client,
    journal_path: Path,
    force: bool = False,
    on_plan: Callable[[list[Unit]], None] | None = None,
    on_result: ResultFn | None = None,
    units: list[Unit] | None = None,
) -> BatchResult:
    """Run ``verb`` over every file under ``paths`` (or the ``units`` already collected from
    them, with options already prepared); return every file's outcome."""
    import time

    from distributed import as_completed

    started = time.monotonic()
    options = verb.prepare(dict(options))
    if units is None:
        units = verb.collect([Path(p) for p in paths], options)
    # the journal's results serve a later run of the same verb, options and PATHs only
    fingerprint = (
        f"{verb.fingerprint(options)} paths={sorted(str(Path(p).resolve()) for p in paths)}"
    )
    journal = Journal(journal_path, fingerprint)
    earlier = {} if force else journal.load()
    options = {**options, "batch_run": journal.run_id}
    result = BatchResult(
        verb.name, verb.title, [str(p) for p in paths], options, started_utc=utc_stamp()
    )
    result.scheduler = str(client.scheduler.address)
    result.workers = len(client.scheduler_info().get("workers", {}))
    if on_plan:
        on_plan(units)

    outcomes: dict[str, Outcome] = {}
    kept: dict[str, Outcome] = {}
    todo: list[Unit] = []
    for unit in units:
        if unit.path in earlier:
            kept[unit.path] = outcomes[unit.path] = earlier[unit.path]
            if on_result:
                on_result(unit, earlier[unit.path])
            continue
        why = None if force else verb.skip(unit, options)
        if why:
            out = Outcome(unit.path, "skipped", why, unit.size_bytes, at_utc=utc_stamp())
            # done on a worker, but perhaps never heard of by an interrupted client: the
            # catalogue is brought in line with the folder (idempotent)
            note = verb.record(unit, out, options)
            if note:
                out.notes.append(note)
            outcomes[unit.path] = out
            if on_result:
                on_result(unit, out)
            continue
        todo.append(unit)

    journal.open(kept)
    finished = False
    futures: list = []
    done_or_not = None
    try:
        by_key = {}
        for unit in todo:
            key = task_key(verb.name, unit, fingerprint)
            if key in by_key:
                continue
            by_key[key] = unit
            futures.append(
                client.submit(run_task, verb.run, verb.name, unit, options, key=key, pure=False)
            )
        # results come with their futures, fetched in bulk: one round trip per file costs
        # more than the scheduler itself
        done_or_not = as_completed(futures, with_results=True, raise_errors=False)
        for future, got in done_or_not:
            unit = by_key[future.key]
            future.release()
            if unit.path in outcomes:
                continue  # recorded already: never twice
            if isinstance(got, Outcome):
                out = got
            else:  # the task raised or its workers died (KilledWorker): this file's error
                # (type, exception, traceback) as as_completed hands an error over
                what = got[1] if isinstance(got, tuple) and len(got) == 3 else got
                out = Outcome(
                    unit.path,
                    "error",
                    f"its task did not finish ({type(what).__name__}: {what})".splitlines()[0],
                    unit.size_bytes,
                    at_utc=utc_stamp(),
                )
            note = verb.record(unit, out, options)
            if note:
                out.notes.append(note)
            outcomes[unit.path] = out
            journal.append(out)
            if on_result:
                on_result(unit, out)
        finished = True
    finally:
        if not finished:  # interrupted: stop waiting and let the cluster drop the rest
            with contextlib.suppress(Exception):
                if done_or_not is not None:
                    done_or_not.clear()
            with contextlib.suppress(Exception):
                client.cancel(futures)
        journal.close(finished)
    result.outcomes = sorted(outcomes.values(), key=worst_first)
    result.finished_utc = utc_stamp()
    result.wall_s = time.monotonic() - started
    return result
