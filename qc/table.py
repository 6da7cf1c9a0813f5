"""The one table of QC checks: id, kind, what it detects, thresholds with defaults and units,
its colour and its detector.

The runner, the profiles (``resources/profiles/*.toml``), the report and the review window
all read ``CHECKS``; no other list of checks exists. A profile may set any threshold named
here, plus ``enabled``. Thresholds whose names start with ``fail_`` raise an event from warn
to fail.

A detector is named ``module:function`` and imported when first called, so reading the table
costs no numpy or FFmpeg. Audio detectors (kind "audio" or "both") take the audio pass's
``qc.audio.accumulator.AudioFindings`` and the check's thresholds and return ``(events,
summary)``; video detectors take ``qc.video_checks.VideoContext`` and the thresholds and
return a ``Detection`` (or None when the check does not apply to the file).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

KINDS = ("audio", "video", "both")


class Threshold(NamedTuple):
    default: float | int | bool | str
    unit: str
    description: str


@dataclass(frozen=True)
class CheckSpec:
    id: str
    kind: str  # "audio" | "video" | "both" (runs on every take)
    title: str
    detects: str
    thresholds: dict[str, Threshold]
    colour: str  # its markers in the review timeline and the report
    detector_name: str  # "module:function", imported when first called

    @property
    def detector(self) -> Callable:
        module, _, function = self.detector_name.partition(":")
        return getattr(importlib.import_module(module), function)

    def defaults(self) -> dict:
        """Threshold defaults, with ``enabled`` (always true by default)."""
        return {
            "enabled": True,
            **{name: threshold.default for name, threshold in self.thresholds.items()},
        }

    def applies_to(self, kind: str) -> bool:
        return self.kind in (kind, "both")


T = Threshold

_AUDIO = [
    CheckSpec(
        "clipping",
        "audio",
        "Clipping",
        "runs of consecutive samples at or near full scale",
        {
            "level_dbfs": T(
                -0.01, "dBFS", "a sample at or above this is at full scale (vrecord: -0.01)"
            ),
            "min_run_samples": T(2, "samples", "consecutive full-scale samples that make a clip"),
            "fail_run_samples": T(16, "samples", "a run this long (hard clipping) is a failure"),
            "merge_gap_s": T(0.25, "s", "clips closer than this form one event"),
        },
        colour="#e53935",
        detector_name="qc.audio.impulses:detect_clipping",
    ),
    CheckSpec(
        "dropout",
        "audio",
        "Dropout",
        "digital silence (exact zeros or a held value) and sudden level collapses inside program",
        {
            "hold_min_ms": T(
                1.0, "ms", "a run of identical samples inside program at least this long"
            ),
            "hold_edge_min_dbfs": T(
                -100.0,
                "dBFS",
                "the signal beside a hold must be above this (a digital fade reaching zero is not a dropout)",
            ),
            "collapse_db": T(
                20.0, "dB", "level fall below the surrounding program that is a collapse"
            ),
            "fail_collapse_db": T(40.0, "dB", "a collapse this deep is a failure"),
            "min_ms": T(
                5.0, "ms", "shortest collapse reported (shorter falls are note and word boundaries)"
            ),
            "max_ms": T(
                600.0, "ms", "longest collapse (longer falls are quiet passages or pauses)"
            ),
            "edge_ms": T(
                6.0, "ms", "the level jumps across each end: this long outside against inside"
            ),
            "context_s": T(0.5, "s", "program level is measured over this time on each side"),
            "program_min_dbfs": T(-45.0, "dBFS", "surrounding RMS below this is not program"),
        },
        colour="#d81b60",
        detector_name="qc.audio.dropout:detect_dropout",
    ),
    CheckSpec(
        "click",
        "audio",
        "Click",
        "impulsive transients: second difference far above the local (median) level",
        {
            "ratio_db": T(30.0, "dB", "peak second difference above the local median RMS of it"),
            "fail_ratio_db": T(50.0, "dB", "a click this strong is a failure"),
            "min_level_dbfs": T(-50.0, "dBFS", "second-difference peaks below this are ignored"),
            "context_s": T(0.5, "s", "width of the local median"),
            "merge_gap_s": T(0.02, "s", "clicks closer than this form one event"),
            "fail_per_minute": T(60.0, "1/min", "more clicks per minute than this fails the check"),
        },
        colour="#fb8c00",
        detector_name="qc.audio.impulses:detect_click",
    ),
    CheckSpec(
        "dc_offset",
        "audio",
        "DC offset",
        "a sustained mean away from zero",
        {
            "warn_dbfs": T(-40.0, "dBFS", "|mean| over a window at or above this (-40 dBFS = 1 %)"),
            "fail_dbfs": T(-26.0, "dBFS", "|mean| at or above this (5 %) is a failure"),
            "window_s": T(1.0, "s", "averaging window"),
            "min_duration_s": T(2.0, "s", "shortest offset reported"),
        },
        colour="#8d6e63",
        detector_name="qc.audio.levels:detect_dc_offset",
    ),
    CheckSpec(
        "phase",
        "audio",
        "Phase",
        "sustained anti-correlation between the first two channels",
        {
            "warn_correlation": T(-0.3, "", "correlation over a window at or below this"),
            "fail_correlation": T(-0.7, "", "correlation at or below this is a failure"),
            "window_s": T(1.0, "s", "correlation window"),
            "min_duration_s": T(3.0, "s", "shortest anti-correlation reported"),
            "min_level_dbfs": T(-50.0, "dBFS", "windows where a channel is quieter are skipped"),
        },
        colour="#8e24aa",
        detector_name="qc.audio.levels:detect_phase",
    ),
    CheckSpec(
        "channel_imbalance",
        "audio",
        "Channel imbalance",
        "a sustained level difference between the first two channels",
        {
            "warn_db": T(4.0, "dB", "RMS difference over a window at or above this"),
            "fail_db": T(12.0, "dB", "a difference this large (a dead channel) is a failure"),
            "window_s": T(5.0, "s", "measuring window"),
            "min_duration_s": T(15.0, "s", "shortest imbalance reported"),
            "min_level_dbfs": T(
                -50.0, "dBFS", "windows where both channels are quieter are skipped"
            ),
        },
        colour="#5e35b1",
        detector_name="qc.audio.levels:detect_channel_imbalance",
    ),
    CheckSpec(
        "silence",
        "audio",
        "Silence",
        "long silence inside the take; head and tail silence reported as such",
        {
            "level_dbfs": T(
                -60.0, "dBFS", "RMS below this is silence (FFmpeg silencedetect: -60 dB)"
            ),
            "min_duration_s": T(2.0, "s", "shortest silence reported (silencedetect: 2 s)"),
            "head_tail_warn_s": T(10.0, "s", "head or tail silence longer than this is reported"),
            "fail_fraction": T(
                0.9, "fraction", "silence over this fraction of the take is a failure"
            ),
        },
        colour="#78909c",
        detector_name="qc.audio.levels:detect_silence",
    ),
    CheckSpec(
        "hum",
        "audio",
        "Hum",
        "mains hum at 50/60 Hz and harmonics: spectral peaks above the neighbouring bins",
        {
            "prominence_db": T(15.0, "dB", "a mains bin this far above its neighbours"),
            "fail_prominence_db": T(35.0, "dB", "hum this prominent is a failure"),
            "min_level_dbfs": T(-80.0, "dBFS", "hum components quieter than this are ignored"),
            "window_s": T(4.0, "s", "spectral window (0.25 Hz resolution)"),
            "min_duration_s": T(12.0, "s", "shortest hum reported"),
            "harmonics": T(5, "", "harmonics examined (1 = the fundamental alone)"),
        },
        colour="#00897b",
        detector_name="qc.audio.hum:detect_hum",
    ),
    CheckSpec(
        "loudness",
        "audio",
        "Loudness",
        "EBU R 128 integrated loudness, loudness range and true peak outside limits",
        {
            "true_peak_max_dbtp": T(-1.0, "dBTP", "true peak above this (EBU R 128: -1 dBTP)"),
            "fail_true_peak_dbtp": T(3.0, "dBTP", "true peak above this is a failure"),
            "integrated_min_lufs": T(
                -45.0, "LUFS", "integrated loudness below this (a very low transfer)"
            ),
            "integrated_max_lufs": T(
                -8.0, "LUFS", "integrated loudness above this (a very hot transfer)"
            ),
        },
        colour="#3949ab",
        detector_name="qc.audio.loudness:detect_loudness",
    ),
    CheckSpec(
        "overflow",
        "both",
        "Overflow",
        "samples or frames lost during capture, from the capture log",
        {
            "warn_frames_lost": T(1, "frames", "frames lost in one event at or above this"),
            "fail_frames_lost": T(
                1, "frames", "frames lost in total at or above this is a failure"
            ),
        },
        colour="#b71c1c",
        detector_name="qc.audio.capture_log:detect_overflow",
    ),
    CheckSpec(
        "duration",
        "both",
        "Length",
        "a master too short to judge: every other check would pass it for want of material",
        {"min_s": T(1.0, "s", "a master shorter than this is too short to judge")},
        colour="#607d8b",
        detector_name="qc.length:detect_too_short",
    ),
]

_VIDEO = [
    CheckSpec(
        "video_dropout",
        "video",
        "Video dropout",
        "tape dropouts: temporal outliers (TOUT) and horizontal streaks",
        {
            "tout_fraction": T(
                0.009, "fraction", "TOUT (temporal outlier pixels) at or above this"
            ),
            "fail_tout_fraction": T(0.05, "fraction", "TOUT this high is a failure"),
            "streak_fraction": T(
                0.1, "fraction", "outlier pixels on one line at or above this share: a streak"
            ),
            "merge_gap_frames": T(2, "frames", "frames closer than this form one event"),
        },
        colour="#f4511e",
        detector_name="qc.video_checks:detect_video_dropout",
    ),
    CheckSpec(
        "line_repetition",
        "video",
        "Line repetition",
        "lines repeated by a dropout compensator (VREP)",
        {
            "vrep_fraction": T(0.03, "fraction", "VREP (repeated lines) at or above this"),
            "fail_vrep_fraction": T(0.2, "fraction", "VREP this high is a failure"),
            "merge_gap_frames": T(2, "frames", "frames closer than this form one event"),
        },
        colour="#c0ca33",
        detector_name="qc.video_checks:detect_line_repetition",
    ),
    CheckSpec(
        "out_of_range",
        "video",
        "Out of broadcast range",
        "luma/chroma outside broadcast range (BRNG)",
        {
            "brng_fraction": T(0.03, "fraction", "BRNG at or above this (vrecord: 0.03)"),
            "fail_brng_fraction": T(0.2, "fraction", "BRNG this high is a failure"),
            "min_duration_s": T(0.5, "s", "shortest run of frames reported"),
        },
        colour="#fdd835",
        detector_name="qc.video_checks:detect_out_of_range",
    ),
    CheckSpec(
        "saturation",
        "video",
        "Saturation",
        "illegal chroma: SATMAX above the limit (scaled to the file's bit depth)",
        {
            "satmax_10bit": T(
                496.0, "10-bit code", "SATMAX above this (vrecord: 496; 124 at 8 bits)"
            ),
            "fail_satmax_10bit": T(680.0, "10-bit code", "SATMAX above this is a failure"),
            "min_area_fraction": T(
                0.0, "fraction", "share of chroma samples above the limit needed (0: SATMAX alone)"
            ),
            "min_duration_s": T(0.5, "s", "shortest run of frames reported"),
        },
        colour="#ec407a",
        detector_name="qc.video_checks:detect_saturation",
    ),
    CheckSpec(
        "black",
        "video",
        "Black",
        "black frames (FFmpeg blackdetect)",
        {
            "min_duration_s": T(2.0, "s", "shortest black run reported (blackdetect d=2)"),
            "picture_black_ratio": T(
                0.98, "fraction", "share of black pixels (blackdetect pic_th)"
            ),
            "pixel_black_threshold": T(0.10, "fraction", "luma at or below this is black (pix_th)"),
            "head_tail_warn_s": T(
                10.0, "s", "black at the head or tail of a take is reported when longer than this"
            ),
        },
        colour="#546e7a",
        detector_name="qc.video_checks:detect_black",
    ),
    CheckSpec(
        "freeze",
        "video",
        "Freeze",
        "frozen picture (FFmpeg freezedetect)",
        {
            "noise_db": T(-60.0, "dB", "frame difference below this is frozen (freezedetect n)"),
            "min_duration_s": T(2.0, "s", "shortest freeze reported (freezedetect d)"),
        },
        colour="#29b6f6",
        detector_name="qc.video_checks:detect_freeze",
    ),
    CheckSpec(
        "frame_drop",
        "video",
        "Frame drop",
        "frames lost in capture (capture log) or timestamp gaps",
        {
            "warn_frames": T(1, "frames", "frames lost in one event at or above this"),
            "fail_frames": T(1, "frames", "frames lost in total at or above this is a failure"),
        },
        colour="#00e676",
        detector_name="qc.video_checks:detect_frame_drop",
    ),
    CheckSpec(
        "conformance",
        "video",
        "Conformance",
        "the master against the preservation target (FFV1 v3, GOP 1, slice CRC, pixel format)",
        {
            "min_slices": T(16, "slices", "fewest FFV1 slices accepted"),
            "min_ffv1_version": T("3.4", "", "lowest FFV1 version.micro-version accepted"),
            "pixel_formats": T(
                "yuv422p10le,yuv422p,yuv444p10le,yuv444p,yuv420p10le,yuv420p,yuv411p",
                "",
                "pixel formats accepted (comma-separated)",
            ),
            "standards": T(
                "720x486@30000/1001,720x480@30000/1001,720x576@25,720x608@25",
                "WxH@fps",
                "frame sizes and rates accepted (NTSC, PAL; comma-separated)",
            ),
            "require_interlaced": T(True, "", "a master declared progressive is a warning"),
        },
        colour="#66bb6a",
        detector_name="qc.video_checks:detect_conformance",
    ),
    CheckSpec(
        "decode_error",
        "video",
        "Decoder errors",
        "slice CRC mismatches and damaged or undecodable frames reported by the decoder",
        {
            "fail_on_error": T(True, "", "a decoder error fails the take (else a warning)"),
        },
        colour="#ab47bc",
        detector_name="qc.video_checks:detect_decode_error",
    ),
    CheckSpec(
        "framemd5",
        "video",
        "Frame checksums",
        "decoded frames that differ from, or are missing against, the framemd5 written at "
        "capture (runs when the master has its .framemd5)",
        {},
        colour="#26a69a",
        detector_name="qc.video_checks:detect_framemd5",
    ),
]

CHECKS: dict[str, CheckSpec] = {c.id: c for c in _AUDIO + _VIDEO}
VIDEO_CHECK_IDS = frozenset(c.id for c in _VIDEO)  # events drawn on the picture, not the sound
UNKNOWN_CHECK_COLOUR = "#9e9e9e"  # an event of a check this station does not know


def check_colour(check_id: str) -> str:
    """The marker colour of an event's check in the timeline and the report."""
    spec = CHECKS.get(check_id)
    return spec.colour if spec is not None else UNKNOWN_CHECK_COLOUR


def is_video_check(check_id: str) -> bool:
    return check_id in VIDEO_CHECK_IDS


def check(check_id: str) -> CheckSpec:
    return CHECKS[check_id]


def checks_for(kind: str) -> list[CheckSpec]:
    """Checks that run on a master of ``kind``; a video master also gets the audio checks."""
    if kind == "video":
        return list(CHECKS.values())
    return [c for c in CHECKS.values() if c.applies_to(kind)]
