"""The demo deck's video: a VHS-like tape playing, synthesised, with faults at known times.

A program-like picture (a slow pan over a coloured scene with a moving object), tape noise
in luma and chroma, and in every ``DEMO_CYCLE_S`` cycle the faults of ``DEMO_VIDEO_FAULTS``:
dropout streaks (white horizontal flecks), black frames and a frozen picture. Frames come in
10-bit 4:2:2 (``yuv422p10le``, default) or 8-bit 4:2:2 (``yuv422p``), paced in real time
like a deck; the audio is ``capture.demo``'s program at 48 kHz, delivered with each frame.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import av
import numpy as np

from capture.demo import DEMO_CYCLE_S, DemoFault, program_loop
from capture.video_input import STANDARDS, SourceInfo, VideoDeviceSpec, VideoSource
from metadata.errors import HeadblockError

AUDIO_RATE_HZ = 48000
AUDIO_CHANNELS = 2
PIX_FMTS = ("yuv422p10le", "yuv422p")


# Black and freeze last 2.5 s: longer than the 2 s the default QC profile reports.
DEMO_VIDEO_FAULTS = (
    DemoFault("dropout", 6.0, 6.2, "white dropout streaks on a few lines of each frame"),
    DemoFault("black", 11.0, 13.5, "black picture (luma at code 64, tape noise only)"),
    DemoFault("freeze", 17.0, 19.5, "the picture holds still (a repeated frame)"),
)


def _fault_at(t_s: float) -> DemoFault | None:
    t_cycle = t_s % DEMO_CYCLE_S
    for fault in DEMO_VIDEO_FAULTS:
        if fault.start_s <= t_cycle < fault.end_s:
            return fault
    return None


# A VHS deck's noise is not white: luma is band-limited to about 3 MHz and the colour-under
# chroma to about 0.5 MHz (and combed over two lines), so neighbouring samples share it. The
# Gaussian widths below put the -3 dB points there at 13.5 MHz sampling (6.75 MHz for
# chroma); the levels are about 42 dB (luma) and 39 dB (chroma) below the video range, a
# fair VHS. Per-pixel white noise of the same level would cost FFV1 a third more bits and
# time than any deck's picture does (see docs/bench.md).
NOISE_Y, NOISE_C = 7.0, 10.0  # RMS in 10-bit code values
LUMA_BLUR = (0.8, 0.01)  # Gaussian sigma in pixels: across, down
CHROMA_BLUR = (2.5, 0.6)


def _tape_noise(rng, shape, rms: float, blur: tuple[float, float]) -> np.ndarray:
    import cv2

    fields = rng.normal(0, 1, shape).astype(np.float32)
    for k in range(shape[0]):
        fields[k] = cv2.GaussianBlur(fields[k], (0, 0), sigmaX=blur[0], sigmaY=blur[1])
    fields *= rms / fields.std()
    return np.rint(fields).astype(np.int16)


class DemoPicture:
    """Makes frames in 10-bit code values (luma 64..940, chroma 64..960, 512 = no colour)."""

    def __init__(self, width: int, height: int, seed: int = 7):
        self.w, self.h = width, height
        rng = np.random.default_rng(seed)
        cw = width // 2
        pad = 256  # the canvas is wider than the frame: the picture pans across it
        self.pad = pad
        yy, xx = np.mgrid[0:height, 0 : width + pad].astype(np.float32)
        # a lit backdrop with soft vertical structure, a floor, a window
        y = 300 + 250 * (1 - yy / height) * (0.6 + 0.4 * np.cos(xx / 90.0))
        y[int(height * 0.7) :, :] = 260 + 30 * np.sin(xx[int(height * 0.7) :, :] / 17.0)
        y[int(height * 0.15) : int(height * 0.45), 120:300] = 820
        self.canvas_y = y.astype(np.int16)
        cyy, cxx = np.mgrid[0:height, 0 : cw + pad // 2].astype(np.float32)
        self.canvas_u = (512 - 90 * np.cos(cxx / 70.0) * (cyy / height)).astype(np.int16)
        self.canvas_v = (512 + 110 * np.sin(cxx / 55.0 + 1) * (1 - cyy / height)).astype(np.int16)
        self.canvas_u[int(height * 0.15) : int(height * 0.45), 60:150] = 560
        self.canvas_v[int(height * 0.15) : int(height * 0.45), 60:150] = 470
        # tape noise: a bank of noise fields picked at random offsets each frame
        self.noise_y = _tape_noise(rng, (4, height, width), NOISE_Y, LUMA_BLUR)
        self.noise_c = _tape_noise(rng, (4, height, cw), NOISE_C, CHROMA_BLUR)
        self.rng = np.random.default_rng(seed + 1)
        self._frozen: tuple | None = None

    def planes(self, index: int, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fault = _fault_at(t_s)
        if fault and fault.kind == "freeze" and self._frozen is not None:
            return self._frozen
        w, h, cw = self.w, self.h, self.w // 2
        pan_x = int((np.sin(t_s * 0.21) * 0.5 + 0.5) * (self.pad - 2)) & ~1
        y = self.canvas_y[:, pan_x : pan_x + w].copy()
        u = self.canvas_u[:, pan_x // 2 : pan_x // 2 + cw].copy()
        v = self.canvas_v[:, pan_x // 2 : pan_x // 2 + cw].copy()
        # a moving object (a red ball's bounding box, roughly)
        ball_x = int((t_s * 120) % (w - 80))
        ball_y = int(h * 0.5 + h * 0.12 * np.sin(t_s * 2.0))
        y[ball_y : ball_y + 60, ball_x : ball_x + 80] = 420
        u[ball_y : ball_y + 60, ball_x // 2 : ball_x // 2 + 40] = 400
        v[ball_y : ball_y + 60, ball_x // 2 : ball_x // 2 + 40] = 760
        bank = index % 4  # which of the noise fields
        shift = int(self.rng.integers(0, h))
        y += np.roll(self.noise_y[bank], shift, axis=0)
        u += np.roll(self.noise_c[bank], shift, axis=0)
        v += np.roll(self.noise_c[(bank + 1) % 4], shift, axis=0)
        if fault and fault.kind == "dropout":
            for _ in range(6):
                row = int(self.rng.integers(0, h))
                start = int(self.rng.integers(0, w - 200))
                length = int(self.rng.integers(60, 200))
                y[row, start : start + length] = 940
                u[row, start // 2 : (start + length) // 2] = 512
                v[row, start // 2 : (start + length) // 2] = 512
        if fault and fault.kind == "black":
            y[:] = 64
            u[:] = 512
            v[:] = 512
            y += self.noise_y[bank] // 3
        np.clip(y, 4, 1019, out=y)
        np.clip(u, 4, 1019, out=u)
        np.clip(v, 4, 1019, out=v)
        out = (y, u, v)
        if not (fault and fault.kind == "freeze"):
            self._frozen = out
        return out


def _fill(frame: av.VideoFrame, planes, eight_bit: bool) -> None:
    dtype = np.uint8 if eight_bit else np.uint16
    for plane, data in zip(frame.planes, planes, strict=True):
        h, w = data.shape
        dst = np.frombuffer(plane, dtype).reshape(-1, plane.line_size // np.dtype(dtype).itemsize)
        dst[:h, :w] = (data >> 2) if eight_bit else data


def demo_video_inputs() -> list[dict]:
    """What ``headblock devices`` lists for the demo deck's video: one tape per standard."""
    return [
        {
            "kind": "video",
            "device": f"demo:{std.name}",
            "name": f"Demo deck ({std.label} VHS-like tape)",
            "format": "demo",
        }
        for std in STANDARDS.values()
    ]


class DemoVideoSource(VideoSource):
    """``demo:ntsc`` / ``demo:pal`` (``--pix-fmt yuv422p`` for 8-bit)."""

    def __init__(self, spec: VideoDeviceSpec, *, want_audio: bool = True):
        std = spec.standard or STANDARDS.get(spec.target.lower())
        if std is None:
            raise HeadblockError(
                f"the demo deck plays ntsc or pal, not {spec.target!r} (demo:ntsc)"
            )
        pix_fmt = spec.pix_fmt or "yuv422p10le"
        if pix_fmt not in PIX_FMTS:
            raise HeadblockError(f"the demo deck gives {' or '.join(PIX_FMTS)}, not {pix_fmt}")
        self.std = std
        self.pix_fmt = pix_fmt
        self.want_audio = want_audio
        self.info = SourceInfo(
            std.width, std.height, pix_fmt, std.rate,
            audio_rate_hz=AUDIO_RATE_HZ if want_audio else None,
            audio_channels=AUDIO_CHANNELS if want_audio else None,
            audio_format="s32" if want_audio else None,
            audio_layout="stereo" if want_audio else None,
        )  # fmt: skip
        self.picture = DemoPicture(std.width, std.height)
        self._stop = threading.Event()
        self.device_drops = 0

    def frames(self):
        rate = Fraction(self.std.rate)
        eight_bit = self.pix_fmt == "yuv422p"
        started_at = time.monotonic()
        index = 0
        audio_done = 0
        program = program_loop(AUDIO_RATE_HZ, AUDIO_CHANNELS) if self.want_audio else None
        while not self._stop.is_set():
            t_s = float(index / rate)
            delay = started_at + t_s - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if self.want_audio:
                end = round((index + 1) / rate * AUDIO_RATE_HZ)
                block = program.block(audio_done, end - audio_done)
                pcm = (np.clip(block, -1.0, 1.0 - 2**-23) * 2**31).astype(np.int32) & ~np.int32(
                    0xFF
                )
                aframe = av.AudioFrame.from_ndarray(
                    pcm.reshape(1, -1), format="s32", layout="stereo"
                )
                aframe.sample_rate = AUDIO_RATE_HZ
                aframe.pts = audio_done
                aframe.time_base = Fraction(1, AUDIO_RATE_HZ)
                yield "audio", aframe, audio_done / AUDIO_RATE_HZ
                audio_done = end
            frame = av.VideoFrame(self.std.width, self.std.height, self.pix_fmt)
            _fill(frame, self.picture.planes(index, t_s), eight_bit)
            frame.pts = index
            frame.time_base = 1 / rate
            yield "video", frame, t_s
            index += 1

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
