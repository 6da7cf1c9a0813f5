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
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(2, f"headblock: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="headblock", description="Audiovisual digitization station.")
    sub = p.add_subparsers(dest="verb", parser_class=_Parser)

    g = sub.add_parser("gui", help="the station window")
    g.add_argument("--demo", action="store_true", help="use the demo deck as input")
    g.add_argument("--library", help="library folder (default: from settings)")

    d = sub.add_parser("devices", help="list audio and video inputs")
    d.add_argument("--json", action="store_true", help="machine-readable output")

    c = sub.add_parser("capture", help="record a take")
    csub = c.add_subparsers(dest="kind", parser_class=_Parser)
    ca = csub.add_parser("audio", help="record an audio take to Broadcast WAV")
    ca.add_argument(
        "--device", required=True, help="PortAudio input (name substring or index) or 'demo'"
    )
    ca.add_argument("--item", required=True)
    ca.add_argument("--library", required=True)
    ca.add_argument("--seconds", type=float, help="stop after N seconds of audio written")
    ca.add_argument("--rate", type=int, default=96000, help="sample rate in Hz (default 96000)")
    ca.add_argument("--bits", type=int, default=24, choices=(16, 24, 32), help="bits per sample")
    ca.add_argument(
        "--channels",
        type=int,
        default=None,
        help="channels (default: the source's, at most 2 for demo)",
    )
    ca.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    ca.add_argument("--meta-file", help="TOML file of item/carrier fields")
    ca.add_argument("--profile", default="default", help="QC profile run after the take")
    ca.add_argument("--no-qc", action="store_true", help="skip QC after the take")
    cv = csub.add_parser("video", help="record a video take to FFV1/Matroska")
    cv.add_argument(
        "--device",
        required=True,
        help="FORMAT:TARGET, e.g. v4l2:/dev/video0, lavfi:testsrc2, demo:ntsc",
    )
    cv.add_argument("--item", required=True)
    cv.add_argument("--library", required=True)
    cv.add_argument("--seconds", type=float)
    cv.add_argument(
        "--audio-device", help="PortAudio input, or lavfi:... (default: embedded audio)"
    )
    cv.add_argument("--standard", choices=("ntsc", "pal"), help="video standard preset")
    cv.add_argument("--pix-fmt", help="pixel format to request from the device")
    cv.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="FFmpeg device option"
    )
    cv.add_argument("--audio-rate", type=int, default=48000)
    cv.add_argument("--audio-channels", type=int, default=2)
    cv.add_argument("--audio-bits", type=int, default=24, choices=(16, 24))
    cv.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    cv.add_argument("--meta-file")
    cv.add_argument("--profile", default="default")
    cv.add_argument("--no-qc", action="store_true")

    q = sub.add_parser("qc", help="run every check on a file and write the sidecars")
    q.add_argument("file")
    q.add_argument("--profile", default="default", help="profile name or path to a TOML file")
    q.add_argument("--json", dest="json_out", help="also write the QC result here")

    v = sub.add_parser("verify", help="re-hash masters and signed-off QC results")
    v.add_argument("paths", nargs="+")

    r = sub.add_parser("recover", help="repair takes left open by a crash")
    r.add_argument("library")

    rp = sub.add_parser("report", help="write the QC report of a take")
    rp.add_argument("take_dir")
    rp.add_argument("--pdf", action="store_true", help="also write the PDF")

    s = sub.add_parser("signoff", help="record a supervisor's decision")
    s.add_argument("take_dir")
    s.add_argument("--by", required=True)
    s.add_argument("--decision", required=True, choices=("approved", "rejected"))
    s.add_argument("--comment", default="")

    cat = sub.add_parser("catalogue", help="the library's catalogue")
    cat.add_argument("action", choices=("rebuild", "list"))
    cat.add_argument("library")
    cat.add_argument("--url", help="database URL (default: SQLite inside the library)")
    return p


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
