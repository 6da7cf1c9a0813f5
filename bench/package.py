"""Packaging speed: masters into a BagIt bag and an Archivematica transfer, against reading them
once with ``cat FILES > /dev/null`` in the same run, and the bag's validation on its own.

``python -m bench package [--gb 1.0] [--takes 4] [--repeat 2] [--dir DIR]``
(the issue's figure: ``--gb 10``; a quick check: ``--gb 0.2 --repeat 1``)

Makes a library of ``--takes`` approved audio takes whose Broadcast-WAV-sized masters add up
to ``--gb`` GB (24-bit noise, written with soundfile), then times, alternating and best of
``--repeat``: ``cat`` of the masters; ``headblock package --layout bagit`` with hard links (one
read: SHA-256, SHA-512 and MD5 while reading, then the bag validated, a second read) and with
``--copy`` (each master read once while copied, then validated); ``--layout archivematica
--copy``; and ``bagit.Bag(...).validate()`` of the finished bags alone. Before each timed run
the masters are dropped from this machine's page cache (``posix_fadvise(DONTNEED)`` on their
own pages, nothing else's), so ``cat`` and packaging alike read them from the disk; a virtual
machine's host may still serve them from its cache. ``cat`` of cached masters is printed too,
as the floor of reading.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_library(library: Path, gb: float, takes: int) -> list[Path]:
    """Approved take folders whose masters are real 96 kHz 24-bit stereo WAVs of noise."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import soundfile as sf

    from qc.signoff import signoff
    from tests.review.takes import make_audio_take

    os.environ.setdefault("HEADBLOCK_CONFIG", str(library.parent / "settings.toml"))
    per_take = int(gb * 1e9 / takes)
    frames = per_take // 6  # 2 channels x 3 bytes
    rng = np.random.default_rng(7)
    masters = []
    for n in range(takes):
        paths = make_audio_take(library, f"BENCH-{n:02d}")
        master = paths.master("audio")
        with sf.SoundFile(str(master), "w", 96000, 2, "PCM_24", format="WAV") as f:
            left = frames
            while left:
                n_block = min(left, 1 << 20)
                f.write((rng.standard_normal((n_block, 2)) * 0.1).astype(np.float32))
                left -= n_block
        h = hashlib.md5()
        with open(master, "rb") as fh:
            while chunk := fh.read(8 << 20):
                h.update(chunk)
        (paths.directory / f"{master.name}.md5").write_text(f"{h.hexdigest()}  {master.name}\n")
        signoff(paths.directory, "Bench", "approved")
        masters.append(master)
    return masters


def evict(paths: list[Path]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], **kw) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command): CPU time stays comparable on a busy machine."""
    c0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0, _children_cpu() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench package", description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=1.0, help="total size of the masters")
    ap.add_argument("--takes", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed after)")
    args = ap.parse_args(argv)
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="hb-bench-package-"))
    work.mkdir(parents=True, exist_ok=True)
    # the masters, and a copied package of them at a time (each removed before the next)
    need = int(args.gb * 1e9 * 2.1) + (1 << 30)
    free = shutil.disk_usage(work).free
    if need > free:
        print(
            f"bench package: {work} has {free / 1e9:.1f} GB free; {args.gb:g} GB of masters "
            f"need {need / 1e9:.1f} GB (give --dir elsewhere)",
            file=sys.stderr,
        )
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
        return 2
    library = work / "library"
    library.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HEADBLOCK_CONFIG": str(work / "settings.toml"),
    }
    hb = [sys.executable, "-m", "headblock", "package", str(library), "--organization", "Bench"]
    try:
        t0 = time.perf_counter()
        masters = make_library(library, args.gb, args.takes)
        size = sum(m.stat().st_size for m in masters)
        print(
            f"masters: {len(masters)} x {size / len(masters) / 1e6:.0f} MB = {size / 1e9:.2f} GB "
            f"(made in {time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        runs: dict[str, list[tuple[float, float]]] = {}
        cat = ["sh", "-c", 'cat "$@" > /dev/null', "cat", *map(str, masters)]
        import bagit

        for i in range(max(1, args.repeat)):
            evict(masters)
            runs.setdefault("cat > /dev/null", []).append(timed(cat))
            runs.setdefault("cat > /dev/null (cached)", []).append(timed(cat))
            for label, extra in (
                ("package bagit (hard links)", []),
                ("package bagit --copy", ["--copy"]),
                ("package archivematica --copy", ["--layout", "archivematica", "--copy"]),
            ):
                out = work / f"out-{i}-{len(runs)}"
                evict(masters)
                runs.setdefault(label, []).append(timed([*hb, "--out", str(out), *extra], env=env))
                if label == "package bagit --copy":
                    bags = sorted(out.iterdir())
                    evict([p for b in bags for p in (b / "data").glob("*/*.wav")])
                    t1, c1 = time.perf_counter(), time.process_time()
                    for b in bags:
                        bagit.Bag(str(b)).validate()
                    runs.setdefault("bagit validate (all bags)", []).append(
                        (time.perf_counter() - t1, time.process_time() - c1)
                    )
                shutil.rmtree(out)
                for take_dir in library.glob("*/*_t*"):  # the next run packages them again
                    for p in take_dir.glob("*.packages.json"):
                        p.unlink()
        base_wall = min(w for w, _ in runs["cat > /dev/null"])
        base_cpu = min(c for _, c in runs["cat > /dev/null"])
        for label, times in runs.items():
            wall = min(w for w, _ in times)
            cpu = min(c for _, c in times)
            print(
                f"{label:<30} wall {wall:6.2f} s ({size / wall / 1e6:5.0f} MB/s, x{wall / base_wall:5.1f}"
                f" of cat)  CPU {cpu:6.2f} s (x{cpu / base_cpu:5.1f})   "
                f"runs: {', '.join(f'{w:.2f}/{c:.2f}' for w, c in times)}"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return 0
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
