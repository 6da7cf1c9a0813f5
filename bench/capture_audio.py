"""Benchmark: sustained audio capture through a real PortAudio device (a private PulseAudio).

For each configuration (default 96 kHz/24-bit/2 ch, then 192 kHz/24-bit/8 ch) a real
``headblock capture audio --device pulse`` process records for ``--seconds`` while a player
feeds a program signal into the null sink. Sampled once a second with psutil: the capture
process's CPU share (of one core) and resident memory. Reported from the take: overflows and
frames lost (goal 0), frames written against the duration asked, and with live QC (the
default) the seconds from the master closed to the QC verdict and to the end of the read-back
of the master, from the take's log. Usage::

    python -m bench capture_audio [--seconds 180] [--configs 96000x2,192000x8] [--no-qc]
                                  [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _player(server, sink: str, rate: int, channels: int, stop: threading.Event) -> None:
    """Feed the demo program into ``sink`` in real time until ``stop``."""
    from capture.demo import demo_program
    from tests.fixtures.pulse import channel_map, to_s32

    cmd = ["pacat", "--playback", "--raw", "--format=s32le", f"--rate={rate}",
           f"--channels={channels}", f"--device={sink}", "--latency-msec=100"]  # fmt: skip
    if channel_map(channels):
        cmd.append(f"--channel-map={channel_map(channels)}")
    proc = subprocess.Popen(cmd, env=server.env, stdin=subprocess.PIPE)
    # one second of program, repeated: the player must stay cheap next to the capture
    block = to_s32(demo_program(rate, channels, 0, rate, seed=1)).tobytes()
    try:
        while not stop.is_set():
            proc.stdin.write(block)  # pacat paces the pipe at the sink's rate
    except (BrokenPipeError, ValueError):
        pass
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.terminate()
        proc.wait(5)


def verdict_delay(events) -> dict:
    """From the take's log: seconds from the master closed (``take_stop``) to the QC verdict,
    and to the end of the read-back (``fixity``)."""
    from metadata.clock import parse_utc

    at = {
        e.event: parse_utc(e.time) for e in events if e.event in ("take_stop", "verdict", "fixity")
    }
    if "take_stop" not in at:
        return {}
    out = {}
    for name in ("verdict", "fixity"):
        if name in at and at[name] and at["take_stop"]:
            out[f"{name}_s_after_stop"] = round((at[name] - at["take_stop"]).total_seconds(), 2)
    return out


def run_config(
    server, rate: int, channels: int, seconds: float, library: Path, qc: bool = True
) -> dict:
    import psutil

    from metadata.take.log import read_log

    sink = "vsink" if (rate, channels) == (96000, 2) else f"vsink_{rate}_{channels}"
    if sink != "vsink":
        server.add_sink(sink, rate, channels)
        server.start_keeper(sink, rate, channels)
    server.use_source(f"{sink}.monitor")
    stop = threading.Event()
    player = threading.Thread(target=_player, args=(server, sink, rate, channels, stop))
    player.start()
    item = f"BENCH_{rate}_{channels}"
    env = dict(server.env)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "headblock", "capture", "audio", "--device", "pulse",
           "--item", item, "--library", str(library), "--rate", str(rate), "--bits", "24",
           "--channels", str(channels), "--seconds", str(seconds)]  # fmt: skip
    if not qc:
        cmd.append("--no-qc")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    samples = []  # (t, cpu_s, rss)
    last = None
    while proc.poll() is None:
        try:
            cpu = ps.cpu_times()
            rss = ps.memory_info().rss
        except psutil.Error:
            break
        now = time.monotonic() - t0
        samples.append((now, cpu.user + cpu.system, rss))
        if last is None or now - last >= 30:
            print(f"  {rate} Hz {channels} ch: {now:6.0f} s, RSS {rss / 2**20:.1f} MiB", flush=True)
            last = now
        time.sleep(1.0)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    stop.set()
    player.join(10)
    if sink != "vsink":
        server.remove_sink(sink)  # before the default changes: see tests/fixtures/pulse.py
        server.use_source("vsink.monitor")
    else:
        server.use_source("vsink.monitor")
    take_dir = Path(out.decode().strip().splitlines()[-1]) if out.strip() else None
    events = read_log(next(take_dir.glob("*.log"))) if take_dir else []
    losses = [e.fields for e in events if e.event in ("overflow", "gap")]
    stop_ev = next((e.fields for e in events if e.event == "take_stop"), {})
    # while recording: skip the first 5 s (start-up, imports) and stop at `seconds` after
    # the process started (recording began later, so the finish's file read is excluded)
    rec = [s for s in samples if 5.0 <= s[0] <= seconds]
    cpu_share = (rec[-1][1] - rec[0][1]) / (rec[-1][0] - rec[0][0]) if len(rec) > 2 else None
    steady = [s for s in rec if s[0] >= 10.0] or rec
    rss = np.array([s[2] for s in steady], dtype=np.float64) / 2**20
    slope = None
    if len(steady) > 10:
        t = np.array([s[0] for s in steady])
        slope = float(np.polyfit(t / 60.0, rss, 1)[0])  # MiB per minute
    return {
        "config": f"{rate} Hz / 24-bit / {channels} ch",
        "seconds": seconds,
        "exit_status": proc.returncode,
        "wall_s": round(wall, 1),
        "frames_written": stop_ev.get("frames"),
        "frames_expected": int(round(seconds * rate)),
        "overflows": len(losses),
        "frames_lost": int(sum(int(x.get("frames_lost") or 0) for x in losses)),
        "cpu_share_of_one_core": None if cpu_share is None else round(cpu_share, 4),
        "rss_mib_first": round(float(rss[0]), 1) if len(rss) else None,
        "rss_mib_last": round(float(rss[-1]), 1) if len(rss) else None,
        "rss_mib_max": round(float(rss.max()), 1) if len(rss) else None,
        "rss_slope_mib_per_min": None if slope is None else round(slope, 3),
        "live_qc": qc,
        **verdict_delay(events),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "stderr_tail": err.decode(errors="replace").strip().splitlines()[-1:] if err else [],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench capture_audio", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=180.0, help="take length (default 180)")
    ap.add_argument("--configs", default="96000x2,192000x8", help="RATExCHANNELS,...")
    ap.add_argument("--library", help="where the takes go (default: a temporary folder)")
    ap.add_argument("--json", dest="json_out", help="also write the results here")
    ap.add_argument("--no-qc", action="store_true", help="record without live QC")
    args = ap.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.fixtures.pulse import PrivatePulse, pulseaudio_available

    if not pulseaudio_available():
        print("bench capture_audio: pulseaudio is not installed", file=sys.stderr)
        return 2
    configs = []
    for part in args.configs.split(","):
        rate, channels = part.lower().split("x")
        configs.append((int(rate), int(channels)))
    tmp = None
    library = Path(args.library) if args.library else Path(tmp := tempfile.mkdtemp(prefix="hbb"))
    results = []
    try:
        with PrivatePulse() as server:
            for rate, channels in configs:
                print(
                    f"capture {rate} Hz / 24-bit / {channels} ch for {args.seconds:g} s", flush=True
                )
                results.append(
                    run_config(server, rate, channels, args.seconds, library, not args.no_qc)
                )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    head = (
        f"{'configuration':<28}{'overflows':>10}{'lost':>8}{'CPU':>8}  {'RSS MiB':<28}"
        f"{'MiB/min':>8}{'verdict s':>10}{'fixity s':>9}"
    )
    print(head)
    for r in results:
        cpu = (
            "?"
            if r["cpu_share_of_one_core"] is None
            else f"{100 * r['cpu_share_of_one_core']:.1f}%"
        )
        rss = f"{r['rss_mib_first']}->{r['rss_mib_last']} (max {r['rss_mib_max']})"
        print(f"{r['config']:<28}{r['overflows']:>10}{r['frames_lost']:>8}{cpu:>8}  {rss:<28}"
              f"{r['rss_slope_mib_per_min']!s:>8}{r.get('verdict_s_after_stop', '-')!s:>10}"
              f"{r.get('fixity_s_after_stop', '-')!s:>9}")  # fmt: skip
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    ok = all(r["exit_status"] == 0 and r["frames_written"] == r["frames_expected"] for r in results)
    return 0 if ok else 1
