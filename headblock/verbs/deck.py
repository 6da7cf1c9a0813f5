"""``headblock deck PORT ACTION`` (Sony 9-pin deck control) and ``headblock timecode FILE``."""

from __future__ import annotations

import json
import sys
import time

from capture.deck.sony9pin import Deck, timecode_bytes
from capture.deck.transfer import DeckTransfer, TransferOutcome, TransferPlan, log_transfer
from capture.timecode.scan import scan_file
from headblock.terminal import run_until_done
from metadata.errors import HeadblockError
from metadata.progress import TerminalProgress


def cmd_deck(args) -> int:
    action = args.action
    if action == "cue" and not args.timecode:
        raise HeadblockError("deck cue needs a timecode: headblock deck PORT cue HH:MM:SS:FF")
    if action != "cue" and args.timecode:
        raise HeadblockError(f"deck {action} takes no timecode")
    if action == "cue":
        timecode_bytes(args.timecode)  # a bad timecode is said before the port is opened
    with Deck(args.port, timeout_s=args.timeout) as deck:
        if action == "status":
            status = deck.status()
            if args.json:
                print(json.dumps(status.to_dict(), indent=2))
            else:
                flags = [n for n, v in status.to_dict().items() if v is True]
                print(f"{status.mode}  ({', '.join(flags) or 'no flags'})")
            return 0
        if action == "time":
            now = deck.current_time(args.source)
            if args.json:
                print(json.dumps({"timecode": now.timecode, "source": now.source}))
            else:
                print(f"{now.timecode}  ({now.source.upper()})")
            return 0
        if action == "cue":
            deck.cue(args.timecode)
            if args.wait:
                _wait_cued(deck, args.timecode, args.wait)
        elif action == "standby":
            deck.standby(not args.off)
        else:
            {"play": deck.play, "stop": deck.stop, "rewind": deck.rewind,
             "ff": deck.fast_forward, "eject": deck.eject}[action]()  # fmt: skip
        print(f"headblock: deck on {args.port}: {action} acknowledged", file=sys.stderr)
    return 0


def _wait_cued(deck: Deck, timecode: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if deck.status().cue_complete:
            print(f"cued at {deck.current_time('ltc').timecode}")
            return
        time.sleep(0.1)
    raise HeadblockError(f"the deck did not reach {timecode} within {timeout_s:g} s")


def cmd_timecode(args) -> int:
    """Decode the LTC on one channel of a file: first and last timecode, rate, breaks."""
    progress = TerminalProgress("timecode")
    summary = scan_file(args.file, channel=args.channel, progress=progress)
    progress.done()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 0 if summary.first else 1
    first, last = summary.first, summary.last
    if first is None:
        print(f"headblock: no LTC found on channel {args.channel} of {args.file}", file=sys.stderr)
        return 1
    rate = f"{first.fps} fps{' drop-frame' if first.drop_frame else ''}"
    print(f"first  {first.timecode}  at {first.position / summary.rate_hz:.3f} s")
    print(f"last   {last.timecode}  at {last.position / summary.rate_hz:.3f} s")
    print(f"rate   {rate}, {len(summary.frames)} frames decoded")
    print(f"breaks {len(summary.breaks)}")
    for b in summary.breaks:
        print(f"  at {b.at_s:.3f} s: {b.before} -> {b.after}")
    return 0


# --------------------------------------------------------------------------- capture IN to OUT


def deck_plan_from_args(args) -> TransferPlan | None:
    """The IN/OUT of ``capture ... --deck PORT --in TC --out TC``; None without ``--deck``."""
    deck, in_tc, out_tc = getattr(args, "deck", None), args.in_tc, args.out_tc
    if deck is None:
        if in_tc or out_tc:
            raise HeadblockError("--in and --out need --deck PORT")
        return None
    if not (in_tc and out_tc):
        raise HeadblockError("--deck needs --in TC and --out TC")
    if getattr(args, "seconds", None):
        raise HeadblockError(
            "--seconds and --deck exclude each other: the deck's OUT ends the take"
        )
    timecode_bytes(in_tc), timecode_bytes(out_tc)  # said before the port is opened
    return TransferPlan(in_tc, out_tc, preroll_s=args.preroll)


def run_take_from_deck(args, plan: TransferPlan, take, status_line, armed=None):
    """Cue the deck, roll it, start ``take`` at IN and stop it at OUT, with the terminal's
    status line and SIGINT/SIGTERM as for any take. Returns (take paths, outcome)."""
    with Deck(args.deck, timeout_s=args.deck_timeout) as deck:
        transfer = DeckTransfer(deck, plan)
        paths = None
        try:
            if armed is not None:
                armed.start()
            print(
                f"headblock: cueing the deck to {plan.cue_tc} ({plan.preroll_s} s before IN)",
                file=sys.stderr,
                flush=True,
            )
            at_in = transfer.prepare()
            paths = take.start()
            print(
                f"headblock: at {at_in}: recording {paths.directory}", file=sys.stderr, flush=True
            )
            transfer.watch(take)
            run_until_done(take, lambda status: f"{transfer.last_timecode}  {status_line(status)}")
        finally:
            outcome = transfer.finish()
            if armed is not None:
                armed.stop()
    log_transfer(take, plan, outcome)
    print(
        f"headblock: deck: started at {outcome.started_at}, stopped at {outcome.stopped_at} "
        f"({outcome.reason})",
        file=sys.stderr,
    )
    return paths, outcome


def deck_exit_status(status: int, outcome: TransferOutcome | None) -> int:
    """A take the deck cut short (lost, stopped before OUT) is not a complete transfer: 1."""
    if outcome is not None and outcome.reason.startswith(("deck lost", "deck stopped")):
        return max(status, 1)
    return status
