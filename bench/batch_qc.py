"""Batch QC on a Dask ``LocalCluster``: throughput on 1 and 2 worker processes, and the
scheduler's overhead per task.

``python -m bench batch_qc [--files 12] [--minutes 1.0] [--workers 1,2] [--trivial 2000]``

Writes ``--files`` program-like WAVs (48 kHz/24-bit stereo, ``--minutes`` each) in a delivery
folder, then for each worker count starts a cluster, warms each worker with one file (imports),
and times ``run_batch(qc, --force)`` over the folder: files/hour, audio hours per hour (×real
time) and the speed-up over one worker (goal ≥ 1.7× from 1 to 2). The overhead per task is
timed twice on 2 workers: ``--trivial`` no-op tasks through Dask alone, and through the batch
engine (a no-op verb: task key, journal line with fsync, result handling).
The machine is shared: figures measured while other work runs are lower bounds; the bench
prints what two processes of pure CPU work get at the time (the ceiling for the speed-up).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _noop(x):
    return x


def _burn(n: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t


def machine_ceiling(n: int = 10_000_000) -> float:
    """The speed-up two processes of pure CPU work get on this machine now: what other work
    leaves of the second core, the ceiling for any 1 -> 2 worker figure."""
    import multiprocessing as mp

    one = _burn(n)
    with mp.get_context("spawn").Pool(2) as pool:
        t = time.perf_counter()
        pool.map(_burn, [n, n])
        two = time.perf_counter() - t
    return 2 * one / two


def _write_files(folder: Path, n: int, minutes: float) -> float:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.batch.helpers import program_wav

    for i in range(n):
        program_wav(folder / f"tape_{i:03d}.wav", minutes * 60, seed=i)
    return n * minutes * 60


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return cluster, Client(cluster)


def _noop_verb(n: int):
    from headblock.batch.outcome import Unit
    from headblock.batch.registry import BatchVerb

    units = [Unit(f"/noop/{i}", 0) for i in range(n)]
    return BatchVerb(
        name="noop",
        title="no-op",
        collect=lambda paths, options: units,
        run=_noop_run,
        skip=lambda unit, options: None,
        record=lambda unit, out, options: None,
        fingerprint=lambda options: "noop",
    )


def _noop_run(unit, options):
    from headblock.batch.outcome import Outcome

    return Outcome(unit.path, "pass")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench batch_qc", description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--trivial", type=int, default=2000)
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from headblock.batch.engine import run_batch
    from headblock.batch.registry import get_verb

    verb = get_verb("qc")
    with tempfile.TemporaryDirectory(prefix="hb-batch-bench-") as tmp:
        folder = Path(tmp) / "delivery"
        folder.mkdir()
        audio_s = _write_files(folder, args.files, args.minutes)
        warm = Path(tmp) / "warm"
        warm.mkdir()
        _write_files(warm, 2, 0.05)
        size = sum(p.stat().st_size for p in folder.glob("*.wav"))
        print(
            f"batch_qc: {args.files} files x {args.minutes:g} min 48 kHz/24-bit stereo "
            f"({size / 1e6:.0f} MB), cores shared with other work"
        )
        rates = {}
        for workers in (int(w) for w in args.workers.split(",")):
            cluster, client = _cluster(workers)
            try:
                run_batch(verb, [warm], {}, client, Path(tmp) / "warm.jsonl", force=True)
                t0 = time.perf_counter()
                result = run_batch(verb, [folder], {}, client, Path(tmp) / "j.jsonl", force=True)
                wall = time.perf_counter() - t0
            finally:
                client.close()
                cluster.close()
            bad = [o for o in result.outcomes if o.outcome not in ("pass", "warn")]
            if bad:
                print(f"batch_qc: unexpected outcome {bad[0].outcome}: {bad[0].reason}")
                return 1
            busy = sum(o.seconds for o in result.outcomes)
            rates[workers] = args.files / wall
            print(
                f"  {workers} worker(s): {wall:6.2f} s wall, {args.files / wall * 3600:8.0f} "
                f"files/h, {audio_s / wall:6.1f}x real time, {size / wall / 1e6:6.1f} MB/s, "
                f"worker time per file {busy / args.files:.3f} s"
            )
        if 1 in rates and 2 in rates:
            gain = rates[2] / rates[1]
            ceiling = machine_ceiling()
            print(
                f"  speed-up 1 -> 2 workers: {gain:.2f}x (goal >= 1.7x); two processes of pure "
                f"CPU work got {ceiling:.2f}x on this machine just after"
            )

        # the fixity audit's rate on the same files (page cache warm: an upper bound for disks)
        from metadata.formats.checksums import file_md5, write_md5_file

        for p in sorted(folder.glob("*.wav")) + sorted(warm.glob("*.wav")):
            write_md5_file(p, file_md5(p))
        for workers in (int(w) for w in args.workers.split(",")):
            cluster, client = _cluster(workers)
            try:
                run_batch(get_verb("verify"), [warm], {}, client, Path(tmp) / "w.jsonl")
                t0 = time.perf_counter()
                result = run_batch(get_verb("verify"), [folder], {}, client, Path(tmp) / "v.jsonl")
                wall = time.perf_counter() - t0
            finally:
                client.close()
                cluster.close()
            n_ok = sum(o.outcome == "verified" for o in result.outcomes)
            print(
                f"  verify, {workers} worker(s): {n_ok}/{args.files} verified in {wall:.2f} s, "
                f"{size / wall / 1e6:.0f} MB/s"
            )

        cluster, client = _cluster(2)
        try:
            client.gather(client.map(_noop, range(50), pure=False))
            t0 = time.perf_counter()
            client.gather(client.map(_noop, range(args.trivial), pure=False))
            dask_s = (time.perf_counter() - t0) / args.trivial
            noop = _noop_verb(args.trivial)
            t0 = time.perf_counter()
            run_batch(noop, [Path(tmp)], {}, client, Path(tmp) / "noop.jsonl", force=True)
            engine_s = (time.perf_counter() - t0) / args.trivial
        finally:
            client.close()
            cluster.close()
        print(
            f"  overhead per task ({args.trivial} no-op tasks, 2 workers): Dask "
            f"{dask_s * 1e3:.2f} ms, batch engine {engine_s * 1e3:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
