"""Screenshots of the bench window during a take on the demo deck (run under Xvfb).

xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m bench._gui_screenshots audio|video|live OUT.png

``live`` is a video take of 25 s: the take's live QC reports the demo deck's planted faults
(``qc_live`` events) on the strip in *Last take* as they fire.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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
        spin(LIVE_TAKE_S)
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


LIVE_TAKE_S = 25.5


if __name__ == "__main__":
    sys.exit(main())
