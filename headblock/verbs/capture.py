"""``headblock devices`` and ``headblock capture audio|video``: takes from the terminal."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from capture import backends
from capture.audio_take import AudioTake, AudioTakeSettings
from capture.video.take import VideoTake, VideoTakeSettings
from headblock.terminal import run_until_done
from headblock.verbs.deck import deck_exit_status, deck_plan_from_args, run_take_from_deck
from metadata.errors import HeadblockError
from metadata.take.meta import TakeMeta
from metadata.take.naming import validate_item_id


def meta_from_args(args) -> TakeMeta:
    """The item and carrier fields of a ``capture`` command line: ``--meta-file`` (TOML), then
    each ``--meta KEY=VALUE``."""
    meta_file = getattr(args, "meta_file", None)
    meta = TakeMeta.from_toml(Path(meta_file)) if meta_file else TakeMeta()
    meta.update_from_pairs(getattr(args, "meta", []) or [])
    return meta


def _video_inputs() -> list[dict]:
    """The video backends' inputs; a failing listing is one entry, never hiding the audio."""
    try:
        return backends.video_inputs()
    except Exception as exc:
        return [{"error": f"{type(exc).__name__}: {exc}"}]


def cmd_devices(args) -> int:
    audio = backends.audio_inputs()
    video = _video_inputs()
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


def audio_settings_from_args(args) -> AudioTakeSettings:
    meta = meta_from_args(args)
    validate_item_id(args.item)
    if args.rate <= 0:
        raise HeadblockError(f"--rate must be positive, got {args.rate}")
    if args.channels is not None and args.channels <= 0:
        raise HeadblockError(f"--channels must be positive, got {args.channels}")
    if args.ltc_channel is not None and args.ltc_channel <= 0:
        raise HeadblockError(f"--ltc-channel counts from 1, got {args.ltc_channel}")
    return AudioTakeSettings(
        device=args.device,
        item=args.item,
        library=Path(args.library),
        rate_hz=args.rate,
        bits=args.bits,
        channels=args.channels,
        seconds=args.seconds,
        meta=meta,
        qc=not args.no_qc,
        profile=args.profile,
        ltc_channel=args.ltc_channel,
    )


def _tc(status) -> str:
    """The tape's timecode at the head of the status line, when the take reads one."""
    timecode = getattr(status, "timecode", None)
    return f"TC {timecode}  " if timecode else ""


def cmd_capture_audio(args) -> int:
    """``headblock capture audio``: record until --seconds of audio or SIGINT/SIGTERM, or from
    the deck's IN to its OUT (``--deck PORT --in TC --out TC``)."""
    settings = audio_settings_from_args(args)
    plan = deck_plan_from_args(args)

    def line(status) -> str:
        left = f"{status.disk_time_left_s / 60:.0f} min" if status.disk_time_left_s else "?"
        return _tc(status) + (
            f"{status.elapsed_s:8.1f} s  lost {status.frames_lost} frames  disk left {left}"
            f"  [{status.state}]   "
        )

    outcome = None
    if plan is None:
        take = AudioTake(settings)
        paths = take.start()
        print(f"headblock: recording {paths.master('audio')}", file=sys.stderr, flush=True)
        run_until_done(take, line)
    else:  # armed before the deck rolls, so that the take starts at IN
        armed = backends.open_audio_input(
            settings.device, settings.rate_hz, settings.channels, settings.bits
        )
        take = AudioTake(settings, input=armed)
        paths, outcome = run_take_from_deck(args, plan, take, line, armed=armed)
    master = paths.master("audio")
    result = take.result
    if take.cut_short is not None:
        raise take.cut_short
    if result is None:
        raise HeadblockError(f"the take in {paths.directory} failed: {take.error}")
    record = result.record
    verdict = result.qc_verdict or "not run"
    print(
        f"headblock: {master.name}: {record.duration_s:.2f} s, {record.outcome}, "
        f"{record.frames_lost} frames lost, fixity {'ok' if result.fixity_ok else 'FAILED'}, "
        f"QC {verdict}",
        file=sys.stderr,
    )
    if result.cut_short:
        print(f"headblock: the take was cut short: {result.reason}", file=sys.stderr)
    print(os.fspath(paths.directory))
    return deck_exit_status(result.exit_status, outcome)


def video_settings_from_args(args) -> VideoTakeSettings:
    meta = meta_from_args(args)
    if args.ltc_channel is not None and args.ltc_channel <= 0:
        raise HeadblockError(f"--ltc-channel counts from 1, got {args.ltc_channel}")
    return VideoTakeSettings(
        device=args.device,
        library=Path(args.library),
        item=args.item,
        seconds=args.seconds,
        audio_device=args.audio_device,
        standard=args.standard,
        pix_fmt=args.pix_fmt,
        options=list(args.option or []),
        audio_rate_hz=args.audio_rate,
        audio_channels=args.audio_channels,
        audio_bits=args.audio_bits,
        meta=meta,
        profile=args.profile,
        run_qc=not args.no_qc,
        ltc_channel=args.ltc_channel,
    )


def cmd_capture_video(args) -> int:
    settings = video_settings_from_args(args)
    plan = deck_plan_from_args(args)
    take = VideoTake(settings)

    def line(status) -> str:
        return _tc(status) + (
            f"{status.elapsed_s:8.1f} s  frames {status.frames_written:7d}"
            f"  lost {status.frames_lost:4d}  queue {status.encoder_queue_depth:3d}  "
        )

    outcome = None
    if plan is None:
        paths = take.start()
        print(f"recording {paths.directory}", file=sys.stderr)
        run_until_done(take, line)
    else:
        paths, outcome = run_take_from_deck(args, plan, take, line)
    if take.error is not None:
        err = take.error
        if isinstance(err, HeadblockError):
            raise err
        raise HeadblockError(f"the take stopped on an error: {err}") from err
    result = take.result
    status = take.status()
    if take.input_error is not None:
        print(
            f"headblock: the input failed during the take ({take.input_error}); "
            f"the {status.frames_written} frames captured are kept in {result.record.master}",
            file=sys.stderr,
        )
        return 1
    record = result.record
    if result.cut_short:
        print(f"headblock: the take was cut short: {result.reason}", file=sys.stderr)
    print(
        f"{record.master}: {status.frames_written} frames, {record.duration_s:.2f} s, "
        f"{status.frames_lost} lost" + (f", QC {result.qc_verdict}" if result.qc_verdict else ""),
        file=sys.stderr,
    )
    return deck_exit_status(result.exit_status, outcome)
