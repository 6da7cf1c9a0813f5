"""Benchmark: sustained capture + encode of 10-bit 4:2:2 SD at 29.97 fps with live preview.

A source paced in real time, as a card, feeds a real ``VideoTake`` (FFV1 + PCM in Matroska,
framemd5 while writing) while a preview thread pulls the newest frame's native planes at
30 fps and scales them for display, as the window does. Two sources:

* ``tape`` (default): the demo deck, program-like pictures with VHS-like noise (band-limited
  as a deck's is, about 42 dB below the video range); FFV1 gives about 2.2:1 on it, the
  middle of what archives report for analogue SD.
* ``white-noise``: lavfi ``testsrc2`` with per-pixel white noise, a worst case no deck
  produces (about 1.7:1), through the real FFmpeg input-device path.

Before the live run the master writer alone encodes pre-made frames of the same source,
and ``ffmpeg -c:v ffv1`` with the same settings encodes the same frames: the ratio is
Headblock's writer (FFV1 + mux + framemd5) against FFmpeg's own encoder.

Reported: encoder capacity (frames per second of encoder busy time) and its headroom over
real time, the queue depth peak, process CPU use and CPU time per frame (the figure that
does not depend on what else runs), frames lost, the bit rate, and the system load (the
machine may be shared: busy time stretches when other processes take the cores). Usage::

    python -m bench capture_video [--source tape|white-noise] [--seconds 600] [--keep] [--no-qc]

With live QC (the default) it also reports the seconds from the last frame written to the QC
verdict, and how many frames the live analysis took, dropped and left for after Stop.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

WHITE_NOISE = (
    "lavfi:testsrc2=size=720x486:rate=30000/1001,format=yuv422p10le,"
    "noise=alls=14:allf=t+u,format=yuv422p10le[out0];"
    "sine=frequency=1000:sample_rate=48000,aformat=channel_layouts=stereo[out1]"
)
SOURCES = {"tape": "demo:ntsc", "white-noise": WHITE_NOISE}
REAL_TIME_FPS = 30000 / 1001


def _preview_loop(take, stop: threading.Event, counts: dict) -> None:
    import cv2

    from capture.priority import DISPLAY_NICE, lower_this_thread

    lower_this_thread(DISPLAY_NICE)  # as the window's display does (capture/priority.py)
    period = 1 / 30
    nxt = time.monotonic()
    while not stop.is_set():
        p = take.latest_frame()
        if p is not None:
            y8 = (p.y >> (p.bit_depth - 8)).astype("uint8") if p.bit_depth > 8 else p.y
            cv2.resize(y8, (p.width // 2, p.height // 2), interpolation=cv2.INTER_AREA)
            counts["previews"] += 1
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            nxt = time.monotonic()


def _frames(source: str, n: int = 30) -> list:
    """``n`` distinct frames of a source, made ahead (so making them is not timed)."""
    import av

    if source.startswith("demo:"):
        from capture.demo_video import DemoPicture, _fill

        pic = DemoPicture(720, 486)
        frames = []
        for i in range(n):
            f = av.VideoFrame(720, 486, "yuv422p10le")
            _fill(f, pic.planes(i, 1.0 + i / REAL_TIME_FPS), False)
            frames.append(f)
        return frames
    graph = source[len("lavfi:") :].split("[out0]")[0]
    with av.open(graph, format="lavfi") as c:
        return [f for _, f in zip(range(n), c.decode(video=0), strict=False)]


def _ffmpeg_reference(frames: list, n_frames: int, tmp: Path) -> dict:
    """FFmpeg's own FFV1 encoder, same settings and threads, on the same frames."""
    import subprocess

    import numpy as np

    raw = tmp / "frames.yuv"
    packed = []
    for f in frames:
        for plane in f.planes:
            rows = np.frombuffer(plane, np.uint16).reshape(-1, plane.line_size // 2)
            packed.append(rows[: plane.height, : plane.width].tobytes())
    per_frame = [b"".join(packed[3 * k : 3 * k + 3]) for k in range(len(frames))]
    with raw.open("wb") as fh:
        for i in range(n_frames):
            fh.write(per_frame[i % len(frames)])
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv422p10le",
        "-s", "720x486", "-r", "30000/1001", "-i", str(raw), "-c:v", "ffv1", "-level", "3",
        "-g", "1", "-slices", "24", "-slicecrc", "1", "-threads", str(os.cpu_count() or 1),
        str(tmp / "ref.mkv"),
    ]  # fmt: skip
    subprocess.run(["cat", str(raw)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
    t0 = time.perf_counter()
    r0 = os.times()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    r1 = os.times()
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    size = (tmp / "ref.mkv").stat().st_size
    return {
        "ffmpeg_fps": n_frames / wall,
        "ffmpeg_cpu_ms_per_frame": 1000 * cpu / n_frames,
        "bitrate_mbit_s": size * 8 / (n_frames / REAL_TIME_FPS) / 1e6,
    }


def encoder_only(source: str = SOURCES["tape"], n_frames: int = 300) -> dict:
    """The master writer alone (FFV1 + mux + framemd5) on pre-made frames, unpaced, and
    FFmpeg's encoder on the same frames."""
    from capture.mkv_writer import MkvWriter, VideoParams
    from capture.video_input import STANDARDS

    frames = _frames(source)
    std = STANDARDS["ntsc"]
    params = VideoParams(
        width=std.width, height=std.height, pix_fmt="yuv422p10le", rate=std.rate,
        field_order=std.field_order, display_aspect=std.display_aspect,
        color_primaries=std.color_primaries, color_trc=std.color_trc, colorspace=std.colorspace,
    )  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="hb-enc-"))
    try:
        w = MkvWriter(tmp / "E_t01.mkv", params, framemd5_path=tmp / "E_t01.framemd5")
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n_frames):
            w.write_video(frames[i % len(frames)], i)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        w.close()
        ref = _ffmpeg_reference(frames, n_frames, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fps = n_frames / wall
    return {
        "encoder_only_fps": round(fps, 1),
        "encoder_only_headroom_x": round(fps / REAL_TIME_FPS, 2),
        "encoder_only_cpu_ms_per_frame": round(1000 * cpu / n_frames, 1),
        "ffmpeg_ffv1_fps_same_frames": round(ref["ffmpeg_fps"], 1),
        "ffmpeg_ffv1_cpu_ms_per_frame": round(ref["ffmpeg_cpu_ms_per_frame"], 1),
        "encoder_vs_ffmpeg_x": round(fps / ref["ffmpeg_fps"], 2),
        "ffv1_bitrate_mbit_s": round(ref["bitrate_mbit_s"], 1),
        "ffv1_ratio_vs_10bit_uncompressed": round(
            720 * 486 * 20 * REAL_TIME_FPS / 1e6 / ref["bitrate_mbit_s"], 2
        ),
        "encoder_only_load_avg": round(os.getloadavg()[0], 2),
    }


def _live_counts(take) -> dict | None:
    """What the live analysis took and what it left for after Stop (from the QC result)."""
    import json

    qc_json = take.paths.qc_json if take.paths else None
    if qc_json is None or not qc_json.exists():
        return None
    timing = json.loads(qc_json.read_text()).get("stats", {}).get("video", {}).get("timing", {})
    return {k[5:]: v for k, v in timing.items() if k.startswith("live_")}


def run(seconds: float, library: Path, source: str = SOURCES["tape"], qc: bool = True) -> dict:
    import psutil

    from capture.video.take import VideoTake, VideoTakeSettings

    proc = psutil.Process()
    settings = VideoTakeSettings(
        device=source, library=library, item="BENCH", seconds=seconds, run_qc=qc
    )
    take = VideoTake(settings)
    load0 = os.getloadavg()
    cpu0 = proc.cpu_times()
    t0 = time.monotonic()
    take.start()
    stop = threading.Event()
    counts = {"previews": 0}
    preview = threading.Thread(target=_preview_loop, args=(take, stop, counts), daemon=True)
    preview.start()
    samples = []
    while not take.wait(1.0):
        st = take.status()
        samples.append((time.monotonic() - t0, st.encoder_queue_depth, os.getloadavg()[0]))
        if st.state in ("finishing", "done", "failed") or st.frames_written >= take.target_frames:
            break
    t_capture = time.monotonic() - t0
    cpu1 = proc.cpu_times()
    stop.set()
    preview.join()

    # the verdict: from the last frame written or dropped (the take's own end) to the status
    def ended(st) -> bool:
        return st.frames_written + st.frames_dropped >= (take.target_frames or 0)

    while not ended(take.status()) and not take.wait(0.02):
        pass
    t_last = time.monotonic()
    verdict_s = None
    while qc and not take.wait(0.02):
        if take.status().verdict is not None:
            verdict_s = time.monotonic() - t_last
            break
    take.wait()
    t_total = time.monotonic() - t0
    st = take.status()
    if take.error:
        raise take.error
    size = take.master.stat().st_size
    cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    capacity = st.frames_written / st.encoder_busy_s if st.encoder_busy_s else 0.0
    return {
        "seconds": seconds,
        "frames_written": st.frames_written,
        "frames_expected": take.target_frames,
        "frames_lost": st.frames_lost,
        "frames_dropped": st.frames_dropped,
        "encoder_capacity_fps": round(capacity, 1),
        "headroom_x_real_time": round(capacity / REAL_TIME_FPS, 2),
        "queue_depth_peak": st.encoder_queue_peak,
        "queue_capacity": settings.queue_frames,
        "process_cpu_percent_of_one_core": round(100 * cpu_s / t_capture, 1),
        # load-independent: CPU per frame (source generation and preview included) and the
        # frame rate that CPU cost allows on all cores of an otherwise idle machine
        "cpu_ms_per_frame": round(1000 * cpu_s / max(st.frames_received, 1), 2),
        "cpu_bound_fps_idle_machine": round(
            (os.cpu_count() or 1) * max(st.frames_received, 1) / max(cpu_s, 1e-9), 1
        ),
        "cores": os.cpu_count(),
        "bitrate_mbit_s": round(size * 8 / (st.frames_written / REAL_TIME_FPS) / 1e6, 1),
        "previews": counts["previews"],
        "preview_fps": round(counts["previews"] / t_capture, 1),
        "load_avg_start": [round(x, 2) for x in load0],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "capture_wall_s": round(t_capture, 1),
        "finish_wall_s": round(t_total - t_capture, 1),
        "live_qc": qc,
        "verdict_s_after_last_frame": None if verdict_s is None else round(verdict_s, 2),
        "live_qc_counts": _live_counts(take),
        "essence_verified": take.fixity_ok,  # packets read back (no decode): finish_wall_s
        "master": str(take.master),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench capture_video", description=__doc__.split("\n")[0])
    ap.add_argument("--source", choices=sorted(SOURCES), default="tape", help="(default tape)")
    ap.add_argument("--seconds", type=float, default=600.0, help="take length (default 600)")
    ap.add_argument("--library", help="where the take goes (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the take")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--no-qc", action="store_true", help="record without live QC")
    args = ap.parse_args(argv)
    tmp = None
    library = Path(args.library) if args.library else Path(tempfile.mkdtemp(prefix="hb-bench-"))
    if not args.library:
        tmp = library
    try:
        source = SOURCES[args.source]
        result = {"source": args.source}
        result.update(encoder_only(source))
        result.update(run(args.seconds, library, source, qc=not args.no_qc))
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:34s} {value}")
    return 0 if result["frames_lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
