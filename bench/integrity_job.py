"""Benchmark: the after-take integrity job (``capture.integrity``) on an SD take, alone and
while the next take records.

A take of ``--minutes`` (default 1) of NTSC from the demo deck (FFV1 10-bit 4:2:2, 720x486,
PCM), captured in real time by a real ``VideoTake``; then:

* ``alone``: ``spawn_integrity`` on it (the master read once for its MD5 and its packets, every
  frame decoded against the ``.framemd5``), at idle priority with nothing else running;
* ``during-take``: the same job started as a second take of the same length starts recording
  in this process: the frames that take lost, and how long the job took while it yielded.

Reported: wall and CPU seconds of the job, × real time, the job's state, the frames lost by
each take. The machine may be shared: the load average is printed. Usage::

    python -m bench integrity_job [--minutes 1] [--keep] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def _take(library: Path, item: str, seconds: float):
    from capture.video.take import VideoTake, VideoTakeSettings

    take = VideoTake(
        VideoTakeSettings(
            device="demo:ntsc", library=library, item=item, seconds=seconds, run_qc=False
        )
    )
    take.start()
    return take


def _lost(take) -> dict:
    st = take.status()
    return {"frames_written": st.frames_written, "frames_lost": st.frames_lost,
            "frames_dropped": st.frames_dropped}  # fmt: skip


def _job(take) -> dict:
    from capture.integrity import spawn_integrity

    started = time.monotonic()
    job = spawn_integrity(take.paths.directory, take.result.record, take.writer.stats.essence_md5)
    return {"job": job, "started": started}


def _job_figures(job, seconds: float) -> dict:
    r = job.result
    return {
        "state": r.state,
        "detail": r.detail[:120],
        "wall_s": round(r.seconds, 2),
        "cpu_s": round(r.cpu_s, 2),
        "x_real_time": round(seconds / r.seconds, 2) if r.seconds else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench integrity_job")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    scratch = Path(tempfile.mkdtemp(prefix="hb-integrity-"))
    out: dict = {"minutes": args.minutes, "loadavg_before": os.getloadavg()}
    try:
        first = _take(scratch, "FIRST", seconds)
        first.wait()
        out["first_take"] = _lost(first)
        alone = _job(first)
        alone["job"].wait()
        out["alone"] = _job_figures(alone["job"], seconds)

        during = _job(first)
        second = _take(scratch, "SECOND", seconds)
        second.wait()
        out["second_take"] = _lost(second)
        out["job_done_before_second_take_ended"] = during["job"].done()
        during["job"].wait()
        out["during_take"] = _job_figures(during["job"], seconds)
        out["loadavg_after"] = os.getloadavg()
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            out["kept"] = str(scratch)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
    return 0
