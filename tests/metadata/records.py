"""Fixed take records for the golden-file tests of the metadata writers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from metadata.take.meta import TakeMeta
from metadata.take.record import AudioEssence, TakeRecord, VideoEssence


def audio_record() -> TakeRecord:
    meta = TakeMeta(
        title="Oral history: harbour workers, reel 3",
        description="Interviews recorded 1974",
        originator="Test Archive",
        carrier="open_reel",
        tape_speed="7.5 ips",
        track_config="half-track stereo",
        equalisation="NAB",
        noise_reduction="none",
        deck="Studer A810",
        deck_serial="12345",
        ad_interface="RME Fireface UFX",
        technician="Ada Lovelace",
        notes="leader spliced at head & tail <ok>",
        extra={"box": "12"},
    )
    return TakeRecord(
        item="OH-1974.003",
        take_number=1,
        kind="audio",
        master=Path("/library/OH-1974.003/OH-1974.003_t01/OH-1974.003_t01.wav"),
        size_bytes=691_201_234,
        md5="0123456789abcdef0123456789abcdef",
        duration_s=1200.25,
        started_utc=datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC),
        ended_utc=datetime(2026, 11, 22, 9, 20, 1, tzinfo=UTC),
        device="pulse",
        meta=meta,
        audio=AudioEssence(rate_hz=96000, bits=24, channels=2),
        station="bench-1",
        software="Headblock 0.1.0",
    )


def video_record() -> TakeRecord:
    return TakeRecord(
        item="VHS-0042",
        take_number=2,
        kind="video",
        master=Path("/library/VHS-0042/VHS-0042_t02/VHS-0042_t02.mkv"),
        size_bytes=1_234_567_890,
        md5="fedcba9876543210fedcba9876543210",
        duration_s=60.06,
        started_utc=datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC),
        ended_utc=datetime(2026, 11, 22, 10, 1, 1, tzinfo=UTC),
        device="lavfi:testsrc2=size=720x486:rate=30000/1001",
        meta=TakeMeta(carrier="vhs", deck="Panasonic AG-1980", tbc="DataVideo TBC-1000"),
        audio=AudioEssence(
            rate_hz=48000, bits=24, channels=2, codec="pcm_s24le", container="Matroska"
        ),
        video=VideoEssence(
            codec="FFV1",
            codec_version="3.4",
            width=720,
            height=486,
            pix_fmt="yuv422p10le",
            bit_depth=10,
            chroma_subsampling="4:2:2",
            frame_rate="30000/1001",
            frames=1800,
            field_order="bff",
            display_aspect_ratio="4:3",
            standard="NTSC",
        ),
        frames_lost=2,
        outcome="complete",
        station="bench-1",
        software="Headblock 0.1.0",
    )
