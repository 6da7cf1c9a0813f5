"""Sony 9-pin (RS-422) deck control over a serial port (pyserial).

The line runs at 38400 baud, 8 data bits, odd parity, 1 stop bit. Both sides exchange command
blocks ``[CMD-1 | DATA COUNT, CMD-2, DATA..., CHECKSUM]``: CMD-1 (upper four bits) is the group
(0 system control, 2 transport, 4 preset/select, 6 sense request; the deck answers with 1 for
ACK/NAK and 7 for sense data), the lower four bits count the data bytes (0-15), the checksum
is the low byte of the sum of every byte before it. A transport command is answered by ACK
(10 01) or NAK (11 12 + one byte of error bits); a sense request by its data (7x ...).

Every failure of the line (no answer within the time-out, a reply that is not a block, a bad
checksum, a NAK) raises ``DeckError``: one line naming the port, the command and what went
wrong.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from metadata.errors import HeadblockError

BAUD_RATE = 38400
DEFAULT_TIMEOUT_S = 0.5

# (CMD-1 group, CMD-2) of each command this module sends
PLAY = (0x20, 0x01)
STOP = (0x20, 0x00)
REWIND = (0x20, 0x20)
FAST_FORWARD = (0x20, 0x10)
EJECT = (0x20, 0x0F)
STANDBY_OFF = (0x20, 0x04)
STANDBY_ON = (0x20, 0x05)
CUE_UP_WITH_DATA = (0x20, 0x31)
DEVICE_TYPE = (0x00, 0x11)
CURRENT_TIME_SENSE = (0x60, 0x0C)
STATUS_SENSE = (0x60, 0x20)

ACK = (0x10, 0x01)
NAK = (0x10, 0x12)
DEVICE_TYPE_REPLY = (0x10, 0x11)
STATUS_REPLY = (0x70, 0x20)

NAMES = {
    PLAY: "play",
    STOP: "stop",
    REWIND: "rewind",
    FAST_FORWARD: "fast forward",
    EJECT: "eject",
    STANDBY_OFF: "standby off",
    STANDBY_ON: "standby on",
    CUE_UP_WITH_DATA: "cue up with data",
    DEVICE_TYPE: "device type request",
    CURRENT_TIME_SENSE: "current time sense",
    STATUS_SENSE: "status sense",
}

NAK_BITS = {
    0x01: "unknown command",
    0x04: "checksum error",
    0x10: "parity error",
    0x20: "buffer overrun",
    0x40: "framing error",
    0x80: "time-out",
}

# current time sense: the request's data byte, and the CMD-2 of the reply for each source
TIME_SOURCES = {"ltc": 0x01, "vitc": 0x02, "timer1": 0x04, "timer2": 0x08, "auto": 0x03}
TIME_REPLIES = {
    0x04: "ltc",
    0x14: "ltc",
    0x06: "vitc",
    0x16: "vitc",
    0x00: "timer1",
    0x01: "timer2",
}


class DeckError(HeadblockError):
    """The deck did not answer, answered garbage, or refused a command (NAK)."""


# --------------------------------------------------------------------------- blocks


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def encode(group: int, cmd2: int, data: bytes = b"") -> bytes:
    """One command block: ``[group | len(data), cmd2, data..., checksum]``."""
    if len(data) > 15:
        raise ValueError("a command block carries at most 15 data bytes")
    head = bytes([(group & 0xF0) | len(data), cmd2 & 0xFF]) + bytes(data)
    return head + bytes([checksum(head)])


@dataclass(frozen=True)
class Block:
    group: int  # the upper four bits of CMD-1
    cmd2: int
    data: bytes

    @property
    def command(self) -> tuple[int, int]:
        return self.group, self.cmd2

    def to_bytes(self) -> bytes:
        return encode(self.group, self.cmd2, self.data)


def nak_reasons(bits: int) -> list[str]:
    reasons = [name for bit, name in NAK_BITS.items() if bits & bit]
    return reasons or [f"error bits 0x{bits:02X}"]


# --------------------------------------------------------------------------- timecode as BCD


def _bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def _from_bcd(byte: int, mask: int = 0xFF) -> int:
    byte &= mask
    tens, units = byte >> 4, byte & 0x0F
    if units > 9 or tens > 9:
        raise ValueError(f"not BCD: 0x{byte:02X}")
    return tens * 10 + units


def timecode_bytes(timecode: str) -> bytes:
    """The four data bytes of a time (frames, seconds, minutes, hours, BCD); ``;`` before the
    frames sets the drop-frame flag (bit 6 of the frames byte)."""
    from capture.timecode.smpte import split

    h, m, s, f = split(timecode)
    if f > 29:
        raise HeadblockError(f"timecode {timecode}: at most 29 frames")
    frames = _bcd(f) | (0x40 if ";" in timecode else 0)
    return bytes([frames, _bcd(s), _bcd(m), _bcd(h)])


def timecode_from_bytes(data: bytes) -> str:
    """``HH:MM:SS:FF`` (``;`` when the drop-frame flag is set) of four time data bytes."""
    if len(data) < 4:
        raise ValueError("time data is four bytes")
    frames = _from_bcd(data[0], 0x3F)
    seconds = _from_bcd(data[1], 0x7F)  # bit 7 of the seconds byte is the field flag
    minutes = _from_bcd(data[2], 0x7F)
    hours = _from_bcd(data[3], 0x3F)
    if frames > 29 or seconds > 59 or minutes > 59 or hours > 23:
        raise ValueError(f"time out of range: {data[:4].hex(' ')}")
    sep = ";" if data[0] & 0x40 else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frames:02d}"


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class DeckStatus:
    """The deck's status bytes (reply to status sense, bytes 0-9)."""

    raw: bytes

    def _bit(self, byte: int, mask: int) -> bool:
        return len(self.raw) > byte and bool(self.raw[byte] & mask)

    cassette_out = property(lambda self: self._bit(0, 0x20))
    local = property(lambda self: self._bit(0, 0x01))
    hardware_error = property(lambda self: self._bit(0, 0x04))
    play = property(lambda self: self._bit(1, 0x01))
    record = property(lambda self: self._bit(1, 0x02))
    fast_forward = property(lambda self: self._bit(1, 0x04))
    rewind = property(lambda self: self._bit(1, 0x08))
    eject = property(lambda self: self._bit(1, 0x10))
    stop = property(lambda self: self._bit(1, 0x20))
    standby = property(lambda self: self._bit(1, 0x80))
    cue_complete = property(lambda self: self._bit(2, 0x01))
    still = property(lambda self: self._bit(2, 0x02))
    reverse = property(lambda self: self._bit(2, 0x04))
    servo_lock = property(lambda self: self._bit(2, 0x80))

    @property
    def mode(self) -> str:
        """One word for the transport: no tape, eject, rewind, fast forward, record, play, stop."""
        if self.cassette_out:
            return "no tape"
        for name in ("eject", "rewind", "fast_forward", "record", "play", "stop"):
            if getattr(self, name):
                return name.replace("_", " ")
        return "unknown"

    def to_dict(self) -> dict:
        names = (
            "cassette_out local hardware_error play record fast_forward rewind eject stop "
            "standby cue_complete still reverse servo_lock"
        ).split()
        return {"mode": self.mode, **{n: getattr(self, n) for n in names}, "raw": self.raw.hex()}


@dataclass(frozen=True)
class DeckTime:
    timecode: str
    source: str  # "ltc", "vitc", "timer1", "timer2"

    @property
    def drop_frame(self) -> bool:
        return ";" in self.timecode


# --------------------------------------------------------------------------- the deck


class Deck:
    """A deck on a serial port. ``Deck(port)`` opens it (38400 8-O-1); every call sends one
    command block and reads its reply within ``timeout_s``."""

    def __init__(self, port: str, timeout_s: float = DEFAULT_TIMEOUT_S):
        import serial

        self.port_name = port
        self.timeout_s = timeout_s
        try:
            self._serial = serial.Serial(
                port,
                baudrate=BAUD_RATE,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_ODD,
                stopbits=serial.STOPBITS_ONE,
                timeout=timeout_s,
                write_timeout=timeout_s,
                # POSIX: a second program cannot open the same port and garble the exchange
                **({"exclusive": True} if os.name == "posix" else {}),
            )
        except Exception as exc:  # SerialException, OSError, termios.error, ValueError
            raise DeckError(f"cannot open the deck's serial port {port}: {exc}") from exc

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> Deck:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one exchange ---------------------------------------------------------------------------
    def _fail(self, what: str, message: str) -> DeckError:
        self._serial.reset_input_buffer()  # a stray byte must not shift the next reply
        return DeckError(f"deck on {self.port_name}: {what}: {message}")

    def _read(self, n: int, what: str, got: bytes) -> bytes:
        import serial

        deadline = time.monotonic() + self.timeout_s
        out = b""
        try:
            while len(out) < n:
                chunk = self._serial.read(n - len(out))
                out += chunk
                if len(out) < n and time.monotonic() >= deadline:
                    break
        except (serial.SerialException, OSError) as exc:
            raise self._fail(what, f"the serial port failed: {exc}") from exc
        if len(out) < n:
            if not got and not out:
                raise self._fail(what, f"no answer within {self.timeout_s:g} s")
            raise self._fail(what, f"the answer stopped after {len(got + out)} byte(s)")
        return out

    def exchange(self, command: tuple[int, int], data: bytes = b"") -> Block:
        """Send one command and return the reply block (NAK raises ``DeckError``)."""
        import serial

        what = NAMES.get(command, f"command {command[0]:02X}.{command[1]:02X}")
        self._serial.reset_input_buffer()
        try:
            self._serial.write(encode(command[0], command[1], data))
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise self._fail(what, f"cannot write to the serial port: {exc}") from exc
        head = self._read(2, what, b"")
        group, count = head[0] & 0xF0, head[0] & 0x0F
        if group not in (0x10, 0x70):
            raise self._fail(what, f"answered garbage ({head.hex(' ')}): not a reply block")
        rest = self._read(count + 1, what, head)
        block = head + rest
        if checksum(block[:-1]) != block[-1]:
            raise self._fail(what, f"answered garbage ({block.hex(' ')}): bad checksum")
        reply = Block(group, head[1], rest[:-1])
        if reply.command == NAK:
            bits = reply.data[0] if reply.data else 0
            raise DeckError(
                f"deck on {self.port_name} refused {what} (NAK: {', '.join(nak_reasons(bits))})"
            )
        return reply

    def _acknowledged(self, command: tuple[int, int], data: bytes = b"") -> None:
        reply = self.exchange(command, data)
        if reply.command != ACK:
            what = NAMES.get(command, "the command")
            raise self._fail(what, f"expected ACK, got {reply.to_bytes().hex(' ')}")

    # -- transport ------------------------------------------------------------------------------
    def play(self) -> None:
        self._acknowledged(PLAY)

    def stop(self) -> None:
        self._acknowledged(STOP)

    def rewind(self) -> None:
        self._acknowledged(REWIND)

    def fast_forward(self) -> None:
        self._acknowledged(FAST_FORWARD)

    def eject(self) -> None:
        self._acknowledged(EJECT)

    def standby(self, on: bool = True) -> None:
        self._acknowledged(STANDBY_ON if on else STANDBY_OFF)

    def cue(self, timecode: str) -> None:
        """Cue up with data: the deck winds to ``timecode`` and parks there (status
        ``cue_complete`` once it is)."""
        self._acknowledged(CUE_UP_WITH_DATA, timecode_bytes(timecode))

    # -- sense ----------------------------------------------------------------------------------
    def device_type(self) -> int:
        reply = self.exchange(DEVICE_TYPE)
        if reply.command != DEVICE_TYPE_REPLY or len(reply.data) != 2:
            raise self._fail("device type request", f"unexpected reply {reply.to_bytes().hex(' ')}")
        return (reply.data[0] << 8) | reply.data[1]

    def current_time(self, source: str = "ltc") -> DeckTime:
        """Current time sense from ``source``: ltc, vitc, timer1, timer2 or auto (LTC or VITC)."""
        if source not in TIME_SOURCES:
            raise HeadblockError(f"unknown time source {source!r} ({', '.join(TIME_SOURCES)})")
        reply = self.exchange(CURRENT_TIME_SENSE, bytes([TIME_SOURCES[source]]))
        if reply.group != 0x70 or reply.cmd2 not in TIME_REPLIES or len(reply.data) < 4:
            raise self._fail("current time sense", f"unexpected reply {reply.to_bytes().hex(' ')}")
        try:
            timecode = timecode_from_bytes(reply.data)
        except ValueError as exc:
            raise self._fail("current time sense", f"answered garbage: {exc}") from exc
        return DeckTime(timecode, TIME_REPLIES[reply.cmd2])

    def status(self) -> DeckStatus:
        """Status sense, bytes 0-9."""
        reply = self.exchange(STATUS_SENSE, bytes([0x0A]))  # from byte 0, ten bytes
        if reply.command != STATUS_REPLY or len(reply.data) < 3:
            raise self._fail("status sense", f"unexpected reply {reply.to_bytes().hex(' ')}")
        return DeckStatus(reply.data)
