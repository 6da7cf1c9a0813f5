"""The one registry of batch verbs: a verb is one ``register(BatchVerb(...))``.

``collect`` (on the client) turns the PATHs into the files the verb works on; ``skip`` (on
the client) says why a file is already done, or None; ``run`` (on a worker) turns one file into
one ``Outcome`` and never raises for a bad file; ``record`` (on the client, once per result)
brings the catalogue in line and returns a note when it could not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from headblock.batch.outcome import Outcome, Unit
from metadata.errors import HeadblockError


@dataclass(frozen=True)
class BatchVerb:
    name: str
    title: str  # the report's heading
    collect: Callable[[list[Path], dict], list[Unit]]
    run: Callable[[Unit, dict], Outcome]
    skip: Callable[[Unit, dict], str | None]
    record: Callable[[Unit, Outcome, dict], str | None]
    fingerprint: Callable[[dict], str]  # the options that make a journal's results reusable
    prepare: Callable[[dict], dict] = dict  # options checked and resolved once, on the client


_VERBS: dict[str, BatchVerb] = {}
# verbs whose module registers them when imported
_MODULES = {
    "qc": "headblock.batch.qc",
    "verify": "headblock.batch.verify",
    "derive": "headblock.batch.derive",
    "package": "headblock.batch.package",
}


def register(verb: BatchVerb) -> BatchVerb:
    _VERBS[verb.name] = verb
    return verb


def get_verb(name: str) -> BatchVerb:
    if name not in _VERBS and name in _MODULES:
        importlib.import_module(_MODULES[name])
    try:
        return _VERBS[name]
    except KeyError:
        raise HeadblockError(
            f"no batch verb {name!r} (have: {', '.join(sorted(_MODULES))})"
        ) from None


def verb_names() -> list[str]:
    return sorted(_MODULES)
