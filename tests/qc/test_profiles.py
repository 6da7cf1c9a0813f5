"""Profiles: shipped ones load, merge over the table, and bad keys or values are named."""

import pytest

from metadata.errors import HeadblockError
from qc.profiles import available_profiles, load_profile
from qc.table import CHECKS


def test_shipped_profiles_cover_every_check():
    assert {"default", "strict", "tolerant"} <= set(available_profiles())
    for name in ("default", "strict", "tolerant"):
        p = load_profile(name)
        assert set(p.checks) == set(CHECKS)
        for cid, spec in CHECKS.items():
            assert p.enabled(cid)
            assert set(p.thresholds(cid)) == {"enabled", *spec.thresholds}


def test_strict_is_stricter_and_tolerant_looser():
    d, s, t = (load_profile(n) for n in ("default", "strict", "tolerant"))
    assert (
        s.get("clipping", "min_run_samples")
        < d.get("clipping", "min_run_samples")
        < t.get("clipping", "min_run_samples")
    )
    assert s.get("click", "ratio_db") < d.get("click", "ratio_db") < t.get("click", "ratio_db")
    assert d.get("clipping", "level_dbfs") == -0.01  # vrecord
    assert d.get("loudness", "true_peak_max_dbtp") == -1.0  # EBU R 128


def test_profile_by_path_merges_over_defaults(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[profile]\nname = "mine"\n\n[hum]\nenabled = false\n\n[click]\nratio_db = 40\n')
    p = load_profile(str(f))
    assert p.name == "mine" and p.source == f
    assert not p.enabled("hum")
    assert p.get("click", "ratio_db") == 40.0 and isinstance(p.get("click", "ratio_db"), float)
    assert (
        p.get("clipping", "min_run_samples")
        == CHECKS["clipping"].thresholds["min_run_samples"].default
    )


@pytest.mark.parametrize(
    "text, named",
    [
        ("[nonsense]\nx = 1\n", "nonsense"),
        ("[click]\nratio = 3\n", "click.ratio"),
        ('[click]\nratio_db = "loud"\n', "click.ratio_db"),
        ("[clipping]\nmin_run_samples = 2.5\n", "clipping.min_run_samples"),
        ('[hum]\nenabled = "yes"\n', "hum.enabled"),
        ("[click]\nratio_db = nan\n", "click.ratio_db"),
        ("[profile]\ncolour = 'red'\n", "profile.colour"),
        ("[click\n", "not valid TOML"),
    ],
)
def test_bad_profiles_name_the_key(tmp_path, text, named):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(HeadblockError) as err:
        load_profile(f)
    assert named in str(err.value)


def test_unknown_profile_name_lists_the_available_ones():
    with pytest.raises(HeadblockError, match="default"):
        load_profile("no-such-profile")
    with pytest.raises(HeadblockError, match="does not exist"):
        load_profile("/nonexistent/p.toml")
