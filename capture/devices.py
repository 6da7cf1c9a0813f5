"""``headblock devices [--json]``: the audio and video inputs the station can open."""

from __future__ import annotations

import json
import sys

from capture.audio_input import STANDARD_RATES_HZ, input_devices, supported_rates
from metadata.errors import HeadblockError

DEMO_DEVICE = {
    "index": None,
    "name": "demo",
    "description": "Headblock demo deck (simulated tape playback with faults)",
    "hostapi": "Headblock",
    "channels": 8,
    "default_rate_hz": 96000,
    "rates_hz": list(STANDARD_RATES_HZ),
}


def audio_inputs() -> list[dict]:
    """PortAudio inputs with the standard rates each accepts, then the demo deck."""
    out = []
    try:
        devices = input_devices()
    except HeadblockError:
        devices = []
    for dev in devices:
        channels = min(dev["channels"], 2)
        out.append({**dev, "rates_hz": supported_rates(dev["index"], channels)})
    out.append(dict(DEMO_DEVICE))
    return out


def video_inputs() -> list[dict]:
    """Video inputs from ``capture.video_input`` when present (empty otherwise)."""
    try:
        from capture.video_input import list_video_inputs
    except ImportError:
        return []
    try:
        found = list_video_inputs()
    except Exception as exc:  # listing video must never hide the audio inputs
        return [{"error": f"{type(exc).__name__}: {exc}"}]
    return [_as_dict(v) for v in found]


def _as_dict(obj) -> dict:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    return {"name": str(obj)}


def cmd_devices(args) -> int:
    audio = audio_inputs()
    video = video_inputs()
    if getattr(args, "json", False):
        json.dump({"audio": audio, "video": video}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    print("Audio inputs (use --device NAME or INDEX):")
    for d in audio:
        idx = "demo" if d["index"] is None else f"{d['index']:>4}"
        rates = ", ".join(str(r) for r in d["rates_hz"]) or "none of the standard rates"
        label = d.get("description") or d["name"]
        print(f"  {idx:>4}  {label}  [{d['hostapi']}, {d['channels']} ch, rates: {rates}]")
    print("Video inputs (use --device FORMAT:TARGET):")
    if not video:
        print("  (none found)")
    for v in video:
        if "error" in v:
            print(f"  (listing failed: {v['error']})")
            continue
        target = v.get("device") or v.get("name") or str(v)
        label = v.get("name") if v.get("name") != target else ""
        print(f"  {target}  {label or ''}".rstrip())
    return 0
