"""Take folders with known QC events, written as the capture and QC engines lay them out.

Real masters (a 24-bit WAV, an FFV1 Matroska), their ``.md5``, a capture log, a ``qc.json``
in the format of docs/qc-result.md and the review sidecars, so review, report and sign-off
are tested on what they will meet, without running a capture.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from metadata.take.log import TakeLog
from metadata.take.naming import TakePaths, new_take_dir
from qc.measures import dbfs
from qc.runner import write_envelope
from qc.video_stats import compute_video_stats, write_vstats

AUDIO_RATE = 48000
AUDIO_SECONDS = 4.0

AUDIO_EVENTS = [
    {
        "check": "dropout",
        "start_s": 1.5,
        "end_s": 1.55,
        "channel": 1,
        "severity": "fail",
        "value": -120.0,
        "detail": "digital silence for 50 ms inside program",
    },
    {
        "check": "click",
        "start_s": 2.25,
        "end_s": 2.251,
        "channel": 2,
        "severity": "warn",
        "value": 0.8,
        "detail": "impulse 24 dB above the local level",
    },
    {
        "check": "clipping",
        "start_s": 3.0,
        "end_s": 3.02,
        "channel": 1,
        "severity": "warn",
        "value": 960.0,
        "detail": "960 samples at full scale",
    },
]

VIDEO_EVENTS = [
    {
        "check": "video_dropout",
        "start_s": 0.8,
        "end_s": 0.84,
        "channel": None,
        "severity": "fail",
        "value": 0.31,
        "detail": "temporal outliers in 31% of the frame",
    },
    {
        "check": "freeze",
        "start_s": 1.2,
        "end_s": 1.6,
        "channel": None,
        "severity": "warn",
        "value": 0.4,
        "detail": "10 identical frames",
    },
]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _write_common(paths: TakePaths, master: Path, kind: str, qc: dict, meta: dict) -> None:
    (master.with_name(master.name + ".md5")).write_text(f"{_md5(master)}  {master.name}\n")
    with TakeLog(paths.log) as tl:
        tl.write(
            "take_start", kind=kind, device="fixture", settings={"rate_hz": AUDIO_RATE}, meta=meta
        )
        tl.write("take_stop", reason="seconds", duration_s=qc["duration_s"])
    paths.qc_json.write_text(json.dumps(qc, indent=2))
    _write_premis(paths, master, kind, qc)


def _write_premis(paths: TakePaths, master: Path, kind: str, qc: dict) -> None:
    """A PREMIS file through the project's writer when it is there (events are added to it)."""
    try:
        from metadata.formats import premis
    except ImportError:
        return
    from datetime import UTC, datetime

    from metadata.take.meta import TakeMeta
    from metadata.take.record import AudioEssence, TakeRecord, VideoEssence

    now = datetime.now(UTC)
    record = TakeRecord(
        item=paths.item,
        take_number=paths.take_number,
        kind=kind,
        master=master,
        size_bytes=master.stat().st_size,
        md5=_md5(master),
        duration_s=qc["duration_s"],
        started_utc=now,
        ended_utc=now,
        device="fixture",
        meta=TakeMeta(title="Fixture"),
        audio=AudioEssence(AUDIO_RATE, 24, 2) if kind == "audio" else None,
        video=VideoEssence("FFV1", "3.4", 160, 120, "yuv420p", 8, "4:2:0", "25/1", 50)
        if kind == "video"
        else None,
    )
    premis.write_premis(record, [], paths.premis)


def audio_qc(events=AUDIO_EVENTS) -> dict:
    verdict = "fail" if any(e["severity"] == "fail" for e in events) else "warn"
    checks = []
    for cid in ("clipping", "dropout", "click", "dc_offset", "phase", "loudness"):
        evs = [e for e in events if e["check"] == cid]
        status = max((e["severity"] for e in evs), key=("warn", "fail").index, default="pass")
        checks.append(
            {"id": cid, "status": status, "count": len(evs), "summary": f"{len(evs)} event(s)"}
        )
    return {
        "file": "",
        "kind": "audio",
        "duration_s": AUDIO_SECONDS,
        "profile": "default",
        "verdict": verdict,
        "checks": checks,
        "events": list(events),
        "stats": {"integrated_lufs": -21.5, "true_peak_dbtp": -0.4},
    }


def make_audio_take(library: Path, item: str = "REEL-001", meta: dict | None = None) -> TakePaths:
    import soundfile as sf

    paths = new_take_dir(library, item)
    n = int(AUDIO_RATE * AUDIO_SECONDS)
    t = np.arange(n) / AUDIO_RATE
    # program-like: a tone whose level moves, so the envelope has shape
    level = 0.25 * (1.0 + 0.6 * np.sin(2 * np.pi * 0.5 * t))
    audio = np.stack(
        [level * np.sin(2 * np.pi * 440 * t), level * np.sin(2 * np.pi * 660 * t)], axis=1
    )
    audio[int(1.5 * AUDIO_RATE) : int(1.55 * AUDIO_RATE), 0] = 0.0
    audio[int(2.25 * AUDIO_RATE), 1] = 0.95
    audio[int(3.0 * AUDIO_RATE) : int(3.02 * AUDIO_RATE), 0] = 1.0
    master = paths.master("audio")
    sf.write(master, audio, AUDIO_RATE, subtype="PCM_24")
    block = AUDIO_RATE // 100
    blocks = audio[: (n // block) * block].reshape(-1, block, 2)
    peak = np.abs(blocks).max(axis=1)
    rms = np.sqrt((blocks**2).mean(axis=1))
    write_envelope(  # the keys and types the audio checks put in the envelope
        paths.file(".envelope.npz"),
        {
            "block_s": np.float64(block / AUDIO_RATE),
            "rate_hz": np.int64(AUDIO_RATE),
            "offset_s": np.float64(0.0),
            "peak_dbfs": dbfs(peak).astype(np.float16),
            "rms_dbfs": dbfs(rms).astype(np.float16),
        },
    )
    qc = audio_qc()
    qc["file"] = master.name
    meta = meta or {
        "title": "Oral history interview, side A",
        "carrier": "open_reel",
        "tape_speed": "7.5 ips",
        "deck": "Studer A807",
        "technician": "A. Tech",
    }
    _write_common(paths, master, "audio", qc, meta)
    return paths


def make_video_take(library: Path, item: str = "VHS-042") -> TakePaths:
    import av

    paths = new_take_dir(library, item)
    master = paths.master("video")
    w, h, fps, frames = 160, 120, 25, 50
    with av.open(str(master), "w") as c:
        s = c.add_stream("ffv1", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"level": "3", "g": "1", "slicecrc": "1", "slices": "4"}
        a = c.add_stream("pcm_s16le", rate=AUDIO_RATE, layout="stereo")
        t = np.arange(int(AUDIO_RATE * frames / fps)) / AUDIO_RATE
        tone = 0.5 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])
        pcm = (tone * 32767).astype(np.int16)
        for start in range(0, pcm.shape[1], 1024):
            block = np.ascontiguousarray(pcm[:, start : start + 1024].T).reshape(1, -1)
            af = av.AudioFrame.from_ndarray(block, format="s16", layout="stereo")
            af.sample_rate = AUDIO_RATE
            af.pts = start
            for pkt in a.encode(af):
                c.mux(pkt)
        frozen = None
        for i in range(frames):
            y = np.tile(np.linspace(16, 235, w, dtype=np.float32), (h, 1))
            y = (y + 10 * np.sin(i / 5.0)).clip(16, 235)
            if i == 20:  # a dropout: white streaks
                y[40:48, :] = 255
                y[70:73, 20:140] = 255
            if 30 <= i < 40:
                frozen = y if frozen is None else frozen
                y = frozen
            y8 = y.astype(np.uint8)
            u = np.full((h // 2, w // 2), 128 + int(40 * np.sin(i / 7)), np.uint8)
            v = np.full((h // 2, w // 2), 128, np.uint8)
            f = av.VideoFrame(w, h, "yuv420p")
            for plane, arr in zip(f.planes, (y8, u, v), strict=True):
                buf = np.zeros((plane.height, plane.line_size), np.uint8)
                buf[:, : arr.shape[1]] = arr
                plane.update(buf)
            f.pts = i
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
        for pkt in a.encode():
            c.mux(pkt)
    # The statistics sidecar as QC writes it: measured from the master, written by QC's writer.
    write_vstats(paths.file(".vstats.npz"), compute_video_stats(master))
    checks = [
        {"id": cid, "status": st, "count": n, "summary": ""}
        for cid, st, n in (
            ("video_dropout", "fail", 1),
            ("freeze", "warn", 1),
            ("out_of_range", "pass", 0),
            ("frame_drop", "pass", 0),
        )
    ]
    qc = {
        "file": master.name,
        "kind": "video",
        "duration_s": frames / fps,
        "profile": "default",
        "verdict": "fail",
        "checks": checks,
        "events": list(VIDEO_EVENTS),
        "stats": {"frames": frames},
    }
    _write_common(paths, master, "video", qc, {"title": "Home movie", "carrier": "vhs"})
    return paths
