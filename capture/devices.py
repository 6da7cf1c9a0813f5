"""``headblock devices [--json]``: the audio and video inputs the station can open."""

from __future__ import annotations

import json
import sys

from capture import backends


def video_inputs() -> list[dict]:
    """The video backends' inputs; a failing listing is one entry, never hiding the audio."""
    try:
        return backends.video_inputs()
    except Exception as exc:
        return [{"error": f"{type(exc).__name__}: {exc}"}]


def cmd_devices(args) -> int:
    audio = backends.audio_inputs()
    video = video_inputs()
    if getattr(args, "json", False):
        json.dump({"audio": audio, "video": video}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    print("Audio inputs (use --device NAME or INDEX):")
    for device in audio:
        index = "demo" if device["index"] is None else f"{device['index']:>4}"
        rates = ", ".join(str(rate) for rate in device["rates_hz"]) or "none of the standard rates"
        label = device.get("description") or device["name"]
        print(
            f"  {index:>4}  {label}  [{device['hostapi']}, {device['channels']} ch, rates: {rates}]"
        )
    print("Video inputs (use --device FORMAT:TARGET):")
    if not video:
        print("  (none found)")
    for device in video:
        if "error" in device:
            print(f"  (listing failed: {device['error']})")
            continue
        target = device.get("device") or device.get("name") or str(device)
        label = device.get("name") if device.get("name") != target else ""
        print(f"  {target}  {label or ''}".rstrip())
    return 0
