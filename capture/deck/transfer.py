"""Capture from IN to OUT: a deck (``capture.deck.sony9pin.Deck``) drives a take.

``DeckTransfer(deck, plan).prepare()`` checks there is a tape, cues the deck to IN minus the
pre-roll, waits until it is parked there, rolls it and returns once the deck's timecode has
reached IN; the caller then starts its take (armed beforehand, so that it starts at once) and
hands it to ``watch(take)``, which stops the take when the deck reaches OUT, or when the deck
stops answering or its timecode stops advancing (the tape ended, someone pressed stop).
``finish()`` stops the deck and returns what happened (``TransferOutcome``).
``capture_in_to_out(deck, take, plan)`` does all of it for a caller without a terminal.

Timecodes are compared as the deck reports them (HH:MM:SS:FF); the pre-roll is whole seconds,
so no frame rate is needed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from capture.deck.sony9pin import Deck, DeckError
from capture.take import EventFn, Take, notify
from capture.timecode.smpte import split
from metadata.errors import HeadblockError
from metadata.take.log import TakeLog

OUT_REASON = "deck out point"


def _key(timecode: str) -> tuple[int, int, int, int]:
    return split(timecode)


def minus_seconds(timecode: str, seconds: int) -> str:
    """``timecode`` less whole ``seconds`` (not before 00:00:00:00); keeps drop-frame's ``;``
    and moves off the frame numbers drop-frame skips."""
    h, m, s, f = split(timecode)
    total = max(0, h * 3600 + m * 60 + s - int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    drop = ";" in timecode
    if drop and s == 0 and f < 2 and m % 10 != 0:
        f = 2
    return f"{h:02d}:{m:02d}:{s:02d}{';' if drop else ':'}{f:02d}"


@dataclass
class TransferPlan:
    in_tc: str
    out_tc: str
    preroll_s: int = 5
    source: str = "ltc"  # the deck's time to follow: ltc, vitc, auto
    cue_timeout_s: float = 300.0  # winding a long tape takes minutes
    poll_s: float = 0.01
    stall_s: float = 2.0  # timecode unchanged this long while rolling: the deck stopped

    def __post_init__(self) -> None:
        if _key(self.out_tc) <= _key(self.in_tc):
            raise HeadblockError(f"--out {self.out_tc} is not after --in {self.in_tc}")
        if self.preroll_s < 0:
            raise HeadblockError(f"--preroll must be 0 or more seconds, got {self.preroll_s}")

    @property
    def cue_tc(self) -> str:
        return minus_seconds(self.in_tc, self.preroll_s)


@dataclass
class TransferOutcome:
    in_reached_at: str | None = None  # the deck's timecode when it reached IN
    started_at: str | None = None  # the deck's timecode once the take had started
    stopped_at: str | None = None  # the deck's timecode when the take was stopped
    reason: str = ""  # OUT_REASON, or why the transfer ended early
    error: str | None = None  # the deck's failure, if any
    events: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.reason == OUT_REASON

    def to_dict(self) -> dict:
        return {
            "in_reached_at": self.in_reached_at,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "reason": self.reason,
            "error": self.error,
        }


class DeckTransfer:
    def __init__(
        self,
        deck: Deck,
        plan: TransferPlan,
        on_event: EventFn | None = None,
        on_time: Callable[[str], None] | None = None,
    ):
        self.deck = deck
        self.plan = plan
        self.on_event = on_event
        self.on_time = on_time  # each timecode read from the deck (a window shows it)
        self.outcome = TransferOutcome()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.last_timecode: str | None = None  # the deck's, as last read (for a status line)

    def _event(self, name: str, **fields) -> None:
        self.outcome.events.append((name, fields))
        notify(self.on_event, name, fields)

    def _now(self) -> str:
        self.last_timecode = self.deck.current_time(self.plan.source).timecode
        if self.on_time is not None:
            self.on_time(self.last_timecode)
        return self.last_timecode

    def cancel(self) -> None:
        """Give up: ``prepare`` raises ``DeckError`` at its next reading, ``watch`` ends."""
        self._stop.set()

    def _check_cancelled(self) -> None:
        if self._stop.is_set():
            raise DeckError(f"deck on {self.deck.port_name}: the transfer was cancelled")

    # -- before the take ------------------------------------------------------------------------
    def prepare(self) -> str:
        """Cue to IN minus pre-roll, roll, and return the deck's timecode once it reaches IN."""
        plan, deck = self.plan, self.deck
        status = deck.status()
        if status.cassette_out:
            raise DeckError(f"deck on {deck.port_name}: there is no tape in the deck")
        cue = plan.cue_tc
        deck.cue(cue)
        self._event("deck_cue", target=cue)
        deadline = time.monotonic() + plan.cue_timeout_s
        while True:
            self._check_cancelled()
            status = deck.status()
            if status.cue_complete:
                break
            if self.on_time is not None:  # the tape winding, for a window's display
                self._now()
            if time.monotonic() > deadline:
                raise DeckError(
                    f"deck on {deck.port_name} did not reach {cue} within {plan.cue_timeout_s:g} s"
                )
            time.sleep(0.05)
        parked = self._now()
        self._event("deck_cued", at=parked)
        deck.play()
        self._event("deck_play", at=parked)
        reached = self._wait_for(plan.in_tc, plan.preroll_s + plan.stall_s + 5.0)
        self.outcome.in_reached_at = reached
        return reached

    def _wait_for(self, target: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        last, last_change = None, time.monotonic()
        while True:
            self._check_cancelled()
            now = self._now()
            if _key(now) >= _key(target):
                return now
            moment = time.monotonic()
            if now != last:
                last, last_change = now, moment
            elif moment - last_change > self.plan.stall_s:
                raise DeckError(
                    f"deck on {self.deck.port_name} is not rolling: its timecode stays at {now}"
                )
            if moment > deadline:
                raise DeckError(f"deck on {self.deck.port_name} did not reach {target} (at {now})")
            time.sleep(self.plan.poll_s)

    # -- during the take ------------------------------------------------------------------------
    def watch(self, take: Take) -> None:
        """Call once ``take`` has started: stops it at OUT (or when the deck fails) from a
        thread of its own."""
        try:  # how long the take took to start, in the tape's frames
            self.outcome.started_at = self._now()
        except DeckError:
            self.outcome.started_at = None
        self._event(
            "deck_in",
            at=self.outcome.started_at,
            in_tc=self.plan.in_tc,
            in_reached_at=self.outcome.in_reached_at,
        )
        self._thread = threading.Thread(
            target=self._watch, args=(take,), name="deck-transfer", daemon=True
        )
        self._thread.start()

    def _stop_take(self, take: Take, reason: str, at: str | None) -> None:
        self.outcome.reason, self.outcome.stopped_at = reason, at
        self._event("deck_out", at=at, reason=reason)
        take.stop(reason)

    def _watch(self, take: Take) -> None:
        plan = self.plan
        out = _key(plan.out_tc)
        last, last_change = None, time.monotonic()
        while not self._stop.is_set() and not take.wait(0):
            try:
                now = self._now()
            except DeckError as exc:
                self.outcome.error = str(exc)
                self._stop_take(take, f"deck lost: {exc}", last)
                return
            if _key(now) >= out:
                self._stop_take(take, OUT_REASON, now)
                return
            moment = time.monotonic()
            if now != last:
                last, last_change = now, moment
            elif moment - last_change > plan.stall_s:
                self._stop_take(take, f"deck stopped: its timecode stayed at {now}", now)
                return
            time.sleep(plan.poll_s)
        if not self.outcome.reason:  # the take ended first (the user, --seconds, an error)
            self.outcome.reason = "the take ended before OUT"

    # -- after ----------------------------------------------------------------------------------
    def finish(self) -> TransferOutcome:
        """Wait for the watcher, stop the deck (if it still answers) and say what happened."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            self.deck.stop()
        except DeckError as exc:
            self.outcome.error = self.outcome.error or str(exc)
        return self.outcome


def log_transfer(take: Take, plan: TransferPlan, outcome: TransferOutcome) -> None:
    """The transfer's account in the take's log (appended once the take is finished)."""
    if take.paths is None:
        return
    with TakeLog(take.paths.log) as log:
        log.write(
            "deck_transfer",
            "INFO" if outcome.complete else "WARN",
            in_tc=plan.in_tc,
            out_tc=plan.out_tc,
            cue_tc=plan.cue_tc,
            preroll_s=plan.preroll_s,
            **outcome.to_dict(),
        )


def capture_in_to_out(
    deck: Deck,
    take: Take,
    plan: TransferPlan,
    on_event: EventFn | None = None,
    timeout_s: float | None = None,
) -> TransferOutcome:
    """Cue, roll, start ``take`` at IN, stop it at OUT, stop the deck; returns the outcome
    (``take.result`` holds the take's). A deck failure before IN raises ``DeckError`` and
    leaves no take."""
    transfer = DeckTransfer(deck, plan, on_event)
    try:
        transfer.prepare()
        take.start()
    except BaseException:
        transfer.finish()
        raise
    transfer.watch(take)
    take.wait(timeout_s)
    outcome = transfer.finish()
    log_transfer(take, plan, outcome)
    return outcome
