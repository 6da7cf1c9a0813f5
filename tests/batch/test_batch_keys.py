"""The names a batch gives its tasks' PREMIS events: one run identifier per batch, kept by a run
that resumes it from its journal, new for another batch or a forced one."""

from __future__ import annotations

from headblock.batch.engine import event_key, run_task
from headblock.batch.journal import Journal
from headblock.batch.outcome import Outcome, Unit
from metadata.formats import premis


def test_a_resumed_batch_keeps_its_run_identifier(tmp_path):
    path = tmp_path / "j.jsonl"
    first = Journal(path, "verify paths=['/lib']")
    first.open({})
    first.append(Outcome("/lib/A/A_t01/A_t01.wav", "verified"))
    first.close(finished=False)  # interrupted
    resumed = Journal(path, "verify paths=['/lib']")
    assert resumed.load() and resumed.run_id == first.run_id
    other = Journal(path, "verify paths=['/elsewhere']")
    assert other.load() == {} and other.run_id != first.run_id
    resumed.open({})
    resumed.close(finished=True)
    assert Journal(path, "verify paths=['/lib']").run_id != first.run_id  # a new batch


def _task(unit, options):
    return premis.current_event_key()


def test_each_task_runs_under_its_run_verb_and_file():
    unit = Unit("/lib/A/A_t01/A_t01.wav", 10, "/lib/A/A_t01")
    assert run_task(_task, "verify", unit, {"batch_run": "1a2b3c4d"}) == (
        "A_t01.wav-batch-verify-1a2b3c4d"
    )
    assert event_key("qc", unit, "1a2b3c4d") == "A_t01.wav-batch-qc-1a2b3c4d"
    assert premis.current_event_key() is None  # nothing leaks out of the task
