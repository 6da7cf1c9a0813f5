"""Benchmark: video QC against FFmpeg on the same FFV1 file, in the same run.

Makes (once, cached) a noisy, programme-like 720x486 10-bit 4:2:2 FFV1/Matroska file (24
slices, slice CRCs, GOP 1) and times, interleaved over ``--rounds`` rounds, each in its own
process so that CPU time and peak memory are its own:

* ``headblock qc``: ``qc.runner.run_qc`` (all video checks, sidecar, qc.json), with a
  ``.framemd5`` beside the master as a take has, so QC also hashes every frame;
* ``ffmpeg -i F -vf signalstats=stat=tout+vrep+brng -f null -``;
* ``ffmpeg -i F -f null -`` (bare decoding: the floor);
* PyAV bare decoding with the decoder settings QC uses;
* the framemd5 re-decode a video take made at close before QC took the check over
  (``metadata.formats.framemd5.compute_framemd5``): the after-take work saved.

Goals: QC at most 0.8x FFmpeg's signalstats time and within 1.2x of bare decoding; memory flat
in file length (peak RSS of QC on a quarter of the file against the whole file). Usage::

    python -m bench qc_video [--seconds 60] [--rounds 2] [--file F.mkv] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "headblock-bench"

_QC_SNIPPET = """
import sys
from qc.runner import run_qc
r = run_qc(sys.argv[1], sys.argv[2])
print(r.verdict, len(r.events))
"""

_PYAV_DECODE = """
import sys
from qc.video_stats import open_video
c, s = open_video(sys.argv[1])
n = sum(1 for _ in c.decode(s))
print(n)
"""

_READBACK = """
import sys
from metadata.formats.framemd5 import compute_framemd5
print(len(compute_framemd5(sys.argv[1])))
"""

_PROFILE = """
[conformance]
enabled = true
[black]
head_tail_warn_s = 10.0
"""


def make_file(path: Path, seconds: float, noise: float = 2.0) -> Path:
    """The benchmark master (programme-like moving picture with tape-like 10-bit noise)."""
    sys.path.insert(0, str(ROOT))
    from tests.qc.videogen import VideoSpec, make_video

    spec = VideoSpec(
        width=720,
        height=486,
        rate=Fraction(30000, 1001),
        frames=int(round(seconds * 30000 / 1001)),
        pix_fmt="yuv422p10le",
        noise=noise,
        slices=24,
        seed=7,
    )
    tmp = path.with_suffix(".part.mkv")
    make_video(tmp, spec)
    tmp.replace(path)
    return path


def _vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of the process's current image (VmHWM; reset by exec)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _measure(cmd: list[str], cwd: Path | None = None) -> dict:
    """Wall time, CPU time (user+sys, its own rusage) and peak RSS of one child process.

    Peak RSS is polled from /proc (VmHWM): rusage's maxrss would count the memory of this
    process that the child had before exec.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True)
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _vm_hwm_mb(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, tail = out.read(), err.read()[-500:]
    if proc.returncode not in (0, 1):  # 1: a QC verdict of fail is still a finished run
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed ({proc.returncode}): {tail}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": peak,
        "stdout": stdout.strip(),
    }


def run(seconds: float, rounds: int, file: Path | None, noise: float) -> dict:
    CACHE.mkdir(exist_ok=True)
    if file is None:
        file = CACHE / f"qcbench_{int(seconds)}s_n{noise:g}.mkv"
        if not file.exists():
            t0 = time.perf_counter()
            print(f"making {file} ({seconds:g} s)...", file=sys.stderr, flush=True)
            make_file(file, seconds, noise)
            print(f"  made in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    file = Path(file)
    work = Path(tempfile.mkdtemp(prefix="qcbench-"))
    try:
        master = work / "BENCH_t01.mkv"
        os.symlink(file, master)
        os.symlink(_framemd5_of(file), work / "BENCH_t01.framemd5")
        bare = work / "bare"  # the same master without its framemd5: QC as it was
        bare.mkdir()
        os.symlink(file, bare / "BENCH_t01.mkv")
        profile = work / "bench.toml"
        profile.write_text(_PROFILE)
        py = sys.executable
        ffmpeg = shutil.which("ffmpeg")
        tools = {
            "headblock_qc": [py, "-c", _QC_SNIPPET, str(master), str(profile)],
            "pyav_decode": [py, "-c", _PYAV_DECODE, str(master)],
            "framemd5_readback": [py, "-c", _READBACK, str(master)],
            "headblock_qc_no_framemd5": [py, "-c", _QC_SNIPPET, str(bare / "BENCH_t01.mkv"),
                                         str(profile)],
        }  # fmt: skip
        if ffmpeg:
            base = [ffmpeg, "-hide_banner", "-nostats", "-v", "error", "-i", str(file)]
            tools["ffmpeg_signalstats"] = base + [
                "-vf",
                "signalstats=stat=tout+vrep+brng",
                "-f",
                "null",
                "-",
            ]
            tools["ffmpeg_decode"] = base + ["-f", "null", "-"]
        times: dict[str, list[dict]] = {k: [] for k in tools}
        for r in range(rounds):
            for name, cmd in tools.items():
                res = _measure(cmd, cwd=ROOT)
                times[name].append(res)
                print(
                    f"round {r + 1}: {name:20s} {res['wall_s']:7.2f} s wall  {res['cpu_s']:7.2f} s CPU",
                    file=sys.stderr,
                    flush=True,
                )
        frames = int(times["pyav_decode"][0]["stdout"] or 0)
        try:  # the QC run's own account: CPU of the measuring thread, time spent waiting
            qc_doc = json.loads((work / "BENCH_t01.qc.json").read_text())
            timing = qc_doc["stats"]["video"]["timing"]
        except (OSError, KeyError, ValueError):
            timing = {}
        summary: dict = {
            "file": str(file),
            "file_mb": round(file.stat().st_size / 1e6, 1),
            "frames": frames,
            "rounds": rounds,
            "ffmpeg": _ffmpeg_version(ffmpeg),
            "load_avg_1m": os.getloadavg()[0],
        }
        if timing and frames:
            summary["qc_last_run"] = {
                "analysis_cpu_ms_per_frame": round(timing["analysis_cpu_s"] / frames * 1e3, 2),
                "process_cpu_ms_per_frame": round(timing["process_cpu_s"] / frames * 1e3, 2),
                "share_of_time_waiting_for_decoder": round(
                    timing["waiting_for_decoder_s"] / timing["wall_s"], 3
                ),
            }
        for name, rs in times.items():
            wall = [x["wall_s"] for x in rs]
            cpu = [x["cpu_s"] for x in rs]
            summary[name] = {
                "wall_s_min": round(min(wall), 2),
                "wall_s_median": round(statistics.median(wall), 2),
                "cpu_s_median": round(statistics.median(cpu), 2),
                "peak_rss_mb": round(max(x["peak_rss_mb"] for x in rs), 1),
                "fps_best": round(frames / min(wall), 1) if frames else None,
            }
        q = min(x["wall_s"] for x in times["headblock_qc"])
        qc_cpu = statistics.median(x["cpu_s"] for x in times["headblock_qc"])
        ratios = {}
        if "ffmpeg_signalstats" in times:
            ss = min(x["wall_s"] for x in times["ffmpeg_signalstats"])
            ratios["qc_over_ffmpeg_signalstats"] = round(q / ss, 3)
            ratios["qc_over_ffmpeg_decode"] = round(
                q / min(x["wall_s"] for x in times["ffmpeg_decode"]), 3
            )
            ratios["cpu_qc_over_ffmpeg_signalstats"] = round(
                qc_cpu / statistics.median(x["cpu_s"] for x in times["ffmpeg_signalstats"]), 3
            )
        ratios["qc_over_pyav_decode"] = round(q / min(x["wall_s"] for x in times["pyav_decode"]), 3)
        ratios["cpu_qc_over_pyav_decode"] = round(
            qc_cpu / statistics.median(x["cpu_s"] for x in times["pyav_decode"]), 3
        )
        # after a video take: QC hashing the frames it decodes, against the re-decode at close
        # followed by QC without the hashing (what a take cost before)
        before = min(x["wall_s"] for x in times["framemd5_readback"]) + min(
            x["wall_s"] for x in times["headblock_qc_no_framemd5"]
        )
        ratios["after_take_now_over_before"] = round(q / before, 3)
        summary["ratios"] = ratios
        # wall time is what the goals name; on a shared machine CPU time is the steadier figure
        summary["goals_met"] = {
            "wall_le_0.8x_signalstats": ratios.get("qc_over_ffmpeg_signalstats", 99) <= 0.8,
            "wall_le_1.2x_bare_decode": min(
                ratios.get("qc_over_ffmpeg_decode", 99), ratios["qc_over_pyav_decode"]
            )
            <= 1.2,
            "cpu_le_0.8x_signalstats": ratios.get("cpu_qc_over_ffmpeg_signalstats", 99) <= 0.8,
            "cpu_le_1.2x_bare_decode": ratios["cpu_qc_over_pyav_decode"] <= 1.2,
        }
        summary["memory"] = _memory(file, profile, work, py, ffmpeg)
        summary["memory"]["qc_peak_rss_mb_full"] = summary["headblock_qc"]["peak_rss_mb"]
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _framemd5_of(file: Path) -> Path:
    """The file's framemd5 (made once, cached beside it), as a take would have it."""
    side = file.with_suffix(".framemd5")
    if not side.exists():
        from metadata.formats.framemd5 import compute_framemd5, write_framemd5_lines

        write_framemd5_lines(compute_framemd5(file), side)
    return side


def _memory(file: Path, profile: Path, work: Path, py: str, ffmpeg) -> dict:
    """Peak RSS of QC on the first quarter of the file (flat: about the whole file's)."""
    if not ffmpeg:
        return {}
    import av

    with av.open(str(file)) as c:
        dur = float(c.duration / av.time_base) if c.duration else 0.0
    quarter = work / "BENCHQ_t01.mkv"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-i",
            str(file),
            "-t",
            f"{dur / 4:.3f}",
            "-c",
            "copy",
            str(quarter),
        ],
        check=True,
    )
    res = _measure([py, "-c", _QC_SNIPPET, str(quarter), str(profile)], ROOT)
    return {"qc_peak_rss_mb_quarter": round(res["peak_rss_mb"], 1)}


def _ffmpeg_version(ffmpeg) -> str | None:
    if not ffmpeg:
        return None
    out = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench qc_video", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the test file")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best is kept)")
    ap.add_argument("--noise", type=float, default=2.0, help="noise (8-bit code values, sd)")
    ap.add_argument("--file", type=Path, help="time this file instead of the generated one")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args(argv)
    result = run(args.seconds, max(args.rounds, 1), args.file, args.noise)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
