"""``headblock inventory``, ``inspect`` and ``export pbcore``: the collection around the bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from metadata.catalogue import inventory as inv
from metadata.clock import format_minute
from metadata.collection.inspection import carry_to_takes, make_inspection, record_inspection
from metadata.errors import HeadblockError
from metadata.progress import TerminalProgress
from metadata.take.meta import CARRIERS


def cmd_inventory_import(args) -> int:
    prog = TerminalProgress("import")
    try:
        result = inv.import_list(
            Path(args.library), Path(args.file), args.url, args.dry_run, progress=prog
        )
    except inv.InventoryError as exc:
        for line in exc.problems:
            print(f"headblock: {line}", file=sys.stderr)
        raise
    prog.done()
    verb = "would add" if result.dry_run else "added"
    for item, lines in result.changed.items():
        for line in lines:
            print(f"{item}: {line}")
    print(
        f"{Path(args.file).name}: {result.rows} item(s): {verb} {len(result.added)}, "
        f"{'would update' if result.dry_run else 'updated'} {len(result.changed)}, "
        f"unchanged {result.unchanged}" + (" (dry run: nothing written)" if result.dry_run else "")
    )
    return 0


def cmd_inventory_list(args) -> int:
    rows = inv.list_items(Path(args.library), args.url, status=args.status)
    if args.json:
        json.dump(inv.as_json_rows(rows), sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    print(f"{'item':<24} {'status':<11} {'carrier':<14} {'takes':>5}  {'collection':<20} title")
    for r in rows:
        carrier = CARRIERS[r["carrier"]][0] if r["carrier"] in CARRIERS else r["carrier"]
        title = " ".join(r["title"].split())
        print(
            f"{r['item']:<24} {r['status']:<11} {carrier[:14]:<14} {r['takes']:>5}  "
            f"{r['collection'][:20]:<20} {title[:60]}"
        )
        if r["status"] == "on_hold":
            when = format_minute(r["hold_utc"])
            by = f" by {r['hold_by']}" if r["hold_by"] else ""
            print(f"{'':<24} on hold{by} since {when}: {r['hold_reason']}")
        if r.get("claimed_by"):
            since = format_minute(r["claimed_utc"])
            print(f"{'':<24} held by station {r['claimed_by']} since {since} UTC")
    print(f"{len(rows)} item(s)")
    return 0


def cmd_inventory_hold(args) -> int:
    inv.hold(Path(args.library), args.item, args.reason, args.by or "", args.url)
    print(f"{args.item}: on hold ({' '.join(args.reason.split())})")
    return 0


def cmd_inventory_release(args) -> int:
    status = inv.release(Path(args.library), args.item, args.url)
    print(f"{args.item}: released, {status}")
    return 0


def cmd_inventory_claim(args) -> int:
    from metadata.catalogue.claims import claim_item

    held, taken = claim_item(
        Path(args.library), args.item, args.station, args.url, take_over=args.take_over
    )
    if taken is not None:
        print(f"{args.item}: taken over from station {taken.station} ({taken.since_text()})")
    print(f"{args.item}: claimed by station {held.station} {held.since_text()}")
    return 0


def cmd_inventory_unclaim(args) -> int:
    from metadata.catalogue.claims import release_claim

    ended = release_claim(Path(args.library), args.item, args.station, args.url, args.force)
    if ended is None:
        print(f"{args.item}: no station held it")
    else:
        print(f"{args.item}: released by station {ended.station} (held {ended.since_text()})")
    return 0


def cmd_inventory_claims(args) -> int:
    from metadata.catalogue.claims import list_claims

    claims = list_claims(Path(args.library), args.url)
    if args.json:
        rows = [
            {
                "item": c.item,
                "station": c.station,
                "claimed_utc": c.claimed_utc.isoformat(),
                "stale": c.stale(),
            }
            for c in claims
        ]
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for c in claims:
        print(f"{c.item:<24} {c.station:<20} {c.since_text()}")
    print(f"{len(claims)} claim(s)")
    return 0


def cmd_inspect(args) -> int:
    insp = make_inspection(
        args.item, args.condition, args.treatment, args.playable, args.note or "", args.by or ""
    )
    record_inspection(Path(args.library), insp, args.url)
    print(f"{args.item}: inspection {insp.id} recorded: {insp.summary()}")
    for line in carry_to_takes(Path(args.library), args.item, args.url):
        print(f"  PREMIS {line}")
    if insp.playable == "no":
        print(f"  not playable: `headblock inventory hold {args.library} {args.item} --reason …`")
    return 0


def cmd_export_pbcore(args) -> int:
    from metadata.collection.pbcore import export_collection

    library = Path(args.library)
    only = list(args.item or [])
    if not library.is_dir():
        raise HeadblockError(f"the library {library} is not a folder")
    # takes captured after an inspection get its PREMIS events now
    for row in inv.list_items(library, args.url, only=only or None):
        if row["takes"]:
            carry_to_takes(library, row["item"], args.url)
    n = export_collection(library, Path(args.out), only, args.url)
    print(f"{args.out}: PBCore 2.1 collection of {n} item(s), valid")
    return 0


def cmd_dashboard(args) -> int:
    from metadata.collection.dashboard import collect, text_lines, write_html

    outs = [(kind, Path(out)) for kind, out in (("html", args.html), ("pdf", args.pdf)) if out]
    for _kind, out in outs:  # before the work: a bad path is one line, nothing written
        if not out.parent.is_dir():
            raise HeadblockError(f"cannot write {out}: {out.parent} is not a folder")
    board = collect(Path(args.library), args.url)
    for line in text_lines(board):
        print(line)
    for kind, out in outs:
        try:
            if kind == "html":
                write_html(board, out)
            else:
                from metadata.collection.dashboard_pdf import write_pdf

                write_pdf(board, out)
        except OSError as exc:
            raise HeadblockError(f"cannot write {out}: {exc.strerror or exc}") from exc
        print(f"{out}: written")
    return 0
