"""Audio inputs behind one interface: PortAudio devices and the demo deck.

The audio callback (PortAudio's thread, or the demo deck's pacing thread) only copies the
block into the preallocated ring, counts frames and notes events into preallocated arrays:
no allocation of buffers, no logging, no locks, no Qt. The writer thread calls
``poll_losses()``, which turns those notes into ``LossEvent``s and runs the clock check:
PulseAudio never reports an input overflow, so frames received are compared with the
monotonic clock, and a lasting step in the deficit is a loss.

``capture.backends.open_audio_input(device, ...)`` picks the input by its name: the demo deck
for ``"demo"``, PortAudio for a device name substring or index.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capture import native_stderr
from capture.ring import RingBuffer
from metadata.errors import HeadblockError

STANDARD_RATES_HZ = (44100, 48000, 88200, 96000, 176400, 192000)
RING_SECONDS = 10.0

# Clock check: a loss is a step of the deficit (frames the clock says should have arrived
# minus frames received) of at least CLOCK_LOSS_MIN_S that stays flat for CLOCK_STABLE_S
# while blocks keep arriving. A reader that is only late catches up (the server buffers
# ~5.5 s), so its deficit falls back and is never reported.
CLOCK_LOSS_MIN_S = 0.25
CLOCK_STABLE_S = 2.0
CLOCK_STABLE_TOLERANCE_S = 0.06
STALL_MIN_S = 0.25  # a gap between blocks this long is noted to place a later loss in time

# PortAudio's error lines ("Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'")
# and ALSA's ("ALSA lib pcm.c:2664:(snd_pcm_open_noupdate) Unknown PCM ...")
_PORTAUDIO_LINE = re.compile(r"^Expression '|pa_linux_alsa|^PaAlsa|^ALSA lib |portaudio", re.I)

_EV_PORTAUDIO = 1
_EV_RING = 2
_EV_STALL = 3
_EV_CAPACITY = 1024


@dataclass
class InputStats:
    frames_received: int
    overflows: int
    frames_lost: int
    last_loss_at_s: float | None


@dataclass
class LossEvent:
    """Audio lost in capture: ``at_s`` is seconds into the take (media time), ``source`` is
    "portaudio" (an input overflow the driver flagged), "clock" (frames missing against the
    monotonic clock) or "ring" (the writer fell a whole ring behind)."""

    at_s: float
    frames_lost: int
    source: str
    detail: str = ""


def _dtype_for_bits(bits: int):
    if bits not in (16, 24, 32):
        raise HeadblockError(f"unsupported bit depth {bits} (16, 24 or 32)")
    return np.int16 if bits == 16 else np.int32


class AudioInput:
    """Base of every backend. Subclasses open the source in ``_open`` and deliver blocks
    through ``_deliver`` from their real-time thread."""

    backend = "?"

    def __init__(self, device, rate_hz: int, channels: int, bits: int, ring_seconds: float):
        self.device = device
        self.rate_hz = int(rate_hz)
        self.channels = int(channels)
        self.bits = int(bits)
        self.dtype = np.dtype(_dtype_for_bits(bits))
        self.device_name = str(device)
        self.ring = RingBuffer(
            max(int(ring_seconds * self.rate_hz), 4096), self.channels, self.dtype
        )
        self._full_scale = float(2 ** (8 * self.dtype.itemsize - 1))
        # written by the real-time thread only
        self._frames_received = 0
        self._callbacks = 0
        self._t_first = 0.0
        self._frames_first = 0
        self._t_last = 0.0
        self._ev_pos = np.zeros(_EV_CAPACITY, np.int64)
        self._ev_kind = np.zeros(_EV_CAPACITY, np.int8)
        self._ev_amount = np.zeros(_EV_CAPACITY, np.int64)
        self._ev_written = 0
        self._recording = False
        # read side (writer thread)
        self._ev_read = 0
        self._origin = 0
        self._overflows = 0
        self._frames_lost = 0
        self._last_loss_at_s: float | None = None
        self._baseline = 0.0
        self._history: list[tuple[float, float]] = []  # (t_last, deficit) samples
        self._last_stall_pos: int | None = None
        self._unsettled = False  # a stall was seen and the clock check has not yet ruled
        self._poll_lock = threading.Lock()
        self.running = False
        # what the device's own library says (PortAudio's error lines), from its thread;
        # a take sets it to log them, and takes those said before it listened
        self.on_message: Callable[[str], None] | None = None
        self.early_messages: collections.deque[str] = collections.deque(maxlen=50)

    # -- real-time side -----------------------------------------------------------------------
    def _note(self, kind: int, pos: int, amount: int) -> None:
        slot = self._ev_written % _EV_CAPACITY
        self._ev_pos[slot] = pos
        self._ev_kind[slot] = kind
        self._ev_amount[slot] = amount
        self._ev_written += 1

    def _deliver(self, block: np.ndarray, overflow: bool = False) -> None:
        """Called from the real-time thread with each block (copy only, see module doc)."""
        now = time.monotonic()
        n = block.shape[0]
        pos = self._frames_received
        if self._callbacks == 0:
            self._t_first = now
            self._frames_first = n
        elif now - self._t_last > STALL_MIN_S:
            self._note(_EV_STALL, pos, int((now - self._t_last) * 1e6))
        if overflow:
            self._note(_EV_PORTAUDIO, pos, 0)
        ring = self.ring
        if not self._recording:
            excess = ring.available + n - ring.capacity
            if excess > 0:  # nobody consumes while only monitoring: keep the newest audio
                ring.advance(excess)
        stored = ring.write(block)
        if stored < n:
            self._note(_EV_RING, pos + stored, n - stored)
        self._frames_received = pos + n
        self._t_last = now
        self._callbacks += 1

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def alive(self) -> bool:
        """False once the device has ended its stream on its own (an unplugged interface, a
        sound server gone): the take ends at once instead of waiting for silence."""
        return True

    def wait_first_block(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._callbacks == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def begin_take(self) -> None:
        """From now on the ring is consumed by a writer: drop what monitoring left in it and
        count positions and losses from here (media time zero)."""
        self._recording = True
        # let one block pass so the real-time thread has seen the flag before we consume
        seen = self._callbacks
        deadline = time.monotonic() + 0.5
        while self._callbacks == seen and self.running and time.monotonic() < deadline:
            time.sleep(0.002)
        self._start_take_counters()

    def _start_take_counters(self) -> None:
        with self._poll_lock:
            avail = self.ring.available
            self.ring.advance(avail)
            self._origin = self._frames_received - self.ring.available
            self._ev_read = self._ev_written
            self._overflows = 0
            self._frames_lost = 0
            self._last_loss_at_s = None
            self._history.clear()
            self._last_stall_pos = None
            self._unsettled = False
            if self._callbacks >= 2:
                self._baseline = self._deficit_now()

    def end_take(self) -> None:
        self._recording = False

    # -- reading ------------------------------------------------------------------------------
    @property
    def newest_at(self) -> float:
        """Monotonic time the newest block reached the engine (for latency figures)."""
        return self._t_last

    def latest(self, n_frames: int) -> np.ndarray:
        """The newest ``n_frames`` as float32 in [-1, 1] shaped (n, channels), for meters."""
        raw = self.ring.latest(n_frames)
        return raw.astype(np.float32) / np.float32(self._full_scale)

    def stats(self) -> InputStats:
        return InputStats(
            frames_received=self._frames_received - self._origin,
            overflows=self._overflows,
            frames_lost=self._frames_lost,
            last_loss_at_s=self._last_loss_at_s,
        )

    def describe(self) -> dict:
        """Facts for the capture log and the metadata."""
        return {
            "backend": self.backend,
            "device": self.device_name,
            "rate_hz": self.rate_hz,
            "channels": self.channels,
            "bits": self.bits,
        }

    def _at_s(self, pos: int) -> float:
        return round(max(pos - self._origin, 0) / self.rate_hz, 4)

    def poll_losses(self, now: float | None = None) -> list[LossEvent]:
        """New losses since the last call (writer thread). Never call from the callback."""
        with self._poll_lock:
            return self._poll(time.monotonic() if now is None else now)

    def settle(self, timeout_s: float = 2 * CLOCK_STABLE_S + 1.0) -> list[LossEvent]:
        """New losses, waiting (up to ``timeout_s``) until the clock check has ruled on any
        recent stall: a take that ends while the server still delivers buffered audio must
        not end before its loss is known."""
        out = self.poll_losses()
        deadline = time.monotonic() + timeout_s
        while self._unsettled and self.running and time.monotonic() < deadline:
            time.sleep(0.05)
            out += self.poll_losses()
        return out

    def _poll(self, now: float) -> list[LossEvent]:
        out: list[LossEvent] = []
        written = self._ev_written
        if written - self._ev_read > _EV_CAPACITY:
            self._ev_read = written - _EV_CAPACITY
        for number in range(self._ev_read, written):
            slot = number % _EV_CAPACITY
            kind, pos = int(self._ev_kind[slot]), int(self._ev_pos[slot])
            amount = int(self._ev_amount[slot])
            if kind == _EV_PORTAUDIO:
                self._overflows += 1
                out.append(LossEvent(self._at_s(pos), 0, "portaudio", "input overflow flagged"))
            elif kind == _EV_RING:
                self._overflows += 1
                self._frames_lost += amount
                self._baseline += amount  # the clock check counts received frames
                out.append(LossEvent(self._at_s(pos), amount, "ring", "writer thread fell behind"))
            elif kind == _EV_STALL:
                self._last_stall_pos = pos
                self._unsettled = True
        self._ev_read = written
        out.extend(self._clock_check())
        for loss in out:
            self._last_loss_at_s = loss.at_s
        return out

    def _clock_check(self) -> list[LossEvent]:
        if self._callbacks < 2 or not self._recording:
            return []
        t_last = self._t_last
        received = self._frames_received
        deficit = (t_last - self._t_first) * self.rate_hz + self._frames_first - received
        hist = self._history
        if not hist or t_last > hist[-1][0]:
            hist.append((t_last, deficit))
        while hist and hist[0][0] < t_last - CLOCK_STABLE_S:
            hist.pop(0)
        if len(hist) < 3 or hist[-1][0] - hist[0][0] < CLOCK_STABLE_S * 0.75:
            return []
        values = [d for _, d in hist]
        spread = max(values) - min(values)
        if spread > CLOCK_STABLE_TOLERANCE_S * self.rate_hz:
            return []  # blocks are still catching up or the reader is stalled
        level = min(values)
        step = level - self._baseline
        self._unsettled = False
        if step >= CLOCK_LOSS_MIN_S * self.rate_hz:
            lost = int(round(step))
            self._baseline = level
            self._overflows += 1
            self._frames_lost += lost
            pos = self._last_stall_pos
            if pos is None:
                pos = received - int((t_last - hist[0][0]) * self.rate_hz)
            self._last_stall_pos = None
            return [
                LossEvent(
                    self._at_s(pos),
                    lost,
                    "clock",
                    f"{lost / self.rate_hz:.3f} s missing against the monotonic clock",
                )
            ]
        self._baseline = level  # follow slow drift between the device clock and ours
        self._last_stall_pos = None  # any stall so far was absorbed by the server's buffer
        return []

    def _deficit_now(self) -> float:
        return (
            (self._t_last - self._t_first) * self.rate_hz
            + self._frames_first
            - self._frames_received
        )


# --------------------------------------------------------------------------- demo deck


DEMO_DEVICE = {
    "index": None,
    "name": "demo",
    "description": "Headblock demo deck (simulated tape playback with faults)",
    "hostapi": "Headblock",
    "channels": 8,
    "default_rate_hz": 96000,
    "rates_hz": list(STANDARD_RATES_HZ),
}


def demo_audio_inputs() -> list[dict]:
    """What ``headblock devices`` lists for the demo deck's audio."""
    return [dict(DEMO_DEVICE)]


class DemoInput(AudioInput):
    """The demo deck (``capture.demo``) paced in real time by its own thread."""

    backend = "demo"
    BLOCK_S = 0.01

    def __init__(
        self,
        device="demo",
        rate_hz=96000,
        channels=None,
        bits=24,
        ring_seconds=RING_SECONDS,
        seed=0,
    ):
        channels = 2 if channels is None else int(channels)
        if not 1 <= channels <= 8:
            raise HeadblockError(f"the demo deck plays 1 to 8 channels, not {channels}")
        if int(rate_hz) not in STANDARD_RATES_HZ:  # as a real interface: standard rates only
            rates = ", ".join(str(r) for r in STANDARD_RATES_HZ)
            raise HeadblockError(f"the demo deck plays at {rates} Hz, not {rate_hz}")
        super().__init__("demo", rate_hz, channels, bits, ring_seconds)
        self.device_name = "Headblock demo deck"
        self.seed = seed
        self._pos = 0  # program position of the next block
        self._gen_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self.running = True
        self._thread = threading.Thread(target=self._run, name="demo-deck", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None
        self.running = False

    def _to_pcm(self, samples: np.ndarray) -> np.ndarray:
        if self.bits == 16:
            return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype(np.int16)
        top = 2 ** (self.bits - 1)
        scaled = np.rint(samples.astype(np.float64) * top)
        quantised = np.clip(scaled, -top, top - 1).astype(np.int32)
        return quantised << (32 - self.bits) if self.bits < 32 else quantised

    def begin_take(self) -> None:
        """Like a deck rewound to the head of the tape: the take starts at program time 0, so
        the demo faults (``capture.demo.DEMO_FAULTS``) fall at known take times."""
        with self._gen_lock:  # the deck thread is between blocks: we may consume safely
            self._recording = True
            self._pos = 0
            self._start_take_counters()

    def _run(self) -> None:
        from capture.demo import program_loop

        program = program_loop(self.rate_hz, self.channels, self.seed)
        block = max(int(self.rate_hz * self.BLOCK_S), 1)
        delivered = 0
        started_at = time.monotonic()
        while not self._stop.is_set():
            # deliver each block when the clock says it has been "played"
            due = started_at + (delivered + block) / self.rate_hz
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            with self._gen_lock:
                samples = program.block(self._pos, block)
                self._deliver(self._to_pcm(samples))
                self._pos += block
            delivered += block


# --------------------------------------------------------------------------- PortAudio


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise HeadblockError(f"PortAudio is not available: {exc}") from exc
    return sd


def input_devices() -> list[dict]:
    """PortAudio devices with inputs: index, name, host API, channels, default rate."""
    sd = _sd()
    out = []
    hostapis = sd.query_hostapis()
    for index, device in enumerate(sd.query_devices()):
        if device["max_input_channels"] > 0:
            out.append(
                {
                    "index": index,
                    "name": device["name"],
                    "hostapi": hostapis[device["hostapi"]]["name"],
                    "channels": int(device["max_input_channels"]),
                    "default_rate_hz": int(device["default_samplerate"]),
                }
            )
    return out


def inputs_line() -> str:
    devices = input_devices()
    listed = "; ".join(f"{dev['index']}: {dev['name']} ({dev['channels']} ch)" for dev in devices)
    return f"inputs: {listed}; or 'demo'" if devices else "no PortAudio inputs; use 'demo'"


def supported_rates(index: int, channels: int, bits: int = 24) -> list[int]:
    sd = _sd()
    dtype = "int16" if bits == 16 else "int32"
    rates = []
    for rate in STANDARD_RATES_HZ:
        try:
            sd.check_input_settings(device=index, channels=channels, dtype=dtype, samplerate=rate)
        except Exception:
            continue
        rates.append(rate)
    return rates


def resolve_device(device) -> int:
    """Index of the PortAudio input named ``device`` (index, or name substring as sounddevice
    matches); HeadblockError listing the inputs otherwise."""
    sd = _sd()
    spec = device
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec.strip())
    try:
        info = sd.query_devices(spec, "input")
    except (ValueError, sd.PortAudioError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "no such input"
        raise HeadblockError(f"no audio input {device!r} ({reason}); {inputs_line()}") from exc
    if info["max_input_channels"] <= 0:
        raise HeadblockError(f"device {device!r} has no inputs; {inputs_line()}")
    return int(info["index"])


def portaudio_inputs() -> list[dict]:
    """PortAudio inputs with the standard rates each accepts (none without PortAudio)."""
    try:
        devices = input_devices()
    except HeadblockError:
        return []
    return [
        {**dev, "rates_hz": supported_rates(dev["index"], min(dev["channels"], 2))}
        for dev in devices
    ]


class PortAudioInput(AudioInput):
    """A PortAudio input through sounddevice, with a callback that only copies."""

    backend = "portaudio"

    def __init__(
        self,
        device,
        rate_hz=96000,
        channels=None,
        bits=24,
        ring_seconds=RING_SECONDS,
        latency="high",
    ):
        sd = _sd()
        index = resolve_device(device)
        info = sd.query_devices(index)
        max_ch = int(info["max_input_channels"])
        # default: stereo (or mono) — a multi-input interface records more only when asked
        channels = min(2, max_ch) if channels is None else int(channels)
        if not 1 <= channels <= max_ch:
            raise HeadblockError(
                f"{info['name']} has {max_ch} input channels; cannot record {channels}"
            )
        dtype = "int16" if bits == 16 else "int32"
        _dtype_for_bits(bits)
        try:
            sd.check_input_settings(
                device=index, channels=channels, dtype=dtype, samplerate=rate_hz
            )
        except Exception as exc:
            rates = supported_rates(index, channels, bits)
            shown = ", ".join(str(r) for r in rates) or "none of the standard rates"
            raise HeadblockError(
                f"{info['name']} does not record {rate_hz} Hz / {channels} ch / {bits}-bit "
                f"(supported rates: {shown})"
            ) from exc
        super().__init__(device, rate_hz, channels, bits, ring_seconds)
        self.index = index
        self.device_name = info["name"]
        self.hostapi = sd.query_hostapis(info["hostapi"])["name"]
        self._latency = latency
        self._stream = None
        self._ended = threading.Event()  # the stream finished without stop()

    def describe(self) -> dict:
        facts = super().describe()
        facts.update(index=self.index, hostapi=self.hostapi)
        return facts

    def _callback(self, indata, frames, time_info, status) -> None:
        self._deliver(indata, status.input_overflow)

    def _finished(self) -> None:  # PortAudio's thread, once, when the stream stops
        if self.running:
            self._ended.set()

    def _library_line(self, text: str) -> None:
        if not _PORTAUDIO_LINE.search(text):
            native_stderr.to_terminal(text)  # another library's: not ours to hide
            return
        sink = self.on_message
        if sink is not None:
            sink(text)
        else:  # before a take listens (opening the stream): handed to the take's log
            self.early_messages.append(text)

    @property
    def alive(self) -> bool:
        stream = self._stream
        if not self.running or stream is None:
            return True  # not started, or stopped by us: nothing has failed
        if self._ended.is_set():
            return False
        try:
            return bool(stream.active)
        except Exception:  # noqa: BLE001 - a stream PortAudio no longer knows
            return False

    def start(self) -> None:
        if self.running:
            return
        sd = _sd()
        native_stderr.catch(self._library_line)  # PortAudio's and ALSA's lines: our log
        self._ended.clear()
        try:
            self._stream = sd.InputStream(
                device=self.index,
                samplerate=self.rate_hz,
                channels=self.channels,
                dtype="int16" if self.bits == 16 else "int32",
                callback=self._callback,
                finished_callback=self._finished,
                latency=self._latency,
            )
            self.running = True
            self._stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            self.running = False
            native_stderr.release(self._library_line)
            raise HeadblockError(f"cannot open {self.device_name}: {exc}") from exc

    def stop(self) -> None:
        self.running = False
        try:
            if self._stream is not None:
                try:
                    self._stream.stop()
                except Exception:  # noqa: BLE001 - a device already gone cannot stop
                    pass
                try:
                    self._stream.close()
                except Exception:  # noqa: BLE001
                    pass
        finally:
            self._stream = None
            native_stderr.release(self._library_line)
