"""qc.measures against first principles and against pyloudnorm / scipy references."""

import numpy as np
import pyloudnorm
import pytest

from qc import measures as m
from tests.fixtures.signals import program


def test_peak_rms_dc_of_known_signals():
    rate = 48000
    t = np.arange(rate) / rate
    x = np.stack([0.5 * np.sin(2 * np.pi * 1000 * t), np.full(rate, 0.25)], axis=1).astype(
        np.float32
    )
    assert m.peak_dbfs(x) == pytest.approx([-6.02, -12.04], abs=0.01)
    assert m.rms_dbfs(x) == pytest.approx([-9.03, -12.04], abs=0.01)
    assert m.dc_offset(x) == pytest.approx([0.0, 0.25], abs=1e-4)
    silent = np.zeros((100, 2), np.float32)
    assert list(m.peak_dbfs(silent)) == [m.DBFS_FLOOR, m.DBFS_FLOOR]
    assert list(m.rms_dbfs(silent)) == [m.DBFS_FLOOR, m.DBFS_FLOOR]


def test_block_stats_per_block_and_channel():
    x = np.zeros((1050, 2), np.float32)
    x[250, 0] = 0.5
    x[500:503, 1] = 1.0  # three full-scale samples in block 5
    x[1000:, 0] = 0.1  # partial last block: DC
    bs = m.block_stats(x, 100)
    assert bs.peak.shape == (11, 2)
    assert bs.peak[2, 0] == pytest.approx(0.5)
    assert bs.peak[5, 1] == pytest.approx(1.0)
    assert bs.clip_count[5, 1] == 3 and bs.clip_count.sum() == 3
    assert bs.rms[2, 0] == pytest.approx(np.sqrt(0.25 / 100))
    assert bs.dc[10, 0] == pytest.approx(0.1)  # the partial block is averaged over its 50 samples
    assert not (np.signbit(bs.peak) & (bs.peak == 0)).any()  # no -0.0


def test_correlation_conventions():
    rate = 48000
    s = np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    assert m.correlation(np.stack([s, s], 1)) == pytest.approx(1.0)
    assert m.correlation(np.stack([s, -s], 1)) == pytest.approx(-1.0)
    noise = np.random.default_rng(0).standard_normal((rate, 2)).astype(np.float32)
    assert abs(m.correlation(noise)) < 0.02
    assert m.correlation(np.zeros((10, 2), np.float32)) == 0.0
    assert m.correlation(s[:, None]) == 0.0


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_streamed_loudness_matches_pyloudnorm(rate):
    """Integrated loudness within 0.1 LU of pyloudnorm; LRA within 0.3 LU (10 Hz vs 11 Hz steps)."""
    x = program(20, rate, 2, seed=3, kind="mix")
    x[rate * 6 : rate * 9] *= 0.05  # a quiet stretch that the gates must handle
    meter = pyloudnorm.Meter(rate)
    ref = meter.integrated_loudness(x.astype(np.float64))
    ref_lra = meter.loudness_range(x.astype(np.float64))
    k = m.KWeightedPower(rate, 2)
    xc = m.channel_major(x)
    for i in range(0, xc.shape[1], 77777):  # odd chunking: the filter state must carry over
        k.feed(xc[:, i : i + 77777])
    sub = k.subblocks()
    assert m.integrated_loudness_lufs(sub) == pytest.approx(ref, abs=0.1)
    assert m.loudness_range_lu(sub) == pytest.approx(ref_lra, abs=0.3)


@pytest.mark.parametrize("rate", [48000, 96000])
def test_fast_true_peak_agrees_with_resample_poly(rate):
    rng = np.random.default_rng(rate)
    worst = 0.0
    for _ in range(8):
        n = rate // 4
        t = np.arange(n) / rate
        env = np.minimum(
            1.0, np.minimum(t, t[-1] - t) / 0.02
        )  # no edge transients in the reference
        f = rng.uniform(2000, 19000)
        x = env * (
            0.5 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) + 0.05 * rng.standard_normal(n)
        )
        x = x.astype(np.float32)
        ref = m.true_peak(x[:, None], rate)[0]
        fast = max(m.interpolated_peak(x, m.true_peak_oversampling(rate)), float(np.abs(x).max()))
        worst = max(worst, abs(20 * np.log10(ref / fast)))
    assert worst < 0.1


def test_true_peak_sees_inter_sample_overs():
    rate = 48000
    n = np.arange(rate)
    env = np.minimum(1.0, np.minimum(n, n[-1] - n) / 2000)  # a fade: no edge ringing
    x = (env * 0.9 * np.sin(2 * np.pi * n / 4 + np.pi / 4)).astype(
        np.float32
    )  # fs/4 misses the crest
    assert m.peak_dbfs(x[:, None])[0] == pytest.approx(20 * np.log10(0.9 * np.sqrt(0.5)), abs=0.01)
    assert m.true_peak_dbtp(x[:, None], rate)[0] == pytest.approx(20 * np.log10(0.9), abs=0.1)
    assert 20 * np.log10(m.interpolated_peak(x, 4)) == pytest.approx(20 * np.log10(0.9), abs=0.1)


def test_sosfilt_kernel_equals_scipy_public_sosfilt():
    sos = m.k_weighting_sos(96000).astype(np.float32)
    x = np.random.default_rng(1).standard_normal((2, 5000)).astype(np.float32)
    a, b = x.copy(), x.copy()
    za, zb = np.zeros((2, 2, 2), np.float32), np.zeros((2, 2, 2), np.float32)
    for sl in (slice(0, 1234), slice(1234, 5000)):  # state carried between calls
        pa, pb = np.ascontiguousarray(a[:, sl]), np.ascontiguousarray(b[:, sl])
        m._sosfilt_inplace(sos, pa, za)
        m.scipy_sosfilt_inplace(sos, pb, zb)
        np.testing.assert_allclose(pa, pb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(za, zb, rtol=1e-4, atol=1e-6)
