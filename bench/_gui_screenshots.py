"""Screenshots of the bench window during a take on the demo deck (run under Xvfb).

xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m bench._gui_screenshots audio|video|live OUT.png

``live`` is a video take with QC events fed into the take's event path from a thread of its
own, as the live QC engine sends them (``qc_live``), to show the strip of live events.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    kind, out = argv[0], Path(argv[1])
    tmp = Path(tempfile.mkdtemp(prefix="hbshot"))
    os.environ["HEADBLOCK_CONFIG"] = str(tmp / "settings.toml")
    from app.main import MainWindow, favour_the_take, make_app
    from metadata.settings import load_settings

    app = make_app()
    favour_the_take()  # as `headblock gui` does
    s = load_settings()
    s.library = str(tmp / "lib")
    s.audio.device = "demo"
    s.item = "ARC-0042" if kind == "audio" else "VHS-0117"
    if kind in ("video", "live"):
        s.mode, s.video.device, s.preset = "video", "demo:ntsc", "VHS, SP"
        s.meta = {"carrier": "vhs", "tape_speed": "SP", "deck": "Panasonic AG-1980",
                  "tbc": "DPS-290", "technician": "A. Archivist", "title": "Town meeting 1987"}  # fmt: skip
    else:
        s.mode, s.video.device, s.preset = "audio", "", '1/4" reel, 7.5 ips, NAB, half-track'
        s.meta = {"carrier": "open_reel", "tape_speed": "7.5 ips", "track_config": "half-track stereo",
                  "equalisation": "NAB", "noise_reduction": "none", "deck": "Studer A807",
                  "ad_interface": "RME Fireface UFX", "technician": "A. Archivist",
                  "title": "Oral history interview, reel 2"}  # fmt: skip
    w = MainWindow(s)
    w.setGeometry(0, 0, 1600, 1000)
    w.show()

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    spin(1.0)
    if kind == "audio":
        w.bench.set_armed(True)
        spin(1.0)
    w.bench.record()
    if kind == "live":
        feeder = threading.Thread(target=_feed_live_events, args=(w.bench.controller,))
        feeder.start()
        spin(LIVE_TAKE_S)
        feeder.join()
    else:
        spin(7.0 if kind == "video" else 5.0)
    out.parent.mkdir(parents=True, exist_ok=True)
    if os.environ.get("DISPLAY"):
        subprocess.run(["import", "-window", "root", str(out)], check=True)
    else:
        w.grab().save(str(out))
    w.bench.controller.qc_after_take = False
    w.bench.confirm = lambda text: True
    w.close()
    print(f"wrote {out}")
    return 0


# (check, start_s, end_s, channel, severity, detail) of a worn VHS tape; each is sent once
# its end has been captured (a growing one again as it grows), as the live QC engine would.
LIVE_EVENTS = [
    ("video_dropout", 1.6, 1.7, None, "warn", "2 of 486 lines lost"),
    ("clipping", 3.02, 3.03, 1, "warn", "3 samples at full scale"),
    ("out_of_range", 4.5, 5.5, None, "warn", "luma above 940 on 2% of the picture"),
    ("out_of_range", 4.5, 8.8, None, "warn", "luma above 940 on 3% of the picture"),
    ("video_dropout", 9.7, 9.8, None, "fail", "31 of 486 lines lost"),
    ("click", 11.3, 11.31, 2, "warn", "impulse 14 dB above the program"),
    ("line_repetition", 13.5, 14.1, None, "warn", "line 212 repeated"),
    ("video_dropout", 15.6, 15.7, None, "warn", "4 of 486 lines lost"),
    ("dropout", 17.0, 17.4, 2, "fail", "level fell 38 dB for 0.4 s"),
    ("clipping", 18.7, 18.8, 1, "fail", "21 samples at full scale"),
    ("video_dropout", 20.1, 20.2, None, "warn", "6 of 486 lines lost"),
    ("click", 21.9, 21.91, 1, "warn", "impulse 11 dB above the program"),
    ("video_dropout", 23.4, 23.5, None, "fail", "27 of 486 lines lost"),
]
LIVE_TAKE_S = 25.5


def _feed_live_events(controller) -> None:
    """Send ``LIVE_EVENTS`` as the live QC engine would: from a thread of its own, through the
    take's event callback, each about a second after its end was captured."""
    started = time.monotonic()
    on_event = controller.take.on_event
    for check, start_s, end_s, channel, severity, detail in LIVE_EVENTS:
        time.sleep(max(0.0, started + end_s + 0.8 - time.monotonic()))
        fields = {"check": check, "start_s": start_s, "end_s": end_s, "channel": channel,
                  "severity": severity, "detail": detail}  # fmt: skip
        on_event("qc_live", fields)


if __name__ == "__main__":
    sys.exit(main())
