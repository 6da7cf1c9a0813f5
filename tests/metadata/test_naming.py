import pytest

from metadata.errors import HeadblockError
from metadata.take.naming import (
    item_id_problem,
    iter_take_dirs,
    new_take_dir,
    paths_for_master,
    paths_for_take_dir,
    validate_item_id,
)


@pytest.mark.parametrize("good", ["REEL_0042", "a", "A.b-c_d", "0" * 64, "_x", "2026.11.22-reel"])
def test_valid_identifiers(good):
    assert validate_item_id(good) == good


@pytest.mark.parametrize(
    "bad,reason",
    [
        ("", "empty"),
        (".hidden", "may not start"),
        ("-rf", "may not start"),
        ("x" * 65, "65 characters"),
        ("../etc", "may not start"),
        ("x/../../etc", "characters outside"),
        ("a/b", "'/'"),
        ("tape 1", "' '"),
        ("bånd", "'å'"),
        ("a\x00b", "characters outside"),
        ("C:\\x", "characters outside"),
    ],
)
def test_invalid_identifiers_say_why(bad, reason):
    assert reason in item_id_problem(bad)
    with pytest.raises(HeadblockError):
        validate_item_id(bad)


def test_take_numbers_count_up_and_never_reuse(tmp_path):
    first = new_take_dir(tmp_path, "REEL1")
    second = new_take_dir(tmp_path, "REEL1")
    assert (first.take_number, second.take_number) == (1, 2)
    assert first.master("audio").name == "REEL1_t01.wav"
    assert second.file(".qc.json").name == "REEL1_t02.qc.json"
    # A gap left by a removed folder is not filled: numbering continues after the highest.
    (tmp_path / "REEL1" / "REEL1_t05").mkdir()
    assert new_take_dir(tmp_path, "REEL1").take_number == 6
    assert [p.name for p in iter_take_dirs(tmp_path)] == [
        "REEL1_t01",
        "REEL1_t02",
        "REEL1_t05",
        "REEL1_t06",
    ]


def test_take_paths_from_folder_and_master(tmp_path):
    take = new_take_dir(tmp_path, "VHS_7")
    assert paths_for_take_dir(take.directory).stem == "VHS_7_t01"
    assert paths_for_master(take.master("video")).premis.name == "VHS_7_t01.premis.xml"
    loose = paths_for_master(tmp_path / "some file.wav")
    assert loose.qc_json.name == "some file.qc.json"
    with pytest.raises(HeadblockError):
        paths_for_take_dir(tmp_path)


def test_unwritable_library_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HeadblockError, match="not a folder"):
        new_take_dir(blocker, "A")
