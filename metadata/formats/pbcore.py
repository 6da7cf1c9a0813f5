"""PBCore 2.1 ``pbcoreInstantiationDocument`` describing a preservation master, and one per
access copy made from it (``ITEM_tNN.<profile>.pbcore.xml``, generation "Access copy").

The instantiation is the master file; the tape it was transferred from is named through
``instantiationRelation`` (the item identifier) and ``instantiationAnnotation`` elements
(carrier, deck, speed, equalisation, noise reduction, interface). The file's MD5 is an
annotation. Every document is validated against resources/pbcore-2.1.xsd before it lands.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from lxml import etree

from metadata.clock import utc_iso
from metadata.errors import HeadblockError
from metadata.formats.xmlvalidate import write_validated
from metadata.take.meta import channel_mode
from metadata.take.record import DerivativeRecord, TakeRecord

PBCORE_NS = "http://www.pbcore.org/PBCore/PBCoreNamespace.html"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = (
    f"{PBCORE_NS} https://raw.githubusercontent.com/WGBH/PBCore_2.1/master/pbcore-2.1.xsd"
)
_P = f"{{{PBCORE_NS}}}"


def timecode(seconds: float) -> str:
    """HH:MM:SS.mmm"""
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _fps(rational: str) -> str:
    try:
        value = float(Fraction(rational))
    except (ValueError, ZeroDivisionError):
        return rational
    return f"{value:.3f}".rstrip("0").rstrip(".")


class _Builder:
    def __init__(self, root: etree._Element):
        self.root = root

    def add(self, parent, tag: str, text, **attrs) -> etree._Element | None:
        if text is None or text == "":
            return None
        el = etree.SubElement(parent, _P + tag, {k: str(v) for k, v in attrs.items() if v})
        el.text = str(text)
        return el


def build_pbcore(record: TakeRecord) -> etree._ElementTree:
    """The PBCore tree of one take (not yet validated)."""
    if record.kind not in ("audio", "video"):
        raise HeadblockError(f"unknown take kind {record.kind!r}")
    if record.audio is None and record.video is None:
        raise HeadblockError(f"take {record.identifier} has no essence description")
    meta = record.meta
    root = etree.Element(_P + "pbcoreInstantiationDocument", nsmap={None: PBCORE_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    builder = _Builder(root)
    master = Path(record.master)
    audio, video = record.audio, record.video

    builder.add(root, "instantiationIdentifier", record.identifier, source="Headblock take")
    builder.add(root, "instantiationIdentifier", master.name, source="File name")
    builder.add(root, "instantiationDate", utc_iso(record.started_utc), dateType="digitized")
    builder.add(
        root,
        "instantiationDigital",
        "audio/x-wav" if record.kind == "audio" else "video/x-matroska",
    )
    if record.kind == "audio":
        container = audio.container if audio else "BWF"
        standard = (
            "RF64 (EBU Tech 3306)" if container == "RF64" else "Broadcast WAVE (EBU Tech 3285)"
        )
    else:
        standard = "Matroska"
    builder.add(root, "instantiationStandard", standard)
    builder.add(root, "instantiationLocation", f"{record.item}/{record.identifier}/{master.name}")
    builder.add(
        root, "instantiationMediaType", "Sound" if record.kind == "audio" else "Moving Image"
    )
    builder.add(root, "instantiationGenerations", "Preservation master")
    builder.add(root, "instantiationFileSize", record.size_bytes, unitsOfMeasure="bytes")
    builder.add(root, "instantiationDuration", timecode(record.duration_s))
    if record.duration_s > 0:
        bps = int(round(record.size_bytes * 8 / record.duration_s))
        builder.add(root, "instantiationDataRate", bps, unitsOfMeasure="bit/s")
    tracks = []
    if video:
        tracks.append("1 video")
    if audio:
        tracks.append("1 audio")
    builder.add(root, "instantiationTracks", ", ".join(tracks))
    if audio:
        builder.add(
            root,
            "instantiationChannelConfiguration",
            f"{audio.channels} channels ({channel_mode(audio.channels)})",
        )

    if video:
        track = etree.SubElement(root, _P + "instantiationEssenceTrack")
        builder.add(track, "essenceTrackType", "Video")
        builder.add(track, "essenceTrackStandard", video.standard)
        builder.add(track, "essenceTrackEncoding", video.codec, version=video.codec_version)
        builder.add(track, "essenceTrackFrameRate", _fps(video.frame_rate), unitsOfMeasure="fps")
        builder.add(track, "essenceTrackBitDepth", video.bit_depth)
        builder.add(track, "essenceTrackFrameSize", f"{video.width}x{video.height}")
        builder.add(track, "essenceTrackAspectRatio", video.display_aspect_ratio)
        builder.add(track, "essenceTrackDuration", timecode(record.duration_s))
        for kind, value in (
            ("Frame rate (exact)", video.frame_rate),
            ("Frames", video.frames),
            ("Pixel format", video.pix_fmt),
            ("Chroma subsampling", video.chroma_subsampling),
            ("Field order", video.field_order),
            ("Colour primaries", video.color_primaries),
            ("Transfer characteristics", video.color_transfer),
            ("Matrix coefficients", video.color_matrix),
        ):
            builder.add(track, "essenceTrackAnnotation", value, annotationType=kind)
    if audio:
        track = etree.SubElement(root, _P + "instantiationEssenceTrack")
        builder.add(track, "essenceTrackType", "Audio")
        builder.add(track, "essenceTrackEncoding", audio.codec)
        rate = audio.rate_hz * audio.bits * audio.channels
        builder.add(track, "essenceTrackDataRate", rate, unitsOfMeasure="bit/s")
        builder.add(track, "essenceTrackSamplingRate", audio.rate_hz, unitsOfMeasure="Hz")
        builder.add(track, "essenceTrackBitDepth", audio.bits)
        builder.add(track, "essenceTrackDuration", timecode(record.duration_s))
        builder.add(track, "essenceTrackAnnotation", audio.channels, annotationType="Channels")

    rel = etree.SubElement(root, _P + "instantiationRelation")
    builder.add(rel, "instantiationRelationType", "Is Format Of", source="Dublin Core (dcterms)")
    builder.add(rel, "instantiationRelationIdentifier", record.item, source="Source carrier item")

    annotations = [
        ("Source carrier", meta.carrier_physical),
        ("Source carrier format", meta.carrier_label),
        ("Tape speed", meta.tape_speed),
        ("Track configuration", meta.track_config),
        ("Equalisation", meta.equalisation),
        ("Noise reduction", meta.noise_reduction),
        ("Playback deck", meta.deck),
        ("Playback deck serial number", meta.deck_serial),
        ("Time base corrector", meta.tbc),
        ("Analog-to-digital interface", meta.ad_interface),
        ("Capture device", record.device),
        ("Title", meta.title),
        ("Description", meta.description),
        ("Originator", meta.originator),
        ("Technician", meta.technician),
        ("Notes", meta.notes),
        *sorted((f"Item field: {k}", v) for k, v in meta.extra.items()),
        ("Capture started", utc_iso(record.started_utc)),
        ("Capture ended", utc_iso(record.ended_utc)),
        ("Capture outcome", record.outcome),
        ("Samples or frames lost in capture", str(record.frames_lost)),
        ("Input overflows", str(record.overflows)),
        ("Capture station", record.station),
        ("Capture software", record.software),
        ("MD5 checksum", record.md5),
    ]
    for kind, value in annotations:
        builder.add(root, "instantiationAnnotation", value, annotationType=kind)
    return etree.ElementTree(root)


def write_pbcore(record: TakeRecord, path: str | os.PathLike) -> Path:
    """Write the take's PBCore instantiation; validated before it replaces ``path``."""
    path = Path(path)
    return write_validated(build_pbcore(record), path, "pbcore")


def build_derivative_pbcore(record: DerivativeRecord) -> etree._ElementTree:
    """The PBCore tree of one access copy: its own instantiation, related to the master it was
    made from (``Is Derived From``, the master's file name) and to the carrier item."""
    root = etree.Element(_P + "pbcoreInstantiationDocument", nsmap={None: PBCORE_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    builder = _Builder(root)
    path, master = Path(record.path), Path(record.master)
    video = record.kind == "video"
    take_id = f"{record.item}_t{record.take_number:02d}"
    builder.add(root, "instantiationIdentifier", record.identifier, source="Headblock derivative")
    builder.add(root, "instantiationIdentifier", path.name, source="File name")
    builder.add(root, "instantiationDate", utc_iso(record.created_utc), dateType="created")
    builder.add(root, "instantiationDigital", record.mime_type)
    builder.add(root, "instantiationStandard", record.container)
    builder.add(root, "instantiationLocation", f"{record.item}/{take_id}/{path.name}")
    builder.add(root, "instantiationMediaType", "Moving Image" if video else "Sound")
    builder.add(root, "instantiationGenerations", "Access copy")
    builder.add(root, "instantiationFileSize", record.size_bytes, unitsOfMeasure="bytes")
    builder.add(root, "instantiationDuration", timecode(record.duration_s))
    if record.duration_s > 0:
        bps = int(round(record.size_bytes * 8 / record.duration_s))
        builder.add(root, "instantiationDataRate", bps, unitsOfMeasure="bit/s")
    tracks = (["1 video"] if video else []) + (["1 audio"] if record.audio_codec else [])
    builder.add(root, "instantiationTracks", ", ".join(tracks))
    if record.audio_channels:
        builder.add(
            root,
            "instantiationChannelConfiguration",
            f"{record.audio_channels} channels ({channel_mode(record.audio_channels)})",
        )
    if video:
        track = etree.SubElement(root, _P + "instantiationEssenceTrack")
        builder.add(track, "essenceTrackType", "Video")
        builder.add(track, "essenceTrackEncoding", record.video_codec)
        builder.add(track, "essenceTrackFrameRate", _fps(record.frame_rate), unitsOfMeasure="fps")
        builder.add(track, "essenceTrackBitDepth", 8)
        builder.add(track, "essenceTrackFrameSize", f"{record.width}x{record.height}")
        builder.add(track, "essenceTrackAspectRatio", record.display_aspect_ratio)
        builder.add(track, "essenceTrackDuration", timecode(record.duration_s))
        for kind, value in (
            ("Frame rate (exact)", record.frame_rate),
            ("Frames", record.frames),
            ("Pixel format", "yuv420p"),
            ("Chroma subsampling", "4:2:0"),
            ("Pixel aspect ratio", "1:1"),
            ("Scan type", "progressive"),
            ("Deinterlacing", record.deinterlace),
        ):
            builder.add(track, "essenceTrackAnnotation", value, annotationType=kind)
    if record.audio_codec:
        track = etree.SubElement(root, _P + "instantiationEssenceTrack")
        builder.add(track, "essenceTrackType", "Audio")
        builder.add(track, "essenceTrackEncoding", record.audio_codec)
        builder.add(
            track, "essenceTrackDataRate", record.audio_bitrate_bps or None, unitsOfMeasure="bit/s"
        )
        builder.add(track, "essenceTrackSamplingRate", record.audio_rate_hz, unitsOfMeasure="Hz")
        builder.add(track, "essenceTrackDuration", timecode(record.duration_s))
        builder.add(
            track, "essenceTrackAnnotation", record.audio_channels, annotationType="Channels"
        )
        builder.add(
            track,
            "essenceTrackAnnotation",
            record.loudness,
            annotationType="Loudness normalisation",
        )
    rel = etree.SubElement(root, _P + "instantiationRelation")
    builder.add(rel, "instantiationRelationType", "Is Derived From", source="PBCore relationType")
    builder.add(rel, "instantiationRelationIdentifier", master.name, source="File name")
    rel = etree.SubElement(root, _P + "instantiationRelation")
    builder.add(rel, "instantiationRelationType", "Is Format Of", source="Dublin Core (dcterms)")
    builder.add(rel, "instantiationRelationIdentifier", record.item, source="Source carrier item")
    for kind, value in (
        ("Derivative profile", record.profile),
        ("Derivation process", record.process),
        ("Source master", master.name),
        ("Source master MD5 checksum", record.master_md5),
        ("Derivation software", record.software),
        ("MD5 checksum", record.md5),
    ):
        builder.add(root, "instantiationAnnotation", value, annotationType=kind)
    return etree.ElementTree(root)


def write_derivative_pbcore(record: DerivativeRecord, path: str | os.PathLike) -> Path:
    """Write an access copy's PBCore instantiation; validated before it replaces ``path``."""
    return write_validated(build_derivative_pbcore(record), Path(path), "pbcore")
