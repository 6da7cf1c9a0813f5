import pytest

from metadata.errors import HeadblockError
from metadata.take.log import TakeLog, read_log
from metadata.take.meta import TakeMeta, coding_history_lines


def test_meta_pairs_and_toml(tmp_path):
    meta = TakeMeta().update_from_pairs(["carrier=open_reel", "Tape-Speed=7.5 ips", "shelf=B12"])
    assert meta.carrier_label == '1/4" open reel'
    assert meta.tape_speed == "7.5 ips"
    assert meta.extra == {"shelf": "B12"}
    with pytest.raises(HeadblockError, match="KEY=VALUE"):
        TakeMeta().update_from_pairs(["novalue"])
    f = tmp_path / "item.toml"
    f.write_text('[item]\ntitle = "Interview"\ndeck = "Studer A810"\n')
    assert TakeMeta.from_toml(f).deck == "Studer A810"
    f.write_text("title = [unclosed")
    with pytest.raises(HeadblockError, match="not valid TOML"):
        TakeMeta.from_toml(f)
    assert TakeMeta.from_dict(meta.to_dict()) == meta


def test_coding_history_follows_ebu_r98():
    meta = TakeMeta(
        carrier="open_reel",
        tape_speed="7.5 ips",
        track_config="half-track",
        equalisation="NAB",
        deck="Studer A810",
        deck_serial="1234",
        ad_interface="RME ADI-2 Pro, FS",
    )
    lines = coding_history_lines(
        meta, rate_hz=96000, bits=24, channels=2, software="Headblock 0.1.0"
    )
    assert lines[0] == (
        'A=ANALOGUE,M=stereo,T=1/4" open reel; 7.5 ips; half-track; EQ NAB; Studer A810 SN1234'
    )
    # The comma inside free text would split the field: it is replaced.
    assert lines[1] == "A=PCM,F=96000,W=24,M=stereo,T=RME ADI-2 Pro; FS; Headblock 0.1.0"
    mono = coding_history_lines(TakeMeta(), rate_hz=48000, bits=16, channels=1, software="")
    assert mono == ["A=ANALOGUE,M=mono", "A=PCM,F=48000,W=16,M=mono"]


def test_capture_log_round_trip(tmp_path):
    path = tmp_path / "t.log"
    with TakeLog(path) as log:
        log.write("take_start", device="demo", settings={"rate_hz": 96000})
        log.write("overflow", "WARN", at_s=12.5, frames_lost=4800, source="clock")
    events = read_log(path)
    assert [e.event for e in events] == ["take_start", "overflow"]
    assert events[1].level == "WARN"
    assert events[1].fields == {"at_s": 12.5, "frames_lost": 4800, "source": "clock"}
    assert events[0].time.endswith("Z")
