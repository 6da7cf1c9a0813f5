"""A deck driven from a window: one thread owns the serial line, so a deck that stops answering
or answers garbage never stalls the caller.

``DeckRemote(port).start()`` opens the port on its own thread and reads the deck's timecode
and transport about ten times a second (``on_reading``). Transport commands (``command``) and
cueing are queued and sent between readings. ``transfer(plan)`` cues the deck to IN minus the
pre-roll and rolls it (``capture.deck.transfer.DeckTransfer``, the engine of the command
line's ``--deck --in --out``); once the tape reaches IN, ``on_in(timecode)`` is called and the
caller starts its take and hands it to ``watch(take)``, which stops it at OUT. ``finish(take)``
stops the deck, writes the transfer into the take's log and calls ``on_transfer(outcome)``.

Every failure is one line through ``on_problem`` (``None`` once the deck answers again); the
port is opened again a second later. Callbacks run on the remote's thread (or the transfer's
watcher): a window turns them into queued signals.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from capture.deck.sony9pin import Deck, timecode_bytes
from capture.deck.transfer import DeckTransfer, TransferOutcome, TransferPlan, log_transfer
from metadata.errors import HeadblockError

POLL_S = 0.1
REOPEN_S = 1.0
COMMANDS = ("play", "stop", "rewind", "ff", "eject", "standby on", "standby off")


@dataclass(frozen=True)
class DeckReading:
    """What the deck said at one reading."""

    timecode: str | None  # HH:MM:SS:FF (``;`` drop-frame), None when it gives none
    source: str  # ltc, vitc, timer1, timer2
    mode: str  # no tape, eject, rewind, fast forward, record, play, stop
    standby: bool
    transfer: str = ""  # "cueing", "rolling", "recording" during a transfer


def _noop(*_args) -> None:
    return None


class DeckRemote:
    def __init__(
        self,
        port: str,
        *,
        timeout_s: float = 0.5,
        source: str = "ltc",
        poll_s: float = POLL_S,
        on_reading: Callable[[DeckReading], None] = _noop,
        on_problem: Callable[[str | None], None] = _noop,
        on_message: Callable[[str], None] = _noop,
        on_in: Callable[[str], None] = _noop,
        on_transfer: Callable[[TransferOutcome], None] = _noop,
    ):
        self.port = port
        self.timeout_s = timeout_s
        self.source = source
        self.poll_s = poll_s
        self.on_reading, self.on_problem, self.on_message = on_reading, on_problem, on_message
        self.on_in, self.on_transfer = on_in, on_transfer
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._deck: Deck | None = None
        self._problem: str | None = None
        self._transfer: DeckTransfer | None = None
        self._transfer_state = ""
        self.last: DeckReading | None = None

    # -- the caller's side (any thread) ---------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deck-remote", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop the thread (a transfer under way is cancelled and the deck stopped)."""
        if self._transfer is not None:
            self._transfer.cancel()
        self._stop.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def command(self, name: str) -> None:
        """Queue a transport command: play, stop, rewind, ff, eject, standby on|off."""
        if name not in COMMANDS:
            raise HeadblockError(f"unknown deck command {name!r} ({', '.join(COMMANDS)})")
        self._jobs.put(("command", name))

    def cue(self, timecode: str) -> None:
        """Queue a cue to ``timecode``; a malformed timecode is refused here, at once."""
        timecode_bytes(timecode)
        self._jobs.put(("cue", timecode))

    @property
    def busy(self) -> bool:
        """True while a transfer is being prepared or watched."""
        return self._transfer is not None

    def transfer(self, plan: TransferPlan) -> None:
        """Queue a capture from IN to OUT (see the module docstring)."""
        if self._transfer is not None:
            raise HeadblockError("a transfer is already under way")
        self._jobs.put(("transfer", plan))

    def watch(self, take) -> None:
        """The take started at IN: stop it at OUT (called once ``on_in`` has been answered)."""
        transfer = self._transfer
        if transfer is None:
            raise HeadblockError("no transfer is waiting for its take")
        self._transfer_state = "recording"
        transfer.watch(take)

    def finish(self, take=None) -> None:
        """End the transfer: stop the deck and log it into ``take``'s log (None: no take was
        made). ``on_transfer`` follows."""
        self._jobs.put(("finish", take))

    def cancel(self) -> None:
        """Give up a transfer still waiting for IN (the deck is stopped)."""
        transfer = self._transfer
        if transfer is not None:
            transfer.cancel()

    # -- the remote's thread --------------------------------------------------------------------
    def _run(self) -> None:
        next_open = 0.0
        try:
            while not self._stop.is_set():
                if self._deck is None:
                    if time.monotonic() < next_open:
                        self._wait_job(next_open - time.monotonic())
                        continue
                    if not self._open():
                        next_open = time.monotonic() + REOPEN_S
                        continue
                try:
                    self._read()
                    self._wait_job(self.poll_s)
                except (HeadblockError, OSError) as exc:
                    self._failed(str(exc))
                    next_open = time.monotonic() + REOPEN_S
                except Exception as exc:  # noqa: BLE001 - one line, never a dead thread
                    self._failed(f"deck on {self.port}: {type(exc).__name__}: {exc}")
                    next_open = time.monotonic() + REOPEN_S
        finally:
            if self._transfer is not None:
                self._finish_transfer(None)
            if self._deck is not None:
                self._deck.close()
                self._deck = None

    def _open(self) -> bool:
        try:
            self._deck = Deck(self.port, timeout_s=self.timeout_s)
        except HeadblockError as exc:
            self._say_problem(str(exc))
            return False
        return True

    def _failed(self, line: str) -> None:
        self._say_problem(line)
        if self._deck is not None and self._transfer is None:
            try:
                self._deck.close()
            except Exception:  # noqa: BLE001 - the line is gone anyway
                pass
            self._deck = None

    def _say_problem(self, line: str | None) -> None:
        if line != self._problem:
            self._problem = line
            self.on_problem(line)

    def _read(self) -> None:
        if self._transfer is not None:
            return  # the transfer talks to the deck and reports each reading (_transfer_time)
        deck = self._deck
        now = deck.current_time(self.source)
        status = deck.status()
        reading = DeckReading(now.timecode, now.source, status.mode, status.standby)
        self._say_problem(None)
        self.last = reading
        self.on_reading(reading)

    def _wait_job(self, timeout_s: float) -> None:
        try:
            job = self._jobs.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return
        if job is None:
            return
        kind, arg = job
        if kind == "finish":
            self._finish_transfer(arg)
            return
        if self._deck is None:
            self.on_message(f"deck on {self.port}: not connected, {kind} not sent")
            if kind == "transfer":
                self.on_transfer(TransferOutcome(reason="deck not connected", error=self._problem))
            return
        if kind == "command":
            self._command(arg)
        elif kind == "cue":
            self._deck.cue(arg)
            self.on_message(f"cueing to {arg}")
        elif kind == "transfer":
            self._prepare(arg)

    def _command(self, name: str) -> None:
        deck = self._deck
        if name.startswith("standby"):
            deck.standby(name == "standby on")
        else:
            {"play": deck.play, "stop": deck.stop, "rewind": deck.rewind,
             "ff": deck.fast_forward, "eject": deck.eject}[name]()  # fmt: skip
        self.on_message(f"{name} acknowledged")

    def _prepare(self, plan: TransferPlan) -> None:
        """Cue and roll (blocking this thread, which is the deck's own); IN reached: on_in."""
        transfer = DeckTransfer(self._deck, plan, on_time=self._transfer_time)
        self._transfer, self._transfer_state = transfer, "cueing"
        self.on_message(f"cueing to {plan.cue_tc} ({plan.preroll_s} s before IN)")
        try:
            reached = transfer.prepare()
        except (HeadblockError, OSError) as exc:  # no take was made: say why, stop the deck
            transfer.finish()
            self._transfer, self._transfer_state = None, ""
            self.on_transfer(TransferOutcome(reason="the deck failed before IN", error=str(exc)))
            return
        self.on_in(reached)

    def _transfer_time(self, timecode: str) -> None:
        reading = DeckReading(timecode, self.source, "play", False, self._transfer_state)
        self.last = reading
        self.on_reading(reading)

    def _finish_transfer(self, take) -> None:
        transfer, self._transfer = self._transfer, None
        self._transfer_state = ""
        if transfer is None:
            return
        outcome = transfer.finish()
        if take is None or getattr(take, "paths", None) is None:
            outcome.reason = outcome.reason or "no take was made"
        else:  # into the take's log once the take has finished writing it (its read-back)
            threading.Thread(
                target=_log_when_finished,
                args=(take, transfer.plan, outcome),
                name="deck-transfer-log",
                daemon=True,
            ).start()
        self.on_transfer(outcome)


def _log_when_finished(take, plan: TransferPlan, outcome: TransferOutcome) -> None:
    take.wait()
    try:
        log_transfer(take, plan, outcome)
    except OSError:  # a full disk: the take's own lines said why already
        pass
