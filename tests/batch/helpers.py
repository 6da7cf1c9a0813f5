"""Take folders and delivery folders for the batch tests: real WAV masters of program-like
audio, with their ``.md5`` and capture log, laid out as capture leaves them."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from metadata.formats.checksums import file_md5, write_md5_file
from metadata.take.log import TakeLog
from metadata.take.naming import TakePaths, new_take_dir
from tests.fixtures.signals import program

RATE_HZ = 48000


def program_wav(path: Path, seconds: float, seed: int) -> Path:
    sf.write(path, program(seconds, RATE_HZ, 2, seed=seed), RATE_HZ, subtype="PCM_24")
    return path


def make_take(library: Path, item: str, seconds: float = 4.0, seed: int = 0) -> TakePaths:
    paths = new_take_dir(library, item)
    master = program_wav(paths.master("audio"), seconds, seed)
    write_md5_file(master, file_md5(master))
    with TakeLog(paths.log) as log:
        log.write("take_start", kind="audio", device="fixture", settings={}, meta={"title": item})
        log.write("take_stop", reason="seconds", duration_s=seconds)
    return paths


def make_library(library: Path, n: int, seconds: float = 4.0) -> list[TakePaths]:
    library.mkdir(parents=True, exist_ok=True)
    return [make_take(library, f"REEL-{i:03d}", seconds, seed=i) for i in range(n)]
