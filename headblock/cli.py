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
    "derive": "headblock.verbs.delivery:cmd_derive",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(2, f"headblock: {message} (see `{self.prog} --help`)\n")


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

    derive = verbs.add_parser("derive", help="make access copies of takes")
    derive.add_argument("take_dirs", nargs="+", metavar="TAKE_DIR")
    derive.add_argument(
        "--profile", default="access", help="access, web, or a path to a .toml file"
    )
    return parser


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
