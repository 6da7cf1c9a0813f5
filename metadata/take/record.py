"""The facts of one take that PBCore, PREMIS, the catalogue and the report are written from."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from metadata import SOFTWARE_NAME, __version__
from metadata.take.meta import TakeMeta


def software_string() -> str:
    return f"{SOFTWARE_NAME} {__version__}"


@dataclass
class AudioEssence:
    rate_hz: int
    bits: int
    channels: int
    codec: str = "PCM"  # "PCM" in BWF; "pcm_s24le" etc. inside Matroska
    container: str = "BWF"  # "BWF", "RF64" or "Matroska"


@dataclass
class VideoEssence:
    codec: str  # "FFV1"
    codec_version: str  # "3.4"
    width: int
    height: int
    pix_fmt: str  # FFmpeg name, e.g. "yuv422p10le"
    bit_depth: int
    chroma_subsampling: str  # "4:2:2"
    frame_rate: str  # exact rational, e.g. "30000/1001"
    frames: int
    field_order: str = "progressive"  # "tff", "bff", "progressive"
    display_aspect_ratio: str = "4:3"
    standard: str = ""  # "NTSC", "PAL" or ""
    color_primaries: str = ""
    color_transfer: str = ""
    color_matrix: str = ""


@dataclass
class TakeRecord:
    item: str
    take_number: int
    kind: str  # "audio" | "video"
    master: Path
    size_bytes: int
    md5: str
    duration_s: float
    started_utc: datetime
    ended_utc: datetime
    device: str
    meta: TakeMeta = field(default_factory=TakeMeta)
    audio: AudioEssence | None = None
    video: VideoEssence | None = None
    frames_lost: int = 0  # audio sample frames or video frames lost in capture
    overflows: int = 0
    outcome: str = "complete"  # "complete", "stopped: disk full", "recovered", ...
    station: str = field(default_factory=platform.node)
    software: str = field(default_factory=software_string)

    @property
    def identifier(self) -> str:
        return f"{self.item}_t{self.take_number:02d}"


@dataclass
class DerivativeRecord:
    """An access copy made from a take's master: the facts its PBCore, PREMIS event and
    catalogue row are written from."""

    item: str
    take_number: int
    profile: str  # the derivative profile's name, also in the file name
    path: Path  # ITEM_tNN.<profile>.mp4|.mp3|.m4a
    master: Path
    master_md5: str
    size_bytes: int
    md5: str
    duration_s: float
    created_utc: datetime
    mime_type: str  # "video/mp4", "audio/mpeg", "audio/mp4"
    container: str  # "MPEG-4 Part 14", "MPEG-1 Audio Layer III"
    process: str  # how it was made, in one line (codecs, settings, filters)
    video_codec: str = ""  # "H.264/AVC"
    width: int = 0
    height: int = 0
    frame_rate: str = ""  # exact rational
    frames: int = 0
    display_aspect_ratio: str = ""
    deinterlace: str = ""  # what was done to the master's fields; "" when progressive
    audio_codec: str = ""  # "AAC", "MP3"
    audio_rate_hz: int = 0
    audio_channels: int = 0
    audio_bitrate_bps: int = 0
    loudness: str = ""  # the normalisation, in words; "" when the profile asks for none
    software: str = field(default_factory=software_string)

    @property
    def identifier(self) -> str:
        return f"{self.item}_t{self.take_number:02d}.{self.profile}"

    @property
    def kind(self) -> str:
        return "video" if self.video_codec else "audio"
