"""The window's thread yields to the take's: lowered threads, and an engine starter that is not."""

from __future__ import annotations

import sys
import threading

import pytest

from capture.priority import (
    DISPLAY_NICE,
    engine_starter,
    lower_this_thread,
    on_engine_thread,
    thread_nice,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice")


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(10)
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_display_thread_lowers_itself_and_its_children_but_not_the_engine():
    base = thread_nice()
    engine_starter()  # made before any thread lowers itself, as favour_the_take() does

    def display_thread():
        assert lower_this_thread()
        mine = thread_nice()
        child = _in_thread(thread_nice)  # a thread made now starts at the lowered priority
        # engine work started from here runs, and makes its threads, at the process priority
        engine = on_engine_thread(lambda: (thread_nice(), _in_thread(thread_nice)))
        return mine, child, engine

    mine, child, engine = _in_thread(display_thread)
    assert mine == max(base, DISPLAY_NICE) and child == mine
    assert engine == (base, base)
    assert thread_nice() == base  # the calling (test) thread is untouched


def test_engine_errors_reach_the_caller():
    def fails():
        raise ValueError("no such input")

    with pytest.raises(ValueError, match="no such input"):
        on_engine_thread(fails)
    assert on_engine_thread(lambda x: x + 1, 41) == 42
