"""Broadcast WAV writer: byte layout, read-back by soundfile/ffprobe, RF64, repair."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
from datetime import datetime

import numpy as np
import pytest
import soundfile as sf

from metadata.errors import HeadblockError
from metadata.formats import bwf
from metadata.formats.bwf import BextInfo, BWFWriter, read_bext, read_chunks, repair
from metadata.take.meta import TakeMeta, coding_history_lines

HAVE_FFPROBE = shutil.which("ffprobe") is not None


def _bext(**kw) -> BextInfo:
    base = dict(
        description="Interview, side A",
        originator="Test Archive",
        originator_reference="ITEM1_t01",
        origination_date="2026-11-22",
        origination_time="14:05:09",
        time_reference=0,
        coding_history=["A=ANALOGUE,M=stereo,T=x", "A=PCM,F=96000,W=24,M=stereo,T=y"],
    )
    base.update(kw)
    return BextInfo(**base)


def _signal(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    """Full-scale random 24-bit audio in the top bits of int32, as PortAudio delivers."""
    rng = np.random.default_rng(seed)
    return rng.integers(-(2**23), 2**23, size=(frames, channels), dtype=np.int32) << 8


def _payload(path, cid: str) -> bytes:
    c = next(c for c in read_chunks(path) if c.id == cid)
    with open(path, "rb") as f:
        f.seek(c.data_offset)
        return f.read(c.size)


def _ffprobe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_bext_fields_at_their_tech_3285_offsets(tmp_path):
    p = tmp_path / "a.wav"
    info = _bext(
        time_reference=(1 << 32) + 5,
        umid=bytes(range(64)),
        loudness_value=-23.5,
        loudness_range=7.25,
        max_true_peak=-1.0,
    )
    with BWFWriter(p, 96000, 2, 24, info) as w:
        w.write(_signal(10, 2))
    raw = _payload(p, "bext")
    assert raw[0:17] == b"Interview, side A" and raw[17:256] == bytes(239)
    assert raw[256:268] == b"Test Archive" and raw[268:288] == bytes(20)
    assert raw[288:297] == b"ITEM1_t01"
    assert raw[320:330] == b"2026-11-22"
    assert raw[330:338] == b"14:05:09"
    assert struct.unpack_from("<II", raw, 338) == (5, 1)  # TimeReference low, high
    assert struct.unpack_from("<H", raw, 346) == (2,)  # Version
    assert raw[348:412] == bytes(range(64))  # UMID
    assert struct.unpack_from("<hhhhh", raw, 412) == (-2350, 725, -100, 0x7FFF, 0x7FFF)
    assert raw[422:602] == bytes(180)  # Reserved
    assert raw[602:] == b"A=ANALOGUE,M=stereo,T=x\r\nA=PCM,F=96000,W=24,M=stereo,T=y\r\n"
    back = read_bext(p)
    assert back["time_reference"] == (1 << 32) + 5
    assert back["loudness_value"] == -23.5 and back["max_momentary"] is None


def test_coding_history_lines_from_take_metadata(tmp_path):
    meta = TakeMeta(carrier="open_reel", tape_speed="7.5 ips", equalisation="NAB",
                    noise_reduction="none", deck="Studer A810", ad_interface="RME Fireface UFX")  # fmt: skip
    lines = coding_history_lines(
        meta, rate_hz=96000, bits=24, channels=2, software="Headblock 0.1.0"
    )
    started = datetime(2026, 11, 22, 10, 30, 0)
    info = BextInfo.for_take(started=started, rate_hz=96000, coding_history=lines)
    assert info.time_reference == (10 * 3600 + 30 * 60) * 96000
    assert (info.origination_date, info.origination_time) == ("2026-11-22", "10:30:00")
    p = tmp_path / "a.wav"
    with BWFWriter(p, 96000, 2, 24, info) as w:
        w.write(_signal(4, 2))
    got = read_bext(p)
    assert got["coding_history_lines"] == [
        'A=ANALOGUE,M=stereo,T=1/4" open reel; 7.5 ips; EQ NAB; NR none; Studer A810',
        "A=PCM,F=96000,W=24,M=stereo,T=RME Fireface UFX; Headblock 0.1.0",
    ]
    assert got["coding_history"].endswith("\r\n") and got["coding_history"].count("\r\n") == 2
    if HAVE_FFPROBE:  # an independent reader sees the same fields
        tags = _ffprobe(p)["format"]["tags"]
        assert tags["coding_history"] == got["coding_history"]
        assert tags["time_reference"] == str(info.time_reference)


@pytest.mark.parametrize("bits", [16, 24])
@pytest.mark.parametrize("channels", [1, 2, 8])
def test_soundfile_reads_back_bit_exact(tmp_path, bits, channels):
    x = _signal(4801, channels, seed=bits + channels)
    p = tmp_path / "a.wav"
    w = BWFWriter(
        p, 96000, channels, bits, _bext(), info={"INAM": "Title"}, ixml=bwf.build_ixml(project="P")
    )
    for start in range(0, len(x), 1000):  # several blocks, as the writer thread does
        w.write(x[start : start + 1000])
        w.flush_header()
    data_bytes, md5 = w.close()
    y, rate = sf.read(p, dtype="int32", always_2d=True)
    assert rate == 96000 and y.shape == x.shape
    assert np.array_equal(y, (x >> (32 - bits)) << (32 - bits))
    assert data_bytes == len(x) * channels * bits // 8 and w.frames_written == len(x)
    assert md5 == hashlib.md5(_payload(p, "data")).hexdigest() == bwf.read_md5_chunk(p)
    fmt = bwf.read_fmt(p)
    extensible = channels > 2 or bits > 16
    assert fmt["format_tag"] == (0xFFFE if extensible else 1)
    if extensible:
        assert fmt["valid_bits"] == bits
        assert fmt["channel_mask"] == {1: 0x4, 2: 0x3, 8: 0}[channels]
    ids = [c.id for c in read_chunks(p)]
    assert ids == ["JUNK", "fmt ", "bext", "iXML", "LIST", "data", "MD5 "]


def test_int16_and_float_input(tmp_path):
    x16 = np.array([[0, -1], [32767, -32768], [1, 2]], dtype=np.int16)
    p = tmp_path / "a.wav"
    with BWFWriter(p, 48000, 2, 24, _bext()) as w:
        w.write(x16)
        w.write(np.array([[0.5, -1.0]], dtype=np.float32))
    y, _ = sf.read(p, dtype="int32")
    assert np.array_equal(y[:3], x16.astype(np.int32) << 16)
    assert list(y[3]) == [0x400000 << 8, -0x800000 << 8]


def test_header_is_current_after_flush_so_a_crash_leaves_a_readable_file(tmp_path):
    p = tmp_path / "a.wav"
    x = _signal(3000, 2)
    w = BWFWriter(p, 48000, 2, 24, _bext())
    w.write(x[:2000])
    w.flush_header()
    snapshot = tmp_path / "crash.wav"
    shutil.copy(p, snapshot)  # what a power cut now leaves
    w.write(x[2000:])
    w.close()
    y, _ = sf.read(snapshot, dtype="int32")
    assert np.array_equal(y, x[:2000])


def test_rf64_promotion_with_a_small_threshold(tmp_path):
    p = tmp_path / "a.wav"
    x = _signal(20000, 2, seed=3)
    w = BWFWriter(p, 96000, 2, 24, _bext(), rf64_threshold_bytes=60000)
    data_offset = w.data_offset
    w.write(x[:5000])  # 30000 bytes: still a plain WAV
    w.flush_header()
    assert open(p, "rb").read(4) == b"RIFF" and read_chunks(p)[0].id == "JUNK"
    for start in range(5000, 20000, 5000):
        w.write(x[start : start + 5000])
    w.flush_header()
    assert open(p, "rb").read(4) == b"RF64"  # promoted while open, before close
    w.close()
    assert w.data_offset == data_offset  # the audio never moved
    with open(p, "rb") as f:
        head = f.read(12 + 36)
    assert head[:8] == b"RF64\xff\xff\xff\xff" and head[12:16] == b"ds64"
    riff, data, samples = struct.unpack_from("<QQQ", head, 20)
    assert (riff, data, samples) == (os.path.getsize(p) - 8, 120000, 20000)
    data_chunk = next(c for c in read_chunks(p) if c.id == "data")
    assert data_chunk.declared_size == 0xFFFFFFFF and data_chunk.size == 120000
    info = sf.info(p)
    assert info.format == "RF64" and info.frames == 20000
    y, _ = sf.read(p, dtype="int32")
    assert np.array_equal(y, x)
    if HAVE_FFPROBE:
        stream = _ffprobe(p)["streams"][0]
        assert int(stream["duration_ts"]) == 20000 and stream["bits_per_raw_sample"] == "24"


@pytest.mark.skipif(
    os.environ.get("HEADBLOCK_SLOW") != "1", reason="writes 4.3 GB; HEADBLOCK_SLOW=1"
)
@pytest.mark.slow
def test_real_rf64_beyond_4_gib(tmp_path):
    if shutil.disk_usage(tmp_path).free < 6 * 2**30:
        pytest.skip("needs 6 GiB free")
    p = tmp_path / "big.wav"
    block = np.zeros((1 << 20, 2), dtype=np.int32)  # 6 MiB of 24-bit stereo per write
    frames_total = (2**32 // 6) + (1 << 20)
    w = BWFWriter(p, 96000, 2, 24, _bext())
    written = 0
    while written < frames_total:
        n = min(len(block), frames_total - written)
        chunk = block[:n]
        if written + n >= frames_total:
            chunk = chunk.copy()
            chunk[-1] = [0x123456 << 8, -(0x123456 << 8)]  # a marker at the very end
        w.write(chunk)
        written += n
    w.close()
    try:
        assert os.path.getsize(p) > 2**32
        info = sf.info(p)
        assert info.format == "RF64" and info.frames == frames_total
        with sf.SoundFile(p) as f:
            f.seek(frames_total - 1)
            last = f.read(1, dtype="int32")
        assert list(last[0]) == [0x123456 << 8, -(0x123456 << 8)]
    finally:
        p.unlink()  # pytest keeps recent tmp dirs: do not leave 4 GB behind


def test_bad_input_is_one_clear_error(tmp_path):
    p = tmp_path / "a.wav"
    w = BWFWriter(p, 48000, 2, 24, _bext())
    with pytest.raises(HeadblockError, match=r"shaped \(n, 2\)"):
        w.write(np.zeros((10, 3), np.int32))
    with pytest.raises(HeadblockError, match="int32, int16 or float"):
        w.write(np.zeros((10, 2), np.uint8))
    w.close()
    with pytest.raises(HeadblockError, match="never overwritten"):
        BWFWriter(p, 48000, 2, 24, _bext())
    with pytest.raises(HeadblockError, match="bit depth"):
        BWFWriter(tmp_path / "b.wav", 48000, 2, 20, _bext())


# ----------------------------------------------------------------------------- repair


def _open_take(tmp_path, frames_flushed: int, frames_after: int, channels=2, bits=24, **kw):
    """A master whose writer 'crashed': sizes current at frames_flushed, more audio after."""
    p = tmp_path / "crashed.wav"
    x = _signal(frames_flushed + frames_after, channels, seed=7)
    w = BWFWriter(p, 48000, channels, bits, _bext(), **kw)
    w.write(x[:frames_flushed])
    w.flush_header()
    w.write(x[frames_flushed:])
    w._f.flush()  # the OS has the audio; the header was not patched again
    return p, x, w


def _cut_copy(src, dst, size):
    shutil.copy(src, dst)
    os.truncate(dst, size)
    return dst


def _check_repaired(p, x, frames, bits=24):
    y, _ = sf.read(p, dtype="int32", always_2d=True)
    assert len(y) == frames
    assert np.array_equal(y, (x[:frames] >> (32 - bits)) << (32 - bits))
    assert bwf.read_md5_chunk(p) == bwf.data_md5(p)


def test_repair_stale_header_keeps_every_whole_frame(tmp_path):
    p, x, w = _open_take(tmp_path, 1000, 2345)
    assert sf.info(p).frames == 1000  # before repair: only the flushed part is declared
    r = repair(p)
    assert r.frames_kept == 3345 and r.changed and r.bytes_dropped == 0 and not r.rf64
    _check_repaired(p, x, 3345)
    assert repair(p).changed is False  # idempotent


@pytest.mark.parametrize("cut_back", [1, 2, 5])
def test_repair_drops_a_partial_trailing_frame(tmp_path, cut_back):
    p, x, w = _open_take(tmp_path, 1000, 1000)
    q = _cut_copy(p, tmp_path / "cut.wav", os.path.getsize(p) - cut_back)
    r = repair(q)
    assert r.frames_kept == 1999 and r.bytes_dropped == 6 - cut_back
    _check_repaired(q, x, 1999)


def test_repair_mid_frame_in_odd_sized_mono(tmp_path):
    p, x, w = _open_take(tmp_path, 11, 10, channels=1)  # 3-byte frames: odd data size
    q = _cut_copy(p, tmp_path / "cut.wav", w.data_offset + 3 * 20 + 1)
    r = repair(q)
    assert r.frames_kept == 20 and r.data_bytes == 60
    _check_repaired(q, x, 20)
    q2 = _cut_copy(p, tmp_path / "cut2.wav", w.data_offset + 3 * 21)
    assert repair(q2).frames_kept == 21  # odd data size: a pad byte goes before the MD5 chunk
    _check_repaired(q2, x, 21)


def test_repair_cut_inside_the_header(tmp_path):
    p, x, w = _open_take(tmp_path, 100, 0)
    for size in (0, 7, 30, 100, w.data_offset - 6):
        q = _cut_copy(p, tmp_path / f"h{size}.wav", size)
        with pytest.raises(HeadblockError, match="header|not a WAV"):
            repair(q)
    q = _cut_copy(p, tmp_path / "h_data.wav", w.data_offset)  # header whole, no audio yet
    assert repair(q).frames_kept == 0
    assert sf.info(q).frames == 0


def test_repair_after_close_and_during_close(tmp_path):
    p, x, w = _open_take(tmp_path, 500, 500)
    w.close()
    closed = tmp_path / "closed.wav"
    shutil.copy(p, closed)
    r = repair(closed)
    assert (r.frames_kept, r.changed, r.data_md5) == (1000, False, None)
    assert closed.read_bytes() == p.read_bytes()
    size = os.path.getsize(p)
    for cut in (size - 1, size - 20, size - 24 + 3):  # the MD5 chunk partly written
        q = _cut_copy(p, tmp_path / f"c{cut}.wav", cut)
        r = repair(q)
        assert r.frames_kept == 1000, cut
        _check_repaired(q, x, 1000)
    # closed with the MD5 chunk on disk but the final RIFF size never patched
    q = tmp_path / "unpatched.wav"
    shutil.copy(p, q)
    with open(q, "r+b") as f:
        f.write(b"RIFF" + struct.pack("<I", 12345))
    r = repair(q)
    assert r.frames_kept == 1000 and r.data_md5 is None  # the MD5 chunk was kept as is
    assert q.read_bytes() == p.read_bytes()


def test_repair_stale_sizes_and_a_crash_while_closing(tmp_path):
    p, x, w = _open_take(tmp_path, 300, 700)
    md5 = w.md5_so_far
    w._f.write(bwf._MD5_CHUNK_HEAD + bwf.md5_chunk_bytes(md5))  # close() cut before its patch
    w._f.flush()
    r = repair(p)
    assert r.frames_kept == 1000 and r.data_md5 is None
    _check_repaired(p, x, 1000)


def test_repair_promotes_to_rf64_and_repairs_rf64(tmp_path):
    p, x, w = _open_take(tmp_path, 1000, 9000)  # 60 kB of audio
    r = repair(p, rf64_threshold_bytes=30000)
    assert r.rf64 and "promoted to RF64" in r.notes
    assert sf.info(p).format == "RF64"
    _check_repaired(p, x, 10000)
    # an RF64 take (promoted while writing) left open with a stale ds64
    d2 = tmp_path / "two"
    d2.mkdir()
    p2, x2, w2 = _open_take(d2, 8000, 4001, rf64_threshold_bytes=30000)
    q = _cut_copy(p2, d2 / "cut.wav", os.path.getsize(p2) - 2)
    r = repair(q)
    assert r.rf64 and r.frames_kept == 12000
    _check_repaired(q, x2, 12000)
    if HAVE_FFPROBE:
        assert int(_ffprobe(q)["streams"][0]["duration_ts"]) == 12000


def test_repair_refuses_what_is_not_a_wav(tmp_path):
    q = tmp_path / "x.wav"
    q.write_bytes(b"not a wave file at all" * 10)
    with pytest.raises(HeadblockError):
        repair(q)


def test_file_and_data_md5_in_one_read(tmp_path):
    p = tmp_path / "a.wav"
    with BWFWriter(p, 48000, 1, 24, _bext()) as w:  # odd data size: a pad byte before MD5
        w.write(_signal(3001, 1))
    whole, data = bwf.file_and_data_md5(p, block_bytes=1000)  # blocks straddle the data edges
    assert whole == hashlib.md5(p.read_bytes()).hexdigest()
    assert data == hashlib.md5(_payload(p, "data")).hexdigest() == bwf.read_md5_chunk(p)
    other = tmp_path / "x.bin"
    other.write_bytes(b"abc")
    assert bwf.file_and_data_md5(other) == (hashlib.md5(b"abc").hexdigest(), None)


def test_repair_a_cut_in_the_middle_of_promotion(tmp_path):
    p, x, w = _open_take(tmp_path, 500, 500)
    with open(p, "r+b") as f:  # ds64 written, RIFF id and sizes not yet
        f.seek(12)
        f.write(b"ds64" + struct.pack("<IQQQI", 28, 1, 2, 3, 0))
    r = repair(p)
    assert not r.rf64 and r.frames_kept == 1000
    assert read_chunks(p)[0].id == "JUNK"
    _check_repaired(p, x, 1000)
