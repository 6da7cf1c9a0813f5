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
