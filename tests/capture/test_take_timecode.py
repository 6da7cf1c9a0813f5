"""The tape's LTC written where tools look for it: an audio take with LTC on a channel gets
bext TimeReference and iXML timecode (read back by mediainfo), and ``headblock timecode``."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from lxml import etree

from capture.audio_input import DemoInput
from capture.audio_take import AudioTake, AudioTakeSettings
from capture.timecode.smpte import RATES, to_frames
from headblock.cli import main
from metadata.formats import bwf
from metadata.formats.checksums import file_md5, read_md5_file
from tests.capture.helpers import log_events
from tests.fixtures import ltc

RATE = 48000


class LtcDemoInput(DemoInput):
    """The demo deck with the tape's LTC on its second channel, from the head of the tape."""

    def __init__(self, wave: np.ndarray, **kwargs):
        super().__init__(**kwargs)
        self.wave = wave

    def _to_pcm(self, samples: np.ndarray) -> np.ndarray:
        samples = samples.copy()
        index = np.arange(self._pos, self._pos + len(samples)) % len(self.wave)
        samples[:, 1] = self.wave[index]
        return super()._to_pcm(samples)


def _take(tmp_path, wave, fps_label="25", ltc_channel=2, seconds=2.5):
    source = LtcDemoInput(wave, rate_hz=RATE, channels=2, bits=24)
    settings = AudioTakeSettings(
        device="demo",
        item="TC001",
        library=tmp_path,
        rate_hz=RATE,
        seconds=seconds,
        qc=False,
        ltc_channel=ltc_channel,
    )
    take = AudioTake(settings, input=source)
    try:
        take.start()
        assert take.wait(30)
    finally:
        source.stop()
    assert take.result is not None and take.result.fixity_ok, take.error
    return take.result.record.master, take.paths.directory


def _ixml_speed(master) -> dict:
    root = etree.fromstring(bwf.read_ixml(master).strip().encode())
    return {el.tag: el.text for el in root.find("SPEED")}


@pytest.mark.slow
def test_audio_take_writes_time_reference_and_ixml(tmp_path):
    wave, _ = ltc.ltc_signal("10:00:00:00", 100, "25", RATE, level_db=-18)
    master, take_dir = _take(tmp_path, wave)
    expected = 10 * 3600 * RATE  # the take's first sample is the tape's 10:00:00:00
    assert abs(bwf.read_bext(master)["time_reference"] - expected) <= 1
    speed = _ixml_speed(master)
    assert speed["TIMECODE_RATE"] == "25/1" and speed["TIMECODE_FLAG"] == "NDF"
    assert int(speed["TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI"]) == 0
    assert abs(int(speed["TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO"]) - expected) <= 1
    assert speed["TIMESTAMP_SAMPLE_RATE"] == str(RATE)
    # the MD5 written after the patch is the file's; the audio is untouched
    assert read_md5_file(master.with_name(master.name + ".md5"))[0][0] == file_md5(master)
    assert bwf.read_md5_chunk(master) == bwf.data_md5(master)
    event = log_events(take_dir, "timecode")[0].fields
    assert event["first"].startswith("10:00:00:0") and event["fps"] == "25"
    assert event["breaks"] == []
    if shutil.which("mediainfo"):  # what other tools see: bext TimeReference as the delay
        out = subprocess.run(
            ["mediainfo", "--Output=JSON", str(master)], capture_output=True, text=True
        ).stdout
        tracks = json.loads(out)["media"]["track"]
        delay = next(float(t["Delay"]) for t in tracks if "Delay" in t)
        assert abs(delay - 36000.0) <= 1 / RATE
        assert any(t.get("Delay_Source") == "Container (bext)" for t in tracks)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags=time_reference", "-of", "json",
         str(master)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert abs(int(json.loads(probe)["format"]["tags"]["time_reference"]) - expected) <= 1


@pytest.mark.slow
def test_audio_take_drop_frame_and_no_code(tmp_path):
    wave, _ = ltc.ltc_signal("01:09:59;20", 100, "29.97", RATE, level_db=-30)
    master, _ = _take(tmp_path / "df", wave, seconds=1.5)
    speed = _ixml_speed(master)
    assert speed["TIMECODE_RATE"] == "30000/1001" and speed["TIMECODE_FLAG"] == "DF"
    frames = to_frames("01:09:59;20", RATES["29.97"])
    expected = round(frames * RATE * 1001 / 30000)
    assert abs(bwf.read_bext(master)["time_reference"] - expected) <= 1

    silent = np.zeros(RATE, np.float32)
    master, take_dir = _take(tmp_path / "none", silent, seconds=1.0)
    event = log_events(take_dir, "timecode")[0]
    assert event.fields["found"] is False and event.level == "WARN"
    assert "TIMECODE_RATE" not in bwf.read_ixml(master)


def test_ltc_channel_beyond_the_input_is_refused(tmp_path):
    source = DemoInput(rate_hz=RATE, channels=2, bits=24)
    settings = AudioTakeSettings(
        device="demo", item="TC002", library=tmp_path, rate_hz=RATE, seconds=1, ltc_channel=3
    )
    with pytest.raises(Exception, match="--ltc-channel 3: the input has 2 channel"):
        AudioTake(settings, input=source).start()
    assert not (tmp_path / "TC002").exists()


def test_timecode_verb(tmp_path, capsys):
    signal, _ = ltc.join(
        ltc.ltc_signal("01:00:00:00", 60, "30", RATE),
        ltc.silence(0.3, RATE),
        ltc.ltc_signal("01:00:05:00", 60, "30", RATE),
    )
    stereo = np.stack([np.zeros_like(signal), signal], axis=1)
    path = tmp_path / "tape.wav"
    sf.write(path, stereo, RATE, subtype="PCM_24")
    assert main(["timecode", str(path), "--channel", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fps"] == "30" and report["drop_frame"] is False
    assert report["first"]["timecode"].startswith("01:00:00:0")
    assert report["last"]["timecode"].startswith("01:00:06:")
    assert [(b["before"][:8], b["after"][:8]) for b in report["breaks"]] == [
        ("01:00:01", "01:00:05")
    ]
    assert main(["timecode", str(path), "--channel", "2"]) == 0
    out = capsys.readouterr().out
    assert "breaks 1" in out and "30 fps" in out
    assert main(["timecode", str(path), "--channel", "1"]) == 1  # silence: no code
    assert "no LTC found on channel 1" in capsys.readouterr().err
    assert main(["timecode", str(path), "--channel", "3"]) == 2
    assert "has 2 channel(s); no channel 3" in capsys.readouterr().err
    assert main(["timecode", str(tmp_path / "missing.wav")]) == 2
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00garbage" * 10)
    assert main(["timecode", str(junk)]) == 2
    assert capsys.readouterr().err.count("\n") >= 1


def test_timecode_verb_reads_a_matroska_file(tmp_path, capsys):
    wave, _ = ltc.ltc_signal("00:59:59:00", 50, "25", RATE)
    wav = tmp_path / "ltc.wav"
    sf.write(wav, wave, RATE, subtype="PCM_16")
    mkv = tmp_path / "ltc.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x48:r=25:d=2",
         "-i", str(wav), "-c:v", "ffv1", "-c:a", "pcm_s16le", "-shortest", str(mkv)],
        check=True,
    )  # fmt: skip
    assert main(["timecode", str(mkv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["first"]["timecode"].startswith("00:59:59:0") and report["fps"] == "25"


@pytest.mark.slow
def test_video_take_writes_matroska_timecode_and_vtt(tmp_path):
    from capture.video.take import VideoTake, VideoTakeSettings

    signal, planted = ltc.join(
        ltc.ltc_signal("01:00:00:00", 50, "25", RATE, level_db=-12),
        ltc.silence(0.4, RATE),
        ltc.ltc_signal("03:00:00:00", 40, "25", RATE, level_db=-12),
    )
    wav = tmp_path / "ltc.wav"
    sf.write(wav, np.stack([np.zeros_like(signal), signal], axis=1), RATE, subtype="PCM_24")
    settings = VideoTakeSettings(
        device="lavfi:testsrc2=size=320x240:rate=25",
        library=tmp_path,
        item="VTC001",
        seconds=3.6,
        audio_device=f"lavfi:amovie={wav}",
        run_qc=False,
        ltc_channel=2,
    )
    take = VideoTake(settings)
    paths = take.start()
    assert take.wait(60) and take.result is not None and take.result.fixity_ok
    master = paths.master("video")
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream_tags", "-of", "json", str(master)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    video_tags = json.loads(probe)["streams"][0]["tags"]
    assert video_tags["TIMECODE"] == "01:00:00:00" and "DURATION" in video_tags
    if shutil.which("mediainfo"):
        out = subprocess.run(
            ["mediainfo", "--Inform=Video;%TimeCode_FirstFrame%|%TimeCode_Source%", str(master)],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        assert out == "01:00:00:00|Matroska tags"
    assert read_md5_file(master.with_name(master.name + ".md5"))[0][0] == file_md5(master)
    vtt = (paths.directory / f"{paths.stem}.timecode.vtt").read_text()
    assert vtt.startswith("WEBVTT")
    cues = [block.splitlines() for block in vtt.split("\n\n")[2:] if block.strip()]
    texts = [cue[2] for cue in cues]
    assert texts[0].startswith("01:00:00:0") and texts[1].startswith("01:00:01:0")
    assert any(t.startswith("03:00:00:0") for t in texts)  # a new cue where the code jumps
    assert not any(t.startswith("01:00:02") for t in texts)  # the code ended at 01:00:01:24
    starts = {t: cue[1].split(" --> ")[0] for t, cue in zip(texts, cues, strict=True)}
    after_break = next(t for t in texts if t.startswith("03:"))
    assert starts[after_break] >= "00:00:02.3"  # 2 s of code + 0.4 s of silence
    event = log_events(paths.directory, "timecode")[0]
    assert event.level == "WARN" and len(event.fields["breaks"]) == 1


def test_video_ltc_channel_needs_audio(tmp_path):
    from capture.video.take import VideoTake, VideoTakeSettings
    from metadata.errors import HeadblockError

    settings = VideoTakeSettings(
        device="lavfi:testsrc2=size=320x240:rate=25",
        library=tmp_path,
        item="VTC002",
        seconds=1,
        audio_device="none",
        ltc_channel=1,
    )
    with pytest.raises(HeadblockError, match="--ltc-channel 1: the take's audio has 0 channel"):
        VideoTake(settings).start()
    assert not (tmp_path / "VTC002").exists()
