"""The versioned settings file: round trip, upgrade from version 1, a damaged file."""

import tomllib

from metadata.settings import SETTINGS_VERSION, Settings, config_path, load_settings, save_settings


def test_round_trip_in_headblock_config(fresh_settings):
    assert config_path() == fresh_settings
    s = Settings(library="/srv/lib", item="ARC-1", preset="Cassette, Dolby B", mode="video")
    s.audio.device = "pulse"
    s.audio.rate_hz = 48000
    s.video.device = "demo:pal"
    s.meta = {"carrier": "cassette", "technician": "Ada"}
    s.catalogue_url = "postgresql+psycopg://lab@db/headblock"
    save_settings(s)
    data = tomllib.loads(fresh_settings.read_text())
    assert data["version"] == SETTINGS_VERSION
    back = load_settings()
    assert back == s
    # The catalogue reads the same file for a lab-wide database.
    from metadata.catalogue import database as catalogue

    assert catalogue._settings_url() == s.catalogue_url


def test_defaults_without_a_file(fresh_settings):
    s = load_settings()
    assert s.audio.device == "demo" and s.audio.rate_hz == 96000 and s.audio.bits == 24
    assert s.library  # a default library folder is always set
    assert not fresh_settings.exists()


def test_upgrade_from_version_1(fresh_settings):
    fresh_settings.parent.mkdir(parents=True)
    fresh_settings.write_text(
        'version = 1\ndevice = "Scarlett"\nrate = 192000\nbits = 24\nchannels = 2\n'
        'library_dir = "/data/lib"\nitem = "X-1"\n[meta]\ntechnician = "Bo"\n'
    )
    s = load_settings()
    assert s.version == SETTINGS_VERSION
    assert (s.audio.device, s.audio.rate_hz, s.audio.channels) == ("Scarlett", 192000, 2)
    assert s.library == "/data/lib" and s.item == "X-1" and s.meta["technician"] == "Bo"


def test_damaged_file_is_kept_aside(fresh_settings):
    fresh_settings.parent.mkdir(parents=True)
    fresh_settings.write_text("this is = = not toml")
    s = load_settings()
    assert s.audio.device == "demo"
    assert fresh_settings.with_suffix(".toml.bad").exists()


def test_wrong_types_fall_back_to_defaults(fresh_settings):
    fresh_settings.parent.mkdir(parents=True)
    fresh_settings.write_text('version = 2\n[audio]\nrate_hz = "fast"\nchannels = 4\n')
    s = load_settings()
    assert s.audio.rate_hz == 96000 and s.audio.channels == 4


def test_upgrade_from_version_2_adds_delivery_and_no_deck_and_keeps_the_rest(fresh_settings):
    fresh_settings.parent.mkdir(parents=True)
    fresh_settings.write_text(
        'version = 2\nlibrary = "/data/lib"\n[audio]\ndevice = "Scarlett"\nltc_channel = 2\n'
        '[video]\ndevice = "demo:pal"\n'
    )
    s = load_settings()
    assert s.version == SETTINGS_VERSION == 4
    assert s.delivery.auto_derive == "off"  # version 3 on the way
    assert s.deck.port == "" and s.deck.preroll_s == 5 and s.deck.source == "ltc"
    assert (s.audio.device, s.audio.ltc_channel, s.video.device) == ("Scarlett", 2, "demo:pal")
    s.deck.port, s.deck.preroll_s, s.deck.in_tc = "/dev/ttyUSB0", 3, "01:00:00:00"
    save_settings(s)
    again = load_settings()
    assert (again.deck.port, again.deck.preroll_s, again.deck.in_tc) == (
        "/dev/ttyUSB0", 3, "01:00:00:00",
    )  # fmt: skip
