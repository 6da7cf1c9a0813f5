"""``headblock batch derive|package``: bad usage and bad input are one line and exit 2, said
before a cluster starts (no Dask client is made: these return in well under a second)."""

from __future__ import annotations

import time

import pytest

from headblock.cli import main
from tests.batch.helpers import program_wav
from tests.review.takes import make_audio_take


@pytest.fixture
def lib(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_audio_take(lib, "REEL-001")  # no sign-off
    return lib


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["derive", "{lib}", "--profile", "cinema"], "unknown derivative profile 'cinema'"),
        (["derive", "{lib}", "--out", "/tmp/x"], "--out is for `batch package`"),
        (["qc", "{lib}", "--copy"], "--copy is for `batch package`"),
        (["derive", "{loose}"], "nothing to derive under"),
        (["package", "{lib}"], "`batch package` needs --out DIR"),
        (["package", "{lib}", "--out", "{out}", "--profile", "web"], "--profile is for"),
        (["package", "{lib}", "--out", "{out}", "--layout", "zip"], "unknown layout 'zip'"),
        (["package", "{lib}", "--out", "{out}"], "the library {lib} has no approved take"),
        (
            ["package", "{lib}", "--out", "{out}", "--include-unapproved", "  "],
            "--include-unapproved needs a reason",
        ),
        (
            ["package", "{lib}", "--out", "{lib}/bags", "--include-unapproved", "test"],
            "is inside the library",
        ),
        (
            ["package", "{lib}", "--out", "{out}", "--include-unapproved", "test"],
            "a bag names its Source-Organization",
        ),
    ],
)
def test_bad_usage_is_one_line_before_any_cluster(lib, tmp_path, capsys, args, line):
    loose = tmp_path / "loose"
    loose.mkdir()
    program_wav(loose / "a.wav", 0.5, seed=1)
    fill = {"lib": str(lib), "out": str(tmp_path / "bags"), "loose": str(loose)}
    started = time.monotonic()
    status = main(["batch", *[a.format(**fill) for a in args]])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("headblock: ")
    assert line.format(**fill) in err
    assert time.monotonic() - started < 5  # said before a LocalCluster would have started
    assert not (tmp_path / "bags").exists() and not (lib / "bags").exists()
