"""The bench window under capture load: display rate, sample→screen latency, nothing lost.

A video take of SD NTSC from the demo deck with 96 kHz/24-bit stereo audio (the demo deck's
audio input, or PortAudio ``pulse`` on a private PulseAudio server fed with program noise) is
recorded through the real window, with and without the GUI thread stalled (busy, holding the
interpreter as a slow redraw would) for ``--stall-s`` seconds. A headless take of the same
sources, without the window, gives the machine's own baseline.

Figures: display frame rate (new meter frames painted per second, outside the stall), sample→screen
latency (newest frame delivered to the engine → meter painted, plus the device's reported
input latency for PortAudio), frames and samples lost (take status, capture log, framemd5).

    python -m bench gui_display [--seconds 20] [--audio demo|pulse] [--stall-s 2] [--no-baseline]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

GOAL_FPS = 30.0


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench gui_display")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each take")
    p.add_argument("--audio", choices=("demo", "pulse"), default="demo")
    p.add_argument("--video", default="demo:ntsc", help="video device, or 'none' for audio only")
    p.add_argument("--stall-s", type=float, default=2.0)
    p.add_argument("--no-baseline", action="store_true", help="skip the headless take")
    p.add_argument(
        "--same-priority", action="store_true", help="leave the window's thread at the take's"
    )
    p.add_argument("--no-qc", action="store_true", help="takes without live QC")
    p.add_argument("--no-stall", action="store_true", help="skip the take with a GUI stall")
    return p.parse_args(argv)


def _spin(app, seconds: float) -> None:
    """Run the window's own event loop for ``seconds`` (as ``app.exec()`` would)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _log_losses(log_path: Path) -> dict[str, int]:
    from metadata.take.log import read_log

    out = {"overflow": 0, "gap": 0, "frame_drop": 0}
    for ev in read_log(log_path):
        if ev.event in out:
            out[ev.event] += int(ev.fields.get("frames_lost", 0) or 0) or 1
    return out


def _framemd5_frames(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(
        1
        for line in path.read_text().splitlines()
        if line and not line.startswith("#") and line.split(",")[0].strip() == "0"
    )


def run_window(args, library: Path, stall: bool) -> dict:
    from PySide6.QtCore import QEvent, QObject

    from app.main import MainWindow, favour_the_take, make_app
    from metadata.settings import load_settings

    app = make_app()
    if not args.same_priority:
        favour_the_take()  # as `headblock gui` does
    s = load_settings()
    s.library = str(library)
    s.item = "BENCH-STALL" if stall else "BENCH"
    s.audio.device, s.audio.rate_hz, s.audio.bits, s.audio.channels = args.audio, 96000, 24, 2
    video = args.video != "none"
    s.mode = "video" if video else "audio"
    s.video.device = args.video if video else ""
    s.video.audio_device = args.audio if video else ""
    w = MainWindow(s)
    w.setGeometry(0, 0, 1600, 1000)
    w.show()
    bench = w.bench
    ctl = bench.controller
    ctl.qc_after_take = not args.no_qc  # live QC: the verdict at Stop
    paints: list[float] = []
    latencies: list[float] = []
    last = {"snap": None}

    def on_snap(snap):
        last["snap"] = snap

    ctl.audioSnapshot.connect(on_snap)

    class PaintProbe(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Paint:
                now = time.monotonic()
                snap = last["snap"]
                if snap is not last.get("painted"):  # a new meter frame reached the screen
                    last["painted"] = snap
                    paints.append(now)
                if snap is not None and snap.newest_frame_at:
                    latencies.append((now, now - snap.newest_frame_at))
            return False

    probe = PaintProbe()
    bench.meters.bars[0].installEventFilter(probe)
    video_paints: list[float] = []

    class VideoProbe(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Paint:
                video_paints.append(time.monotonic())
            return False

    vprobe = VideoProbe()
    bench.preview.viewport().installEventFilter(vprobe)
    _spin(app, 1.0)
    if not ctl.record():
        raise SystemExit(f"the take did not start: {bench.banner.text()}")
    t_start = time.monotonic()
    cpu_start = time.thread_time()  # this is the window's thread
    stall_window = None
    depths: list[tuple[float, int]] = []

    def sample_queue():
        take = ctl.take
        if take is not None and hasattr(take, "status"):
            depths.append((time.monotonic() - t_start, take.status().encoder_queue_depth))

    from PySide6.QtCore import QTimer

    sampler = QTimer()
    sampler.timeout.connect(sample_queue)
    sampler.start(500)

    def busy():  # the GUI thread holds the interpreter, as a slow redraw would
        nonlocal stall_window
        t0 = time.monotonic()
        end = t0 + args.stall_s
        while time.monotonic() < end:
            sum(range(2000))
        stall_window = (t0, time.monotonic())

    if stall:
        QTimer.singleShot(int(args.seconds * 400), busy)
    _spin(app, args.seconds)
    sampler.stop()
    gui_cpu_s = time.thread_time() - cpu_start - (args.stall_s if stall else 0.0)
    status = ctl.take.status()
    audio_src = ctl._audio_source()
    audio_stats = audio_src.stats() if audio_src is not None else None
    device_latency_s = 0.0
    stream = getattr(audio_src, "_stream", None)
    if stream is None:  # a video take's PortAudio input sits behind its audio feed
        feed = getattr(ctl.take, "_feed", None)
        stream = getattr(getattr(feed, "input", None), "_stream", None)
    if stream is not None:
        device_latency_s = float(stream.latency)
    closed = {}
    t_stop = time.monotonic()
    ctl.takeClosed.connect(lambda o: closed.setdefault("o", o))
    ctl.stop()
    deadline = time.monotonic() + 300
    while "o" not in closed and time.monotonic() < deadline:
        _spin(app, 0.05)
    outcome = closed.get("o")
    verdict_s = time.monotonic() - t_stop if outcome is not None else None
    t_end = t_start + args.seconds

    def steady(t: float) -> bool:  # recording, settled, not stalled
        if not t_start + 1.0 <= t <= t_end:
            return False
        return not (stall_window and stall_window[0] <= t <= stall_window[1] + 0.2)

    def rate(times):
        inside = [t for t in times if steady(t)]
        span = t_end - t_start - 1.0
        if stall_window:
            span -= stall_window[1] - stall_window[0] + 0.2
        return len(inside) / span if span > 0 else 0.0

    lat_ms = sorted(x * 1000 for t, x in latencies if steady(t))
    paths = ctl.take_paths if ctl.take_paths else None
    take_dir = outcome.take_dir if outcome else None
    log = _log_losses(take_dir / f"{take_dir.name}.log") if take_dir else {}
    fmd5 = _framemd5_frames(take_dir / f"{take_dir.name}.framemd5") if take_dir and video else None
    w.bench.confirm = lambda text: True
    w.close()
    del paths
    return {
        "run": "window + stall" if stall else "window",
        "display_fps": rate(paints),
        "picture_fps": rate(video_paints) if video else None,
        "tick_fps": rate(list(ctl.tick_times)),
        "gui_thread_cpu_pct": 100 * gui_cpu_s / (t_stop - t_start - (args.stall_s if stall else 0)),
        "latency_ms_median": statistics.median(lat_ms) if lat_ms else None,
        "latency_ms_p95": lat_ms[int(len(lat_ms) * 0.95)] if lat_ms else None,
        "device_latency_ms": device_latency_s * 1000,
        "stall_s": (stall_window[1] - stall_window[0]) if stall_window else 0.0,
        "frames_lost": getattr(status, "frames_lost", 0),
        "frames_dropped": getattr(status, "frames_dropped", 0),
        "frames_received": getattr(status, "frames_received", None),
        "framemd5_frames": fmd5,
        "samples_lost": audio_stats.frames_lost if audio_stats else 0,
        "log_losses": log,
        "encoder_queue_peak": getattr(status, "encoder_queue_peak", None),
        "encoder_headroom_x": round(status.frames_written / status.encoder_busy_s * 1001 / 30000, 2)
        if getattr(status, "encoder_busy_s", 0)
        else None,
        "verdict": outcome.verdict if outcome is not None else None,
        "verdict_s_after_stop": None if verdict_s is None else round(verdict_s, 2),
        "queue_depth_by_5s": [
            max((d for t, d in depths if k <= t < k + 5), default=0)
            for k in range(0, int(args.seconds), 5)
        ],
        "encode_fps": getattr(status, "encode_fps", None),
        "audio_s_in_file": (_wav_frames(take_dir) or 0) / 96000 if take_dir and not video else None,
        "take_wall_s": t_stop - t_start,
    }


def _wav_frames(take_dir: Path) -> int | None:
    import soundfile

    wav = take_dir / f"{take_dir.name}.wav"
    return soundfile.info(str(wav)).frames if wav.exists() else None


def run_headless(args, library: Path) -> dict:
    from capture.video.take import VideoTake, VideoTakeSettings

    s = VideoTakeSettings(
        device=args.video, library=library, item="BENCH-HEADLESS", seconds=args.seconds,
        audio_device=args.audio, audio_rate_hz=96000, audio_channels=2, audio_bits=24,
        run_qc=False,
    )  # fmt: skip
    take = VideoTake(s)
    take.start()
    take.wait(args.seconds + 300)
    st = take.status()
    take_dir = take.paths.directory
    return {
        "run": "headless (no window)",
        "frames_lost": st.frames_lost,
        "frames_dropped": st.frames_dropped,
        "frames_received": st.frames_received,
        "framemd5_frames": _framemd5_frames(take.paths.framemd5),
        "log_losses": _log_losses(take.paths.log),
        "encoder_queue_peak": st.encoder_queue_peak,
        "encode_fps": st.encode_fps,
        "take_dir": str(take_dir),
    }


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    tmp = Path(tempfile.mkdtemp(prefix="hbguibench"))
    os.environ["HEADBLOCK_CONFIG"] = str(tmp / "settings.toml")
    server = player = None
    if args.audio == "pulse":
        import numpy as np

        from tests.fixtures.pulse import PrivatePulse

        server = PrivatePulse().start()
        n = int((args.seconds * 3 + 60) * 96000)
        rng = np.random.default_rng(0)
        noise = (rng.standard_normal((n, 2)) * 0.05).astype(np.float32)
        player = server.play(noise, 96000, block=False)
    results = []
    try:
        if not args.no_baseline and args.video != "none":
            results.append(run_headless(args, tmp / "lib"))
        results.append(run_window(args, tmp / "lib", stall=False))
        if not args.no_stall:
            results.append(run_window(args, tmp / "lib", stall=True))
    finally:
        if player is not None:
            player.kill()
            player.wait()
        if server is not None:
            server.stop()
    load = os.getloadavg()
    print(f"gui_display: {args.seconds:g} s takes, video {args.video}, audio {args.audio} "
          f"96 kHz/24-bit stereo, load average {load[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    keys = ("display_fps", "tick_fps", "picture_fps", "gui_thread_cpu_pct", "latency_ms_median", "latency_ms_p95",
            "device_latency_ms", "stall_s", "frames_received", "framemd5_frames", "frames_lost",
            "frames_dropped", "samples_lost", "log_losses", "encoder_queue_peak",
            "queue_depth_by_5s", "encode_fps", "encoder_headroom_x", "verdict",
            "verdict_s_after_stop",
            "audio_s_in_file", "take_wall_s")  # fmt: skip
    for r in results:
        print(f"  {r['run']}:")
        for k in keys:
            if k in r:
                print(f"    {k:20} {_fmt(r[k])}")
    window_runs = [r for r in results if r["run"].startswith("window")]
    ok = all(
        r["display_fps"] >= GOAL_FPS
        and not r["frames_lost"]
        and not r["samples_lost"]
        and not any(r["log_losses"].values())
        for r in window_runs
    )
    print(f"  goal (≥{GOAL_FPS:g} fps, nothing lost): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
