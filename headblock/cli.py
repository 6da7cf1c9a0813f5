"""The ``headblock`` command line: the parser of every verb, and the one place that turns an
error into one line on stderr and an exit status (docs/cli.md). Verbs are imported lazily."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from metadata.errors import HeadblockError

# verb -> "module:function"; imported only when the verb runs, so `--help` stays fast.
HANDLERS = {
    "gui": "app.main:cmd_gui",
    "devices": "headblock.verbs.capture:cmd_devices",
    "capture audio": "headblock.verbs.capture:cmd_capture_audio",
    "capture video": "headblock.verbs.capture:cmd_capture_video",
    "qc": "headblock.verbs.qc:cmd_qc",
    "verify": "headblock.verbs.review:cmd_verify",
    "recover": "headblock.verbs.library:cmd_recover",
    "report": "headblock.verbs.qc:cmd_report",
    "signoff": "headblock.verbs.review:cmd_signoff",
    "catalogue": "headblock.verbs.library:cmd_catalogue",
    "inventory import": "headblock.verbs.collection:cmd_inventory_import",
    "inventory list": "headblock.verbs.collection:cmd_inventory_list",
    "inventory hold": "headblock.verbs.collection:cmd_inventory_hold",
    "inventory release": "headblock.verbs.collection:cmd_inventory_release",
    "inventory claim": "headblock.verbs.collection:cmd_inventory_claim",
    "inventory unclaim": "headblock.verbs.collection:cmd_inventory_unclaim",
    "inventory claims": "headblock.verbs.collection:cmd_inventory_claims",
    "inspect": "headblock.verbs.collection:cmd_inspect",
    "export pbcore": "headblock.verbs.collection:cmd_export_pbcore",
    "dashboard": "headblock.verbs.collection:cmd_dashboard",
    "package": "headblock.verbs.packaging:cmd_package",
    "deck": "headblock.verbs.deck:cmd_deck",
    "timecode": "headblock.verbs.deck:cmd_timecode",
    "batch": "headblock.verbs.batch:cmd_batch",
    "derive": "headblock.verbs.delivery:cmd_derive",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(2, f"headblock: {message} (see `{self.prog} --help`)\n")


def _deck_options(parser: argparse.ArgumentParser) -> None:
    """Capture from IN to OUT on a Sony 9-pin deck."""
    parser.add_argument("--deck", metavar="PORT", help="serial port of a Sony 9-pin deck")
    parser.add_argument("--in", dest="in_tc", metavar="TC", help="with --deck: start at TC")
    parser.add_argument("--out", dest="out_tc", metavar="TC", help="with --deck: stop at TC")
    parser.add_argument(
        "--preroll", type=int, default=5, metavar="S", help="with --deck: seconds before IN"
    )
    parser.add_argument(
        "--deck-timeout", type=float, default=0.5, metavar="S", help="seconds to wait for the deck"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="headblock", description="Audiovisual digitization station.")
    verbs = parser.add_subparsers(dest="verb", parser_class=_Parser)

    gui = verbs.add_parser("gui", help="the station window")
    gui.add_argument("--demo", action="store_true", help="use the demo deck as input")
    gui.add_argument("--library", help="library folder (default: from settings)")

    devices = verbs.add_parser("devices", help="list audio and video inputs")
    devices.add_argument("--json", action="store_true", help="machine-readable output")

    capture = verbs.add_parser("capture", help="record a take")
    kinds = capture.add_subparsers(dest="kind", parser_class=_Parser)
    audio = kinds.add_parser("audio", help="record an audio take to Broadcast WAV")
    audio.add_argument(
        "--device", required=True, help="PortAudio input (name substring or index) or 'demo'"
    )
    audio.add_argument("--item", required=True)
    audio.add_argument("--library", required=True)
    audio.add_argument("--seconds", type=float, help="stop after N seconds of audio written")
    audio.add_argument("--rate", type=int, default=96000, help="sample rate in Hz (default 96000)")
    audio.add_argument("--bits", type=int, default=24, choices=(16, 24, 32), help="bits per sample")
    audio.add_argument(
        "--channels",
        type=int,
        default=None,
        help="channels (default: the source's, at most 2 for demo)",
    )
    audio.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    audio.add_argument("--meta-file", help="TOML file of item/carrier fields")
    audio.add_argument("--profile", default="default", help="QC profile run after the take")
    audio.add_argument("--no-qc", action="store_true", help="skip QC after the take")
    _deck_options(audio)
    audio.add_argument(
        "--ltc-channel",
        type=int,
        metavar="N",
        help="channel N (from 1) carries the tape's LTC: written as BWF TimeReference and iXML",
    )
    video = kinds.add_parser("video", help="record a video take to FFV1/Matroska")
    video.add_argument(
        "--device",
        required=True,
        help="FORMAT:TARGET, e.g. v4l2:/dev/video0, lavfi:testsrc2, demo:ntsc",
    )
    video.add_argument("--item", required=True)
    video.add_argument("--library", required=True)
    video.add_argument("--seconds", type=float)
    video.add_argument(
        "--audio-device", help="PortAudio input, or lavfi:... (default: embedded audio)"
    )
    video.add_argument("--standard", choices=("ntsc", "pal"), help="video standard preset")
    video.add_argument("--pix-fmt", help="pixel format to request from the device")
    video.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="FFmpeg device option"
    )
    video.add_argument("--audio-rate", type=int, default=48000)
    video.add_argument("--audio-channels", type=int, default=2)
    video.add_argument("--audio-bits", type=int, default=24, choices=(16, 24))
    video.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    video.add_argument("--meta-file")
    video.add_argument("--profile", default="default")
    video.add_argument("--no-qc", action="store_true")
    _deck_options(video)
    video.add_argument(
        "--ltc-channel",
        type=int,
        metavar="N",
        help="audio channel N (from 1) carries the tape's LTC: Matroska TIMECODE tag and .vtt",
    )

    qc = verbs.add_parser("qc", help="run every check on a file and write the sidecars")
    qc.add_argument("file")
    qc.add_argument("--profile", default="default", help="profile name or path to a TOML file")
    qc.add_argument("--json", dest="json_out", help="also write the QC result here")

    verify = verbs.add_parser("verify", help="re-hash masters and signed-off QC results")
    verify.add_argument("paths", nargs="+")

    recover = verbs.add_parser("recover", help="repair takes left open by a crash")
    recover.add_argument("library")

    report = verbs.add_parser("report", help="write the QC report of a take")
    report.add_argument("take_dir")
    report.add_argument("--pdf", action="store_true", help="also write the PDF")

    signoff = verbs.add_parser("signoff", help="record a supervisor's decision")
    signoff.add_argument("take_dir")
    signoff.add_argument("--by", required=True)
    signoff.add_argument("--decision", required=True, choices=("approved", "rejected"))
    signoff.add_argument("--comment", default="")

    catalogue = verbs.add_parser("catalogue", help="the library's catalogue")
    catalogue.add_argument("action", choices=("rebuild", "list"))
    catalogue.add_argument("library")
    catalogue.add_argument("--url", help="database URL (default: SQLite inside the library)")

    _add_collection_verbs(verbs)
    package = verbs.add_parser("package", help="approved takes into packages for a repository")
    package.add_argument("paths", nargs="+", metavar="PATH", help="take folder, item or library")
    package.add_argument("--out", required=True, help="folder the packages are written into")
    package.add_argument("--layout", default="bagit", help="bagit (default) or archivematica")
    package.add_argument(
        "--include-unapproved",
        metavar="REASON",
        help="also package takes not approved; the reason goes into the package",
    )
    package.add_argument(
        "--copy", action="store_true", help="copy masters even where a hard link would do"
    )
    package.add_argument(
        "--organization", help="BagIt Source-Organization (default: from the settings)"
    )
    deck = verbs.add_parser("deck", help="control a deck over Sony 9-pin (RS-422)")
    deck.add_argument("port", help="serial port, e.g. /dev/ttyUSB0")
    deck.add_argument(
        "action",
        choices=("status", "play", "stop", "rewind", "ff", "eject", "standby", "time", "cue"),
    )
    deck.add_argument("timecode", nargs="?", help="for cue: HH:MM:SS:FF (;FF for drop-frame)")
    deck.add_argument("--off", action="store_true", help="for standby: standby off")
    deck.add_argument(
        "--source",
        default="ltc",
        choices=("ltc", "vitc", "timer1", "timer2", "auto"),
        help="for time: which time the deck reports (default ltc)",
    )
    deck.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="S",
        help="for cue: wait up to S seconds until the deck is cued",
    )
    deck.add_argument("--timeout", type=float, default=0.5, help="seconds to wait for an answer")
    deck.add_argument("--json", action="store_true", help="machine-readable output")

    timecode = verbs.add_parser("timecode", help="read the LTC on one channel of a file")
    timecode.add_argument("file")
    timecode.add_argument("--channel", type=int, default=1, help="channel with LTC (from 1)")
    timecode.add_argument("--json", action="store_true", help="machine-readable output")
    batch = verbs.add_parser("batch", help="a verb over many files on a Dask cluster")
    batch.add_argument("action", choices=("qc", "verify", "derive", "package"))
    batch.add_argument("paths", nargs="+", metavar="PATH")
    batch.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    batch.add_argument("--scheduler", help="an existing Dask scheduler, tcp://HOST:8786")
    batch.add_argument(
        "--profile", help="qc: QC profile (default: default); derive: derivative profile (access)"
    )
    batch.add_argument("--force", action="store_true", help="redo files already done")
    batch.add_argument("--older-than", help="verify: only files last verified before, e.g. 90d")
    batch.add_argument("--report", help="the HTML report (default: in the first PATH)")
    batch.add_argument("--url", help="catalogue database URL (default: SQLite in the library)")
    batch.add_argument("--out", help="package: the folder packages are written into")
    batch.add_argument("--layout", help="package: bagit (default) or archivematica")
    batch.add_argument(
        "--include-unapproved", metavar="REASON", help="package: also takes not approved"
    )
    batch.add_argument("--copy", action="store_true", help="package: copy masters, never link")
    batch.add_argument("--organization", help="package: BagIt Source-Organization")
    derive = verbs.add_parser("derive", help="make access copies of takes")
    derive.add_argument("take_dirs", nargs="+", metavar="TAKE_DIR")
    derive.add_argument(
        "--profile", default="access", help="access, web, or a path to a .toml file"
    )
    return parser


def _add_collection_verbs(verbs) -> None:
    """inventory, inspect, export: the collection around the bench."""
    url_help = "database URL (default: SQLite inside the library)"
    inventory = verbs.add_parser("inventory", help="the collection's item list")
    actions = inventory.add_subparsers(dest="inventory_action", parser_class=_Parser)
    imp = actions.add_parser("import", help="import or update items from a CSV or PBCore 2.x file")
    imp.add_argument("library")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    imp.add_argument("--url", help=url_help)
    lst = actions.add_parser("list", help="items with their status")
    lst.add_argument("library")
    lst.add_argument("--status", help="only items of this status")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.add_argument("--url", help=url_help)
    hold = actions.add_parser("hold", help="put an item on hold")
    hold.add_argument("library")
    hold.add_argument("item")
    hold.add_argument("--reason", required=True)
    hold.add_argument("--by", help="who holds it")
    hold.add_argument("--url", help=url_help)
    release = actions.add_parser("release", help="lift an item's hold")
    release.add_argument("library")
    release.add_argument("item")
    release.add_argument("--url", help=url_help)
    station_help = "this station's name (default: station in the settings, else the host name)"
    claim = actions.add_parser("claim", help="claim an item for this station")
    claim.add_argument("library")
    claim.add_argument("item")
    claim.add_argument("--station", help=station_help)
    claim.add_argument(
        "--take-over", action="store_true", help="take the item from the station holding it"
    )
    claim.add_argument("--url", help=url_help)
    unclaim = actions.add_parser("unclaim", help="end this station's claim on an item")
    unclaim.add_argument("library")
    unclaim.add_argument("item")
    unclaim.add_argument("--station", help=station_help)
    unclaim.add_argument("--force", action="store_true", help="end another station's claim")
    unclaim.add_argument("--url", help=url_help)
    claims = actions.add_parser("claims", help="which station holds which item")
    claims.add_argument("library")
    claims.add_argument("--json", action="store_true", help="machine-readable output")
    claims.add_argument("--url", help=url_help)

    inspect = verbs.add_parser("inspect", help="record a carrier inspection")
    inspect.add_argument("library")
    inspect.add_argument("item")
    inspect.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="TEXT",
        help="none, mould, binder_hydrolysis (sticky shed), vinegar_syndrome, physical_damage, "
        "pack_problems, splices, label_missing, label_wrong; 'KEY: detail' adds a detail",
    )
    inspect.add_argument(
        "--treatment",
        action="append",
        default=[],
        metavar="TEXT",
        help="'baked 54C 8h', 'cleaned HOW', 'repaired WHAT', 'rewound', 'rehoused'",
    )
    inspect.add_argument("--playable", choices=("yes", "no"))
    inspect.add_argument("--note", help="free text")
    inspect.add_argument("--by", help="who inspected it")
    inspect.add_argument("--url", help=url_help)

    export = verbs.add_parser("export", help="export the catalogue")
    kinds = export.add_subparsers(dest="export_kind", parser_class=_Parser)
    pbcore = kinds.add_parser("pbcore", help="collection-level PBCore 2.1")
    pbcore.add_argument("library")
    pbcore.add_argument("out")
    pbcore.add_argument("--item", action="append", help="only this item (repeatable)")
    pbcore.add_argument("--url", help=url_help)

    dashboard = verbs.add_parser("dashboard", help="the project's progress and projected end")
    dashboard.add_argument("library")
    dashboard.add_argument("--html", metavar="OUT", help="also write a page with plots")
    dashboard.add_argument("--pdf", metavar="OUT", help="also write a PDF with plots")
    dashboard.add_argument("--url", help=url_help)


def _resolve(verb: str):
    module_name, func = HANDLERS[verb].split(":")
    return getattr(importlib.import_module(module_name), func)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verb = args.verb or "gui"
    if verb == "gui" and not args.verb:
        args = parser.parse_args(["gui", *(argv or [])])
    if verb == "capture":
        if not args.kind:
            parser.exit(2, "headblock: capture needs 'audio' or 'video'\n")
        verb = f"capture {args.kind}"
    if verb in ("inventory", "export"):
        action = args.inventory_action if verb == "inventory" else args.export_kind
        if not action:
            need = (
                "import, list, hold, release, claim, unclaim or claims"
                if verb == "inventory"
                else "pbcore"
            )
            parser.exit(2, f"headblock: {verb} needs {need}\n")
        verb = f"{verb} {action}"
    try:
        status = _resolve(verb)(args)
    except HeadblockError as exc:
        print(f"headblock: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("headblock: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user; keep it on request
        if os.environ.get("HEADBLOCK_DEBUG"):
            traceback.print_exc()
        print(f"headblock: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
