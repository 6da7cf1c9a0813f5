"""The station's settings: a versioned model saved as TOML in the user's config folder.

``$HEADBLOCK_CONFIG`` (a file path) overrides the location, e.g. for tests; otherwise
``$XDG_CONFIG_HOME/headblock/settings.toml`` (``~/.config`` when unset). A file written by an
older version is brought forward by the upgrade steps in ``UPGRADES`` (one per version number),
so a station keeps its devices and form values across releases. Window geometry is not here
(the window keeps it in QSettings).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import tomli_w

from metadata.errors import HeadblockError
from metadata.files import write_atomic

SETTINGS_VERSION = 4


@dataclass
class AudioInputSettings:
    device: str = "demo"  # PortAudio name substring / index, or "demo"
    rate_hz: int = 96000
    bits: int = 24
    channels: int = 2
    ltc_channel: int = 0  # channel (from 1) carrying the tape's LTC; 0 = none


@dataclass
class VideoInputSettings:
    device: str = ""  # FORMAT:TARGET (v4l2:/dev/video0, lavfi:..., demo:ntsc); "" = audio only
    standard: str = "ntsc"  # "ntsc" | "pal"
    audio_device: str = ""  # "" = the device's embedded audio
    # the station's own FFmpeg for ``ffmpeg:ARGS`` inputs (e.g. one built with the DeckLink
    # SDK): a path or a name on PATH; $HEADBLOCK_FFMPEG overrides it
    ffmpeg: str = "ffmpeg"


# when the window makes access copies by itself: never, once a take's QC passes (or warns)
# after capture, or once a supervisor approves it
AUTO_DERIVE = ("off", "after_qc", "after_signoff")


@dataclass
class DeliverySettings:
    auto_derive: str = "off"  # one of AUTO_DERIVE
    profiles: list[str] = field(default_factory=lambda: ["access"])  # derivative profiles


@dataclass
class DeckSettings:
    port: str = ""  # the deck's serial port (Sony 9-pin, RS-422), e.g. /dev/ttyUSB0; "" = none
    preroll_s: int = 5  # capture from IN to OUT: cued this long before IN
    source: str = "ltc"  # the deck's time to read: ltc, vitc, timer1, timer2, auto
    timeout_s: float = 0.5  # an answer later than this is no answer
    in_tc: str = ""  # the last IN and OUT typed
    out_tc: str = ""


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    library: str = ""
    mode: str = "audio"  # which take the Record button starts: "audio" | "video"
    item: str = ""  # the last item identifier typed
    preset: str = ""  # the last carrier preset chosen
    confirm_stop_after_min: float = 10.0  # ask before stopping a take longer than this
    catalogue_url: str = ""  # SQLAlchemy URL shared by a lab's stations; "" = SQLite in the library
    organization: str = ""  # the archive, named in packages (BagIt Source-Organization)
    station: str = ""  # this station's name in the claims of a shared catalogue; "" = host name
    audio: AudioInputSettings = field(default_factory=AudioInputSettings)
    video: VideoInputSettings = field(default_factory=VideoInputSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    deck: DeckSettings = field(default_factory=DeckSettings)
    meta: dict[str, str] = field(default_factory=dict)  # TakeMeta fields, the last values

    def to_dict(self) -> dict:
        data = asdict(self)
        data["meta"] = {k: v for k, v in self.meta.items() if isinstance(v, str) and v}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        """Settings from an up-to-date dict; unknown keys are ignored, wrong types fall back."""
        s = cls()
        for f in fields(cls):
            if f.name not in data or f.name in (
                "audio",
                "video",
                "delivery",
                "deck",
                "meta",
                "version",
            ):
                continue
            default = getattr(s, f.name)
            setattr(s, f.name, _coerce(data[f.name], default))
        for name, sub_cls in (
            ("audio", AudioInputSettings),
            ("video", VideoInputSettings),
            ("deck", DeckSettings),
        ):
            sub = sub_cls()
            for f in fields(sub_cls):
                value = (data.get(name) or {}).get(f.name)
                if value is not None:
                    setattr(sub, f.name, _coerce(value, getattr(sub, f.name)))
            setattr(s, name, sub)
        s.delivery = _delivery_from(data.get("delivery"))
        meta = data.get("meta") or {}
        s.meta = {str(k): str(v) for k, v in meta.items() if not isinstance(v, dict)}
        return s


def _delivery_from(data) -> DeliverySettings:
    """Unknown values fall back: an auto-derive mode not known is "off", and profile names
    that are not strings are dropped (a profile that no longer exists is said when used)."""
    out = DeliverySettings()
    if not isinstance(data, dict):
        return out
    if data.get("auto_derive") in AUTO_DERIVE:
        out.auto_derive = data["auto_derive"]
    profiles = data.get("profiles")
    if isinstance(profiles, str):
        profiles = [profiles]
    if isinstance(profiles, list):
        names = [p.strip() for p in profiles if isinstance(p, str) and p.strip()]
        out.profiles = list(dict.fromkeys(names)) or out.profiles
    return out


def _coerce(value, default):
    try:
        if isinstance(default, bool):
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        return default


# -- upgrades ------------------------------------------------------------------------------
def _v1_to_v2(data: dict) -> dict:
    """Version 1 kept the audio input flat (``device``, ``rate``, ``bits``, ``channels``) and
    the library as ``library_dir``; version 2 nests inputs and adds the video input."""
    out = {k: v for k, v in data.items() if k not in ("device", "rate", "bits", "channels")}
    audio = {}
    for old, new in (
        ("device", "device"),
        ("rate", "rate_hz"),
        ("bits", "bits"),
        ("channels", "channels"),
    ):
        if old in data:
            audio[new] = data[old]
    out["audio"] = audio
    if "library_dir" in out:
        out["library"] = out.pop("library_dir")
    out.setdefault("video", {})
    return out


def _v2_to_v3(data: dict) -> dict:
    """Version 3 adds the ``[delivery]`` section (access copies made by the window itself):
    an older station keeps making none until someone turns it on."""
    out = dict(data)
    out.setdefault("delivery", {"auto_derive": "off", "profiles": ["access"]})
    return out


def _v3_to_v4(data: dict) -> dict:
    """Version 4 adds the deck (Sony 9-pin) section; a station without one has no deck."""
    out = dict(data)
    out.setdefault("deck", {})
    return out


UPGRADES = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}  # from version N to N + 1


def upgrade(data: dict) -> dict:
    version = int(data.get("version", 1))
    if version > SETTINGS_VERSION:
        # Written by a newer Headblock: read what we understand, never write over it blindly.
        return dict(data)
    while version < SETTINGS_VERSION:
        data = UPGRADES[version](data)
        version += 1
        data["version"] = version
    return data


# -- files ---------------------------------------------------------------------------------
def config_path() -> Path:
    override = os.environ.get("HEADBLOCK_CONFIG")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "headblock" / "settings.toml"


def default_library() -> Path:
    return Path.home() / "Headblock"


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, upgraded; defaults when there is no file yet.

    A damaged file is not fatal for the station: it is kept aside as ``.bad`` and the defaults
    are used, so the technician can still work.
    """
    path = Path(path) if path else config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(library=str(default_library()))
    except OSError as exc:
        raise HeadblockError(f"cannot read the settings {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            path.replace(path.with_suffix(path.suffix + ".bad"))
        except OSError:
            pass
        return Settings(library=str(default_library()))
    settings = Settings.from_dict(upgrade(data))
    if not settings.library:
        settings.library = str(default_library())
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temporary file then rename) so a crash never leaves half a file."""
    path = Path(path) if path else config_path()
    data = settings.to_dict()
    data["version"] = SETTINGS_VERSION
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, tomli_w.dumps(data))
    except OSError as exc:
        raise HeadblockError(f"cannot write the settings {path}: {exc.strerror}") from exc
    return path
