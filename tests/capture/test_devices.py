"""``headblock devices``: PortAudio inputs with their rates, the demo deck, video inputs."""

import json

import pytest

from capture.audio_input import resolve_device
from capture.backends import open_audio_input
from headblock.cli import main
from metadata.errors import HeadblockError
from tests.capture.helpers import wait_for


def test_devices_json_lists_pulse_with_rates_and_the_demo(pulse_server, capsys):
    assert main(["devices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [d["name"] for d in data["audio"]]
    assert "pulse" in names and names[-1] == "demo"
    pulse = data["audio"][names.index("pulse")]
    assert 96000 in pulse["rates_hz"] and pulse["channels"] >= 2
    assert isinstance(data["video"], list)


def test_devices_text(pulse_server, capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "pulse" in out and "demo" in out and "Video inputs" in out


def test_device_by_index_and_substring(pulse_server):
    index = resolve_device("pulse")
    assert resolve_device(str(index)) == index
    assert resolve_device("puls") == index
    with pytest.raises(HeadblockError, match="inputs: .*pulse"):
        resolve_device("no-such-thing")


def test_monitoring_input_latest_is_float_for_meters(pulse_server):
    inp = open_audio_input("pulse", 96000, 2, 24)
    with inp:
        assert inp.wait_first_block(10)
        pulse_server.play([[0.5, -0.25]] * 48000, 96000, lead_in_s=0)

        def tone_seen():
            block = inp.latest(96000)
            return ((block[:, 0] == 0.5) & (block[:, 1] == -0.25)).sum() > 40000

        wait_for(tone_seen, 10)  # the monitor delivers late under load
        block = inp.latest(96000)
    assert block.dtype.name == "float32" and block.shape[1] == 2
    assert inp.stats().frames_received > 0
    assert inp.describe()["backend"] == "portaudio"
