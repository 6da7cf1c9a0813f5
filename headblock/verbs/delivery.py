"""``headblock derive``: access copies from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

from headblock.delivery.derive import derive_take
from headblock.delivery.profiles import load_derive_profile
from metadata.errors import HeadblockError
from metadata.progress import TerminalProgress
from metadata.take.naming import paths_for_take_dir


def cmd_derive(args) -> int:
    """``headblock derive TAKE_DIR... [--profile NAME|PATH]``: one access copy per take.

    Every take and the profile are checked before anything is made; then the takes are done in
    turn. Exit 0 all made; 1 a master failed its MD5 verification (the others are still made);
    2 bad input.
    """
    profile = load_derive_profile(getattr(args, "profile", None) or "access")
    takes = [paths_for_take_dir(Path(d)) for d in args.take_dirs]
    for paths in takes:
        if paths.master_if_present() is None:
            raise HeadblockError(f"{paths.directory} holds no master ({paths.stem}.wav or .mkv)")
    status = 0
    for paths in takes:
        bar = TerminalProgress(f"derive {paths.stem} ({profile.name})")
        try:
            result = derive_take(paths.directory, profile, progress=bar)
        except HeadblockError as exc:
            if bar.enabled:  # the error goes on a line of its own
                bar.stream.write("\n")
            if exc.exit_status != 1:
                raise
            print(f"headblock: {exc}", file=sys.stderr)
            status = 1
            continue
        except BaseException:
            if bar.enabled:
                bar.stream.write("\n")
            raise
        bar.done()
        rec = result.record
        parts = [f"{rec.width}x{rec.height} H.264"] if rec.video_codec else []
        if rec.audio_codec:
            parts.append(f"{rec.audio_codec} {rec.audio_bitrate_bps // 1000} kbit/s")
        what = ", ".join(parts)
        print(
            f"{rec.path}: {rec.duration_s:.2f} s, {what}, {rec.size_bytes / 1e6:.1f} MB"
            + (f"; {rec.loudness}" if rec.loudness else ""),
        )
        for failure in result.record_failures:
            print(f"headblock: {rec.path.name}: {failure}", file=sys.stderr)
    return status
