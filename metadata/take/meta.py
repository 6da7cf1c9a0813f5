"""What the technician says about the item, the carrier and the signal chain.

One record feeds the BWF bext/CodingHistory, PBCore, PREMIS, the report and the window's form.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from metadata.errors import HeadblockError

CARRIERS = {
    # key: (label, PBCore instantiationPhysical, kind)
    "open_reel": ('1/4" open reel', "1/4 inch audio tape", "audio"),
    "cassette": ("Audio cassette", "Audio cassette", "audio"),
    "dat": ("DAT", "DAT", "audio"),
    "disc": ("Lacquer / vinyl disc", "Lacquer disc", "audio"),
    "vhs": ("VHS", "VHS", "video"),
    "svhs": ("S-VHS", "S-VHS", "video"),
    "umatic": ("U-matic", "U-matic", "video"),
    "betacam_sp": ("Betacam SP", "Betacam SP", "video"),
    "betacam": ("Betacam", "Betacam", "video"),
    "hi8": ("Hi8", "Hi8", "video"),
    "other": ("Other", "Other", "any"),
}

# The usual set-ups of the carriers: name -> the TakeMeta fields it sets (a key of CARRIERS
# for "carrier"); other fields are left as typed.
CARRIER_PRESETS: dict[str, dict[str, str]] = {
    '1/4" reel, 7.5 ips, NAB, half-track': {
        "carrier": "open_reel",
        "tape_speed": "7.5 ips",
        "track_config": "half-track stereo",
        "equalisation": "NAB",
        "noise_reduction": "none",
        "tbc": "",
    },
    '1/4" reel, 15 ips, IEC, full-track': {
        "carrier": "open_reel",
        "tape_speed": "15 ips",
        "track_config": "full-track mono",
        "equalisation": "IEC (CCIR)",
        "noise_reduction": "none",
        "tbc": "",
    },
    "Cassette, Dolby B": {
        "carrier": "cassette",
        "tape_speed": "1 7/8 ips",
        "track_config": "quarter-track stereo",
        "equalisation": "120 µs (Type I)",
        "noise_reduction": "Dolby B",
        "tbc": "",
    },
    "VHS, SP": {
        "carrier": "vhs",
        "tape_speed": "SP",
        "track_config": "linear stereo",
        "equalisation": "",
        "noise_reduction": "",
        "tbc": "",
    },
    "U-matic": {
        "carrier": "umatic",
        "tape_speed": "3.75 ips (9.53 cm/s)",
        "track_config": "2 linear audio tracks",
        "equalisation": "",
        "noise_reduction": "",
        "tbc": "",
    },
    "Betacam SP": {
        "carrier": "betacam_sp",
        "tape_speed": "10.15 cm/s",
        "track_config": "2 linear + 2 AFM tracks",
        "equalisation": "",
        "noise_reduction": "Dolby C (linear tracks)",
        "tbc": "",
    },
}
# Choices offered for the free-text fields (anything else may be typed)
EQUALISATIONS = ("", "NAB", "IEC (CCIR)", "IEC2 / AES", "120 µs (Type I)", "70 µs (Type II/IV)")
NOISE_REDUCTIONS = (
    "",
    "none",
    "Dolby A",
    "Dolby B",
    "Dolby C",
    "Dolby SR",
    "dbx I",
    "dbx II",
    "telcom c4",
)


def carrier_kind(carrier: str) -> str:
    """ "audio", "video" or "any" (free text and "other")."""
    return CARRIERS.get(carrier, ("", "", "any"))[2]


@dataclass
class TakeMeta:
    """Item, carrier and signal chain. Every field is optional free text except where noted."""

    title: str = ""
    description: str = ""
    originator: str = ""  # the archive or organisation (bext Originator)
    originator_reference: str = ""  # bext OriginatorReference; derived from the take when empty
    carrier: str = ""  # a key of CARRIERS, or free text
    tape_speed: str = ""  # e.g. "7.5 ips", "SP"
    track_config: str = ""  # e.g. "half-track stereo"
    equalisation: str = ""  # "NAB", "IEC", ...
    noise_reduction: str = ""  # "none", "Dolby B", "dbx II", ...
    deck: str = ""  # playback machine make and model
    deck_serial: str = ""
    tbc: str = ""  # time base corrector (video)
    ad_interface: str = ""  # analog-to-digital interface / capture card
    technician: str = ""
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # any other KEY=VALUE

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]

    def set(self, key: str, value: str) -> None:
        key = key.strip().lower().replace("-", "_")
        if not key:
            raise HeadblockError("metadata key is empty (expected KEY=VALUE)")
        if key in self.field_names():
            setattr(self, key, value.strip())
        else:
            self.extra[key] = value.strip()

    def update_from_pairs(self, pairs: list[str]) -> TakeMeta:
        for pair in pairs or []:
            if "=" not in pair:
                raise HeadblockError(f"--meta takes KEY=VALUE, got {pair!r}")
            key, value = pair.split("=", 1)
            self.set(key, value)
        return self

    @classmethod
    def from_toml(cls, path: Path) -> TakeMeta:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise HeadblockError(f"metadata file {path} does not exist") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise HeadblockError(f"metadata file {path} is not valid TOML: {exc}") from exc
        meta = cls()
        table = data.get("item", data)
        for key, value in table.items():
            if isinstance(value, dict):
                for k2, v2 in value.items():
                    meta.set(k2, str(v2))
            else:
                meta.set(key, str(value))
        return meta

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TakeMeta:
        meta = cls()
        for key, value in (data or {}).items():
            if key == "extra":
                meta.extra.update({str(k): str(v) for k, v in (value or {}).items()})
            else:
                meta.set(key, str(value))
        return meta

    @property
    def carrier_label(self) -> str:
        return CARRIERS.get(self.carrier, (self.carrier,))[0] if self.carrier else ""

    @property
    def carrier_physical(self) -> str:
        """PBCore instantiationPhysical of the source carrier."""
        if self.carrier in CARRIERS:
            return CARRIERS[self.carrier][1]
        return self.carrier or "Unknown"


def channel_mode(channels: int) -> str:
    """EBU R 98's mode of a channel layout, used in CodingHistory and PBCore alike."""
    return {1: "mono", 2: "stereo"}.get(channels, "multitrack")


def _clean(text: str) -> str:
    # CodingHistory fields are comma separated: keep commas and line breaks out of free text.
    return " ".join(text.replace(",", ";").split())


def coding_history_lines(
    meta: TakeMeta, *, rate_hz: int, bits: int, channels: int, software: str
) -> list[str]:
    """EBU R 98 CodingHistory: the analogue source, then the A/D conversion to PCM."""
    source_parts = ["A=ANALOGUE", f"M={channel_mode(channels)}"]
    deck = " ".join(
        x for x in (meta.deck, f"SN{meta.deck_serial}" if meta.deck_serial else "") if x
    )
    text = "; ".join(
        _clean(x)
        for x in (
            meta.carrier_label,
            meta.tape_speed,
            meta.track_config,
            f"EQ {meta.equalisation}" if meta.equalisation else "",
            f"NR {meta.noise_reduction}" if meta.noise_reduction else "",
            deck,
        )
        if x
    )
    if text:
        source_parts.append(f"T={text}")
    pcm_parts = ["A=PCM", f"F={rate_hz}", f"W={bits}", f"M={channel_mode(channels)}"]
    t2 = "; ".join(_clean(x) for x in (meta.ad_interface, software) if x)
    if t2:
        pcm_parts.append(f"T={t2}")
    return [",".join(source_parts), ",".join(pcm_parts)]
