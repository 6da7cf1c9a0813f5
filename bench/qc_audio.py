"""Audio QC speed and memory against FFmpeg on the same program file, in the same run.

``python -m bench qc_audio [--minutes 10] [--rate 96000] [--bits 24] [--channels 2] [--repeat 2]``

Writes an N-minute program-like Broadcast WAV (speech, notes, noise and hiss, 24-bit), then
times ``headblock qc FILE`` against ``ffmpeg -i FILE -af astats,silencedetect,
aphasemeter=video=0,ebur128=peak=true -f null -`` (alternating, best of ``--repeat``, default 3), and
compares the peak RSS of ``headblock qc`` on an N/2-minute and an N-minute file (flat memory).
Goal: QC at most half of FFmpeg's time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
FFMPEG_FILTERS = "astats,silencedetect,aphasemeter=video=0,ebur128=peak=true"


def make_program_file(path: Path, minutes: float, rate: int, bits: int, channels: int) -> Path:
    """Program material in 30 s segments joined by 0.5 s crossfades, written as it is made."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fixtures.signals import program

    seg_s, fade_s = 30.0, 0.5
    fade = int(fade_s * rate)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
    total = int(minutes * 60 * rate)
    written = 0
    tail = None
    kinds = ("mix", "speech", "music")
    with sf.SoundFile(str(path), "w", rate, channels, f"PCM_{bits}", format="WAV") as f:
        i = 0
        while written < total:
            x = program(
                seg_s + fade_s,
                rate,
                channels,
                seed=1000 + i,
                kind=kinds[i % 3],
                level_dbfs=-20 + 3 * np.sin(i),
            )
            if tail is not None:
                x[:fade] = x[:fade] * ramp + tail * (1 - ramp)
            body, tail = x[:-fade], x[-fade:]
            body = body[: total - written]
            f.write(body)
            written += len(body)
            i += 1
    return path


def timed(cmd: list[str]) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit status, CPU seconds user+system) of one child process.

    The peak RSS comes from GNU time (``/usr/bin/time -f %M``) because a child's own
    ``ru_maxrss`` starts from its parent's RSS at fork, which would hide the child's.
    """
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        full = (
            [str(gnu_time), "-f", "%M %U %S", "-o", rss_file.name, *cmd]
            if gnu_time.exists()
            else cmd
        )
        t0 = time.perf_counter()
        p = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        wall = time.perf_counter() - t0
        try:
            rss_kib, user_s, sys_s = rss_file.read().strip().splitlines()[-1].split()
            rss_mib, cpu_s = float(rss_kib) / 1024.0, float(user_s) + float(sys_s)
        except (ValueError, IndexError):
            rss_mib = cpu_s = float("nan")
    return wall, rss_mib, p.returncode, cpu_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench qc_audio", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=96000)
    ap.add_argument("--bits", type=int, default=24, choices=(16, 24))
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed after)")
    ap.add_argument("--no-memory", action="store_true", help="skip the half-length memory run")
    args = ap.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("bench qc_audio: ffmpeg is not installed", file=sys.stderr)
        return 2
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="hb-bench-qc-"))
    work.mkdir(parents=True, exist_ok=True)
    headblock = [sys.executable, "-m", "headblock.cli", "qc"]
    try:
        f = work / "BENCH_t01.wav"
        t0 = time.perf_counter()
        make_program_file(f, args.minutes, args.rate, args.bits, args.channels)
        print(
            f"program file: {args.minutes:g} min, {args.rate} Hz, {args.bits}-bit, {args.channels} ch, "
            f"{f.stat().st_size / 1e6:.0f} MB (made in {time.perf_counter() - t0:.1f} s)"
        )
        ff_cmd = [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(f),
            "-af",
            FFMPEG_FILTERS,
            "-f",
            "null",
            "-",
        ]
        ff, hb = [], []
        for _ in range(max(1, args.repeat)):
            ff.append(timed(ff_cmd))
            hb.append(timed([*headblock, str(f)]))
        best_ff = min(t for t, *_ in ff)
        best_hb = min(t for t, *_ in hb)
        print(
            f"ffmpeg {FFMPEG_FILTERS}: "
            + ", ".join(f"{t:.2f} s" for t, *_ in ff)
            + f"  (peak RSS {ff[0][1]:.0f} MiB)"
        )
        print(
            "headblock qc:  "
            + ", ".join(f"{t:.2f} s (exit {rc})" for t, _, rc, _ in hb)
            + f"  (peak RSS {max(r for _, r, *_ in hb):.0f} MiB)"
        )
        ratio = best_hb / best_ff
        print(
            f"ratio headblock/ffmpeg (best of {len(ff)}): {ratio:.2f}  (goal <= 0.50: {'met' if ratio <= 0.5 else 'NOT met'})"
        )
        cpu_ff = min(c for *_, c in ff)
        cpu_hb = min(c for *_, c in hb)
        print(
            f"CPU time (user+system, best): ffmpeg {cpu_ff:.2f} s, headblock {cpu_hb:.2f} s, ratio {cpu_hb / cpu_ff:.2f}"
        )
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
        if not args.no_memory:
            half = work / "HALF_t01.wav"
            make_program_file(half, args.minutes / 2, args.rate, args.bits, args.channels)
            t_half, rss_half, *_ = timed([*headblock, str(half)])
            rss_full = max(r for _, r, *_ in hb)
            print(
                f"peak RSS: {args.minutes / 2:g} min {rss_half:.0f} MiB ({t_half:.1f} s), "
                f"{args.minutes:g} min {rss_full:.0f} MiB: +{rss_full - rss_half:.0f} MiB for "
                f"{args.minutes / 2:g} more minutes"
            )
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
