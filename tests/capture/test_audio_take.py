"""Audio takes end to end: the demo deck and a real PortAudio device (private PulseAudio)."""

import signal
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from capture.audio_take import AudioTake, AudioTakeSettings
from capture.demo import demo_program
from headblock.cli import main
from metadata.formats import bwf
from metadata.take.meta import TakeMeta
from tests.capture.helpers import best_offset, log_events, only_take_dir, spawn, wait_for


def demo_pcm24(start, n, channels=2, rate=96000):
    x = demo_program(rate, channels, start, n, seed=0).astype(np.float64)
    return np.clip(np.rint(x * 2**23), -(2**23), 2**23 - 1).astype(np.int32)


def test_demo_take_through_the_command_line(tmp_path, capsys):
    lib = tmp_path / "lib"
    status = main(
        ["capture", "audio", "--device", "demo", "--item", "REEL-001", "--library", str(lib),
         "--seconds", "1.5", "--meta", "carrier=open_reel", "--meta", "deck=Studer A807",
         "--meta", "tape_speed=7.5 ips", "--meta", "originator=Test Archive",
         "--meta", "technician=Ada"]
    )  # fmt: skip
    assert status in (0, 1)  # QC may pass, warn or fail on 1.5 s of program
    take = only_take_dir(lib, "REEL-001")
    stem = take.name
    wav = take / f"{stem}.wav"
    for suffix in (".wav", ".wav.md5", ".pbcore.xml", ".premis.xml", ".log"):
        assert (take / f"{stem}{suffix}").is_file(), suffix
    assert not (take / ".headblock-reserve").exists()
    # exactly the media time asked for, the source's format
    info = sf.info(str(wav))
    assert (info.frames, info.samplerate, info.channels) == (144000, 96000, 2)
    assert info.subtype == "PCM_24"
    # the bext written from the metadata, CodingHistory per EBU R 98
    bext = bwf.read_bext(wav)
    assert bext["originator"] == "Test Archive"
    assert bext["originator_reference"] == stem
    history = bext["coding_history"]
    if isinstance(history, str):
        history = [x for x in history.replace("\r", "").split("\n") if x]
    assert history[0].startswith('A=ANALOGUE,M=stereo,T=1/4" open reel; 7.5 ips; Studer A807')
    assert history[1].startswith("A=PCM,F=96000,W=24,M=stereo")
    # fixity: md5sum -c passes
    r = subprocess.run(["md5sum", "-c", f"{stem}.wav.md5"], cwd=take, capture_output=True)
    assert r.returncode == 0, r.stdout
    # the log: take_start carries what recover needs, then stop and fixity
    start = log_events(take, "take_start")[0].fields
    assert start["kind"] == "audio" and start["device"]["backend"] == "demo"
    assert start["settings"]["rate_hz"] == 96000 and start["meta"]["deck"] == "Studer A807"
    stop = log_events(take, "take_stop")[0].fields
    assert stop["frames"] == 144000 and stop["reason"] == "duration"
    assert log_events(take, "fixity")[0].fields["verified"] is True
    assert log_events(take, "overflow") == []  # the demo deck is paced without loss
    # the audio is the demo program, sample-exact, from its head (the deck "rewinds")
    audio, _ = sf.read(str(wav), dtype="int32")
    np.testing.assert_array_equal(audio >> 8, demo_pcm24(0, len(audio)))
    out = capsys.readouterr()
    assert str(take) in out.out


def test_second_take_never_overwrites_the_first(tmp_path):
    lib = tmp_path / "lib"
    args = ["capture", "audio", "--device", "demo", "--item", "TAPE_2", "--library", str(lib),
            "--seconds", "0.5", "--no-qc"]  # fmt: skip
    assert main(args) == 0
    first = lib / "TAPE_2" / "TAPE_2_t01" / "TAPE_2_t01.wav"
    before = first.read_bytes()
    assert main(args) == 0
    assert (lib / "TAPE_2" / "TAPE_2_t02" / "TAPE_2_t02.wav").is_file()
    assert first.read_bytes() == before


@pytest.mark.parametrize(
    "args, words",
    [
        (["--item", "../escape"], "identifier"),
        (["--item", "has space"], "identifier"),
        (["--item", "-dash"], "may not start"),
        (["--device", "no-such-device-xyz"], "no audio input"),
        (["--rate", "400000", "--device", "pulse"], "400000"),
        (["--rate", "1000"], "Hz, not 1000"),
    ],
)
def test_bad_input_is_one_line_exit_2(pulse_server, tmp_path, capsys, args, words):
    base = {"--device": "demo", "--item": "OK1", "--library": str(tmp_path / "lib")}
    argv = ["capture", "audio", "--seconds", "1", "--no-qc"]
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv += [f"{key}={value}" for key, value in {**base, **given}.items()]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not (tmp_path / "lib" / "OK1").exists()  # nothing created for bad input


def test_unwritable_library_is_one_line_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    argv = ["capture", "audio", "--device", "demo", "--item", "X1", "--library",
            str(blocker / "lib"), "--seconds", "1", "--no-qc"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "library" in err and "Traceback" not in err


def test_bad_identifier_in_a_real_process(tmp_path):
    proc = spawn(["capture", "audio", "--device", "demo", "--item", "bad/id", "--library",
                  str(tmp_path), "--seconds", "1"])  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "identifier" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_stops_cleanly(tmp_path):
    lib = tmp_path / "lib"
    proc = spawn(["capture", "audio", "--device", "demo", "--item", "SIG", "--library",
                  str(lib), "--no-qc"])  # fmt: skip
    try:
        take = wait_for(lambda: list((lib / "SIG").glob("SIG_t*")), 30)[0]
        wait_for(lambda: log_events(take, "take_start"), 10)
        time.sleep(1.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    stop = log_events(take, "take_stop")[0].fields
    assert stop["reason"] == "signal SIGTERM"
    frames = sf.info(str(take / "SIG_t01.wav")).frames
    assert frames == stop["frames"] and frames > 96000 * 0.8
    assert (take / "SIG_t01.wav.md5").is_file()


def test_portaudio_take_records_the_played_signal_exactly(pulse_server, tmp_path):
    rate = 96000
    rng = np.random.default_rng(7)
    # 24-bit noise bursts in the top of int32: the PulseAudio path is exact
    ref = rng.integers(-(2**22), 2**22, size=(rate // 2, 2), dtype=np.int32) << 8
    events = []
    settings = AudioTakeSettings(
        device="pulse",
        item="PA_1",
        library=tmp_path / "lib",
        rate_hz=rate,
        meta=TakeMeta(carrier="cassette"),
        qc=False,
        on_event=lambda name, fields: events.append(name),
    )
    take = AudioTake(settings)
    paths = take.start()
    assert take.status().state == "recording"
    pulse_server.play(ref, rate)
    # the monitor delivers late under load: stop once 0.5 s past the signal is on disk
    played = take.status().frames_written
    wait_for(lambda: take.status().frames_written > played + rate, 30)
    take.stop()
    assert take.wait(30)
    assert take.result.fixity_ok and take.result.exit_status == 0
    assert take.status().closing == 1.0  # the read-back reported its progress to the end
    wav = paths.master("audio")
    audio, sr = sf.read(str(wav), dtype="int32")
    assert sr == rate and audio.shape[1] == 2
    off = best_offset(audio, ref)
    np.testing.assert_array_equal(audio[off : off + len(ref)], ref)
    assert "take_start" in events and "take_stop" in events
    assert log_events(paths.directory, "overflow") == []  # no false alarm on a clean take
    assert take.status().state == "done"


def test_take_past_the_rf64_threshold_becomes_rf64(tmp_path):
    settings = AudioTakeSettings(
        device="demo", item="LONG", library=tmp_path, seconds=1.0, qc=False,
        rf64_threshold_bytes=200_000,  # stands in for 4 GiB
    )  # fmt: skip
    take = AudioTake(settings)
    paths = take.start()
    assert take.wait(30)
    info = sf.info(str(paths.master("audio")))
    assert info.format == "RF64" and info.frames == 96000
    assert take.result.record.audio.container == "RF64" and take.result.fixity_ok
    audio, _ = sf.read(str(paths.master("audio")), dtype="int32")
    np.testing.assert_array_equal(audio >> 8, demo_pcm24(0, len(audio)))  # no break


def test_writer_behind_is_logged_as_queue_depth(tmp_path, monkeypatch):
    from metadata.formats import bwf

    real_write = bwf.BWFWriter.write

    def slow_write(self, frames):  # a disk that stalls once for 0.6 s
        if not getattr(self, "_stalled", False) and self.frames_written > 20000:
            self._stalled = True
            time.sleep(0.6)
        return real_write(self, frames)

    monkeypatch.setattr(bwf.BWFWriter, "write", slow_write)
    from capture.backends import open_audio_input

    inp = open_audio_input("demo", 96000, 2, 24, ring_seconds=1.0)
    settings = AudioTakeSettings(
        device="demo", item="SLOW", library=tmp_path, seconds=1.5, qc=False
    )
    take = AudioTake(settings, input=inp)
    paths = take.start()
    assert take.wait(30)
    inp.stop()
    depth = log_events(paths.directory, "queue_depth")
    assert depth and depth[0].fields["fill"] >= 0.25
    assert log_events(paths.directory, "overflow") == []  # slow, but nothing lost
    assert sf.info(str(paths.master("audio"))).frames == 144000


def test_writer_stalled_past_the_ring_loses_audio_and_says_so(tmp_path, monkeypatch):
    from capture.backends import open_audio_input
    from metadata.formats import bwf

    real_write = bwf.BWFWriter.write

    def stalled_write(self, frames):  # a disk that hangs for 1.5 s with a 0.5 s ring
        if not getattr(self, "_stalled", False) and self.frames_written > 20000:
            self._stalled = True
            time.sleep(1.5)
        return real_write(self, frames)

    monkeypatch.setattr(bwf.BWFWriter, "write", stalled_write)
    inp = open_audio_input("demo", 96000, 2, 24, ring_seconds=0.5)
    settings = AudioTakeSettings(
        device="demo", item="RING", library=tmp_path, seconds=2.5, qc=False
    )
    take = AudioTake(settings, input=inp)
    paths = take.start()
    assert take.wait(30)
    inp.stop()
    losses = log_events(paths.directory, "overflow")
    assert losses and {e.fields["source"] for e in losses} == {"ring"}
    lost = sum(e.fields["frames_lost"] for e in losses)
    assert 0.5 * 96000 < lost < 1.45 * 96000  # ~1.5 s stall - 0.5 s ring
    assert 0.1 < losses[0].fields["at_s"] < 1.5
    assert take.result.record.frames_lost == lost


@pytest.mark.parametrize(
    "verdict, fixity_ok, status",
    [("pass", True, 0), ("warn", True, 0), (None, True, 0), ("fail", True, 1), ("pass", False, 1)],
)
def test_exit_status_follows_qc_and_fixity(verdict, fixity_ok, status):
    from capture.take import TakeResult

    result = TakeResult(paths=None, record=None, fixity_ok=fixity_ok, qc_verdict=verdict)
    assert result.exit_status == status


def test_meta_file_and_meta_pairs_feed_the_bext(tmp_path):
    meta = tmp_path / "item.toml"
    meta.write_text(
        '[item]\ntitle = "Interview, side A"\ndescription = "Oral history reel 12"\n'
        'carrier = "cassette"\nnoise_reduction = "Dolby B"\n'
    )
    lib = tmp_path / "lib"
    argv = ["capture", "audio", "--device", "demo", "--item", "OH-12", "--library", str(lib),
            "--seconds", "0.3", "--no-qc", "--meta-file", str(meta), "--meta", "deck=Nakamichi"]  # fmt: skip
    assert main(argv) == 0
    take = only_take_dir(lib, "OH-12")
    bext = bwf.read_bext(take / "OH-12_t01.wav")
    assert bext["description"] == "Oral history reel 12"
    history = bext["coding_history"]
    if isinstance(history, str):
        history = [x for x in history.replace("\r", "").split("\n") if x]
    assert "Audio cassette" in history[0] and "NR Dolby B" in history[0]
    assert "Nakamichi" in history[0]
    start = log_events(take, "take_start")[0].fields
    assert start["meta"]["title"] == "Interview, side A"


def test_missing_meta_file_is_exit_2(tmp_path, capsys):
    argv = ["capture", "audio", "--device", "demo", "--item", "X2", "--library",
            str(tmp_path), "--meta-file", str(tmp_path / "none.toml")]  # fmt: skip
    assert main(argv) == 2
    assert "does not exist" in capsys.readouterr().err


def test_closing_text_says_what_a_closing_take_does():
    from types import SimpleNamespace

    from headblock.terminal import closing_text

    assert closing_text(SimpleNamespace(closing=None)) == ""
    assert "reading the master back  45%" in closing_text(SimpleNamespace(closing=0.45))
    assert "recording its fixity" in closing_text(SimpleNamespace(closing=1.0))
