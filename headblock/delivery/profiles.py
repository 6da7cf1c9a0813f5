"""Derivative profiles: TOML files saying how an access copy is made from a master.

Named (``access``, ``web`` in ``resources/derive/``) or given by path, as QC profiles are.
``[video]`` (FFV1 masters -> H.264/AAC in MP4): ``crf``, ``preset``, ``audio_codec``
(``aac``), ``audio_bitrate_kbps``, ``burn_in`` (the take's identifier and the tape's timecode, or
the time from the start, drawn along the bottom of the picture). ``[audio]`` (WAV masters): ``codec`` (``mp3`` -> ``.mp3``,
``aac`` -> ``.m4a``), ``bitrate_kbps``, ``rate_hz``. ``[loudness]``: ``normalise`` to EBU R 128
(``target_lufs``, ``max_true_peak_dbtp``), for the sound of both kinds. Every key is optional
(the ``access`` values below are the defaults); an unknown key or a bad value is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.files import read_toml
from resources import resource_path

PROFILES_DIR = resource_path("derive")
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
AUDIO_CODECS = {"mp3": ("libmp3lame", ".mp3", "mp3"), "aac": ("aac", ".m4a", "ipod")}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # it goes into file names


@dataclass(frozen=True)
class DeriveProfile:
    name: str
    description: str = ""
    source: Path | None = None
    # video masters
    crf: float = 18.0
    preset: str = "medium"
    video_audio_codec: str = "aac"
    video_audio_bitrate_kbps: int = 192
    burn_in: bool = False  # the identifier and timecode drawn on the picture
    # audio masters
    audio_codec: str = "mp3"
    audio_bitrate_kbps: int = 320
    audio_rate_hz: int = 48000
    # both
    normalise: bool = False
    target_lufs: float = -23.0
    max_true_peak_dbtp: float = -1.0

    def suffix(self, kind: str) -> str:
        """``.access.mp4`` / ``.access.mp3`` / ``.web.m4a``: what follows ``ITEM_tNN``."""
        ext = ".mp4" if kind == "video" else AUDIO_CODECS[self.audio_codec][1]
        return f".{self.name}{ext}"


# section.key -> (DeriveProfile field, type, check)
_KEYS = {
    "video.crf": ("crf", float, lambda v: 0 <= v <= 51, "between 0 and 51"),
    "video.preset": ("preset", str, lambda v: v in X264_PRESETS, "an x264 preset"),
    "video.audio_codec": ("video_audio_codec", str, lambda v: v == "aac", "aac"),
    "video.audio_bitrate_kbps": (
        "video_audio_bitrate_kbps",
        int,
        lambda v: 32 <= v <= 512,
        "between 32 and 512",
    ),
    "video.burn_in": ("burn_in", bool, lambda v: True, ""),
    "audio.codec": ("audio_codec", str, lambda v: v in AUDIO_CODECS, "mp3 or aac"),
    "audio.bitrate_kbps": ("audio_bitrate_kbps", int, lambda v: 32 <= v <= 320, "32 to 320"),
    "audio.rate_hz": ("audio_rate_hz", int, lambda v: v in (44100, 48000), "44100 or 48000"),
    "loudness.normalise": ("normalise", bool, lambda v: True, ""),
    "loudness.target_lufs": ("target_lufs", float, lambda v: -40 <= v <= -5, "-40 to -5"),
    "loudness.max_true_peak_dbtp": (
        "max_true_peak_dbtp",
        float,
        lambda v: -9 <= v <= 0,
        "-9 to 0",
    ),
}
_UNAVAILABLE: dict[str, str] = {}  # keys a lab may expect that are refused, and why


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _resolve(name_or_path) -> Path:
    s = str(name_or_path)
    p = Path(s)
    if s.endswith(".toml") or "/" in s or "\\" in s:
        if not p.is_file():
            raise HeadblockError(f"derivative profile file {s} does not exist")
        return p
    candidate = PROFILES_DIR / f"{s}.toml"
    if not _NAME_RE.match(s) or not candidate.is_file():
        raise HeadblockError(
            f"unknown derivative profile {s!r} (available: {', '.join(available_profiles())}; "
            "or give a path to a .toml file)"
        )
    return candidate


def _coerce(where: str, kind: type, value):
    if kind is bool:
        if not isinstance(value, bool):
            raise HeadblockError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise HeadblockError(f"{where}: expected text, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HeadblockError(f"{where}: expected a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise HeadblockError(f"{where}: expected a finite number, got {value!r}")
    if kind is int:
        if float(value) != int(value):
            raise HeadblockError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def profile_from_dict(data: dict, name: str, source: Path | None = None) -> DeriveProfile:
    label = str(source) if source else name
    values: dict = {}
    description = ""
    for section, table in data.items():
        if not isinstance(table, dict):
            raise HeadblockError(f"derivative profile {label}: {section} must be a table")
        for key, value in table.items():
            dotted = f"{section}.{key}"
            if section == "profile" and key in ("name", "description"):
                if not isinstance(value, str):
                    raise HeadblockError(f"derivative profile {label}: {dotted} must be text")
                if key == "name":
                    name = value
                else:
                    description = value
                continue
            if dotted in _UNAVAILABLE:
                raise HeadblockError(
                    f"derivative profile {label}: {dotted}: {_UNAVAILABLE[dotted]}"
                )
            if dotted not in _KEYS:
                raise HeadblockError(
                    f"derivative profile {label}: unknown key {dotted} (known: {', '.join(_KEYS)})"
                )
            attr, kind, ok, expected = _KEYS[dotted]
            value = _coerce(f"derivative profile {label}: {dotted}", kind, value)
            if not ok(value):
                raise HeadblockError(
                    f"derivative profile {label}: {dotted} must be {expected}, got {value!r}"
                )
            values[attr] = value
    if not _NAME_RE.match(name):
        raise HeadblockError(
            f"derivative profile {label}: the name {name!r} goes into file names: "
            "lower-case letters, digits, '_' and '-', at most 32"
        )
    return DeriveProfile(name=name, description=description, source=source, **values)


def load_derive_profile(name_or_path="access") -> DeriveProfile:
    """A profile by name (resources/derive/NAME.toml) or path; a DeriveProfile passes through."""
    if isinstance(name_or_path, DeriveProfile):
        return name_or_path
    path = _resolve(name_or_path)
    data = read_toml(path, "derivative profile")
    return profile_from_dict(data, name=path.stem, source=path)
