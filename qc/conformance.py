"""The ``conformance`` check: a video master against the preservation policy, in the spirit of
MediaConch's FFV1/Matroska digitization policies.

Rules: Matroska container; FFV1 version 3.4 or later (version and micro-version from the
codec's configuration record); every frame a key frame (GOP 1: the record's ``intra`` flag and
the key-frame flags of the packets); slice CRCs on (``ec``); at least ``min_slices`` slices;
pixel format in the allowed list; frame size and rate of a known standard (or as the profile
allows); field order declared; audio, if any, PCM.

The FFV1 configuration record (``CodecPrivate`` in Matroska, the codec extradata) is read
here with FFV1's range coder (RFC 9043, section 4.2): no FFmpeg debug output is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from metadata.errors import HeadblockError
from qc.result import CheckResult, QCEvent
from qc.table import CHECKS

SAMPLE_PACKETS = 300  # packets read for the GOP rule when no full scan is at hand

CONTEXT_SIZE = 32


# -- FFV1 range decoder (RFC 9043 4.1) ------------------------------------------------------


def _default_state_transition() -> tuple[list[int], list[int]]:
    """(one_state, zero_state) of FFV1's default table, built as FFmpeg's rangecoder does."""
    one = 1 << 32
    factor = int(0.05 * (1 << 32))
    max_p = 256 - 8
    one_state = [0] * 256
    zero_state = [0] * 256
    last_p8 = 0
    p = one // 2
    for _ in range(128):
        p8 = (256 * p + one // 2) >> 32
        if p8 <= last_p8:
            p8 = last_p8 + 1
        if last_p8 and last_p8 < 256 and p8 <= max_p:
            one_state[last_p8] = p8
        p += ((one - p) * factor + one // 2) >> 32
        last_p8 = p8
    for i in range(256 - max_p, max_p + 1):
        if one_state[i]:
            continue
        p = (i * one + 128) >> 8
        p += ((one - p) * factor + one // 2) >> 32
        p8 = (256 * p + one // 2) >> 32
        if p8 <= i:
            p8 = i + 1
        if p8 > max_p:
            p8 = max_p
        one_state[i] = p8
    for i in range(1, 255):
        zero_state[i] = 256 - one_state[256 - i]
    return one_state, zero_state


_ONE_STATE, _ZERO_STATE = _default_state_transition()


class _RangeDecoder:
    def __init__(self, data: bytes, end: int | None = None):
        self.buf = data
        self.end = len(data) if end is None else end
        if len(data) < 2:
            raise ValueError("range coded data shorter than 2 bytes")
        self.low = (data[0] << 8) | data[1]
        self.pos = 2
        self.range = 0xFF00
        if self.low >= 0xFF00:
            self.low = 0xFF00
            self.end = self.pos
        self.one_state = list(_ONE_STATE)
        self.zero_state = list(_ZERO_STATE)

    def _refill(self) -> None:
        if self.range < 0x100:
            self.range <<= 8
            self.low <<= 8
            if self.pos < self.end:
                self.low += self.buf[self.pos]
            self.pos += 1

    def bit(self, state: list[int], i: int) -> int:
        s = state[i]
        range1 = (self.range * s) >> 8
        self.range -= range1
        if self.low < self.range:
            state[i] = self.zero_state[s]
            self._refill()
            return 0
        self.low -= self.range
        state[i] = self.one_state[s]
        self.range = range1
        self._refill()
        return 1

    def symbol(self, state: list[int], signed: bool = False) -> int:
        if self.bit(state, 0):
            return 0
        e = 0
        while self.bit(state, 1 + min(e, 9)):
            e += 1
            if e > 31:
                raise ValueError("symbol exponent out of range")
        a = 1
        for i in range(e - 1, -1, -1):
            a = 2 * a + self.bit(state, 22 + min(i, 9))
        if signed and self.bit(state, 11 + min(e, 10)):
            return -a
        return a


@dataclass
class FFV1Config:
    """The fields of an FFV1 configuration record (version 2 and later)."""

    version: int
    micro_version: int = 0
    coder_type: int = 0
    colorspace: int = 0
    bits_per_raw_sample: int = 8
    chroma_planes: bool = True
    chroma_h_shift: int = 0
    chroma_v_shift: int = 0
    transparency: bool = False
    num_h_slices: int = 1
    num_v_slices: int = 1
    quant_table_count: int = 0
    ec: int = 0  # 1: slice CRCs (error correction/detection)
    intra: int = 0  # 1: every frame is a key frame
    crc_ok: bool | None = None

    @property
    def slices(self) -> int:
        return self.num_h_slices * self.num_v_slices

    @property
    def version_text(self) -> str:
        return f"{self.version}.{self.micro_version}" if self.version >= 3 else str(self.version)


def _read_quant_table(rc: _RangeDecoder) -> int:
    state = [128] * CONTEXT_SIZE
    i = 0
    v = 0
    while i < 128:
        length = rc.symbol(state) + 1
        if length > 128 - i or length <= 0:
            raise ValueError("bad quantisation table")
        i += length
        v += 1
    return 2 * v - 1


def _read_quant_tables(rc: _RangeDecoder) -> int:
    context_count = 1
    for _ in range(5):
        context_count *= _read_quant_table(rc)
        if context_count > 32768:
            raise ValueError("too many contexts")
    return (context_count + 1) // 2


def parse_ffv1_config(extradata: bytes) -> FFV1Config:
    """Parse an FFV1 configuration record; ValueError if it is not one."""
    data = bytes(extradata)
    if len(data) < 4:
        raise ValueError("configuration record too short")
    rc = _RangeDecoder(data)
    state = [128] * CONTEXT_SIZE
    version = rc.symbol(state)
    if version < 2 or version > 4:
        raise ValueError(f"unexpected FFV1 version {version} in a configuration record")
    cfg = FFV1Config(version=version)
    if version > 2:
        rc.end -= 4  # the CRC is not range coded
        cfg.micro_version = rc.symbol(state)
    cfg.coder_type = rc.symbol(state)
    if cfg.coder_type == 2:  # a custom state transition table, used by the slices only
        for _ in range(1, 256):
            rc.symbol(state, signed=True)
    cfg.colorspace = rc.symbol(state)
    cfg.bits_per_raw_sample = rc.symbol(state) or 8
    cfg.chroma_planes = bool(rc.bit(state, 0))
    cfg.chroma_h_shift = rc.symbol(state)
    cfg.chroma_v_shift = rc.symbol(state)
    cfg.transparency = bool(rc.bit(state, 0))
    cfg.num_h_slices = 1 + rc.symbol(state)
    cfg.num_v_slices = 1 + rc.symbol(state)
    cfg.quant_table_count = rc.symbol(state)
    if not 0 < cfg.quant_table_count <= 8:
        raise ValueError(f"bad quant table count {cfg.quant_table_count}")
    context_counts = [_read_quant_tables(rc) for _ in range(cfg.quant_table_count)]
    states2 = [[128] * CONTEXT_SIZE for _ in range(CONTEXT_SIZE)]
    for count in context_counts:
        if rc.bit(state, 0):  # initial context states follow
            for _ in range(count):
                for k in range(CONTEXT_SIZE):
                    rc.symbol(states2[k], signed=True)
    if version > 2:
        cfg.ec = rc.symbol(state)
        if cfg.micro_version > 2:
            cfg.intra = rc.symbol(state)
        cfg.crc_ok = _crc_ieee_be(data) == 0
    return cfg


def _crc_ieee_be(data: bytes) -> int:
    """FFmpeg's AV_CRC_32_IEEE (MSB-first, no reflection, init 0) over ``data``."""
    crc = 0
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = (
                ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF
                if crc & 0x80000000
                else (crc << 1) & 0xFFFFFFFF
            )
    return crc


# -- the check ------------------------------------------------------------------------


@dataclass
class Finding:
    rule: str
    ok: bool
    severity: str  # when not ok: "warn" | "fail"
    detail: str


@dataclass
class ConformanceReport:
    findings: list[Finding] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def add(self, rule: str, ok: bool, detail: str, severity: str = "fail") -> None:
        self.findings.append(Finding(rule, bool(ok), severity, detail))

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def status(self) -> str:
        bad = {f.severity for f in self.failures}
        return "fail" if "fail" in bad else ("warn" if bad else "pass")


def _parse_standards(text: str) -> list[tuple[int, int, Fraction]]:
    out = []
    for item in str(text).replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            size, rate = item.split("@")
            w, h = size.lower().split("x")
            out.append((int(w), int(h), Fraction(rate)))
        except ValueError as exc:
            raise HeadblockError(
                f"conformance standard {item!r} is not WIDTHxHEIGHT@RATE (e.g. 720x486@30000/1001)"
            ) from exc
    return out


_FIELD_ORDERS = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


def _field_order_code(cc) -> int:
    fo = getattr(cc, "field_order", None)
    if fo is None:
        return 0
    if isinstance(fo, int):
        return fo
    name = str(getattr(fo, "name", fo)).lower()
    for code, label in _FIELD_ORDERS.items():
        if name == label:
            return code
    try:
        return int(fo)
    except (TypeError, ValueError):
        return 0


def evaluate(path: Path, thresholds: dict | None = None, packet_scan: dict | None = None):
    """The conformance findings for ``path``.

    ``packet_scan`` (``{"packets": n, "non_key": k}``) comes from a pass that already read
    every packet (the video statistics); without it the first ``sample_packets`` are read.
    """
    thresholds = {**CHECKS["conformance"].defaults(), **(thresholds or {})}
    min_slices = int(thresholds["min_slices"])
    min_version = str(thresholds["min_ffv1_version"])
    allowed_fmts = [s.strip() for s in str(thresholds["pixel_formats"]).split(",") if s.strip()]
    standards = _parse_standards(thresholds["standards"])
    report = ConformanceReport()
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise HeadblockError(f"{path}: not a readable media file ({exc})") from exc
    with container:
        fmt = container.format.name
        report.facts["container"] = fmt
        report.add("container", "matroska" in fmt, f"container {fmt} (Matroska required)")
        if not container.streams.video:
            report.add("video", False, "no video stream")
            return report
        stream = container.streams.video[0]
        cc = stream.codec_context
        report.facts["codec"] = cc.name
        is_ffv1 = cc.name == "ffv1"
        report.add("codec", is_ffv1, f"video codec {cc.name} (FFV1 required)")
        cfg = None
        if is_ffv1:
            extradata = cc.extradata or b""
            if extradata:
                try:
                    cfg = parse_ffv1_config(extradata)
                except ValueError as exc:
                    report.add("ffv1_config", False, f"FFV1 configuration record unreadable: {exc}")
            else:
                report.add(
                    "ffv1_version",
                    False,
                    "FFV1 version 0 or 1 (no configuration record); 3.4 or later required",
                )
        if cfg is not None:
            report.facts.update(
                ffv1_version=cfg.version_text,
                slices=cfg.slices,
                slice_crc=bool(cfg.ec),
                intra=bool(cfg.intra),
                bits_per_raw_sample=cfg.bits_per_raw_sample,
            )
            need = tuple(int(x) for x in min_version.split("."))
            have = (cfg.version, cfg.micro_version)
            report.add(
                "ffv1_version",
                have >= need,
                f"FFV1 version {cfg.version_text} ({min_version} or later required)",
            )
            if cfg.crc_ok is False:
                report.add("ffv1_config", False, "FFV1 configuration record fails its CRC")
            report.add("slice_crc", cfg.ec == 1, f"slice CRCs {'on' if cfg.ec else 'off'}")
            report.add(
                "slices",
                cfg.slices >= min_slices,
                f"{cfg.slices} slices ({min_slices} or more required)",
            )
        # GOP 1: every packet a key frame
        scan = packet_scan or _scan_packets(
            container, stream, int(thresholds.get("sample_packets", SAMPLE_PACKETS))
        )
        non_key = int(scan.get("non_key", 0))
        report.facts["packets_checked"] = int(scan.get("packets", 0))
        intra_flag = bool(cfg.intra) if cfg is not None else None
        gop_ok = non_key == 0 and intra_flag is not False
        why = f"{non_key} of {scan.get('packets', 0)} frames are not key frames"
        if intra_flag is False:
            why += "; the FFV1 record does not declare intra-only coding"
        report.add("gop", gop_ok, "every frame a key frame (GOP 1)" if gop_ok else why)
        pix = cc.format.name if cc.format else "unknown"
        report.facts["pix_fmt"] = pix
        report.add(
            "pixel_format",
            pix in allowed_fmts,
            f"pixel format {pix}"
            + ("" if pix in allowed_fmts else f" (allowed: {', '.join(allowed_fmts)})"),
        )
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        rate_f = Fraction(rate) if rate else None
        report.facts.update(width=cc.width, height=cc.height, rate=str(rate_f) if rate_f else None)
        match = any(
            cc.width == w
            and cc.height == h
            and rate_f is not None
            and abs(float(rate_f - r)) < 0.01
            for w, h, r in standards
        )
        rate_txt = f"{float(rate_f):.3f}" if rate_f else "unknown"
        report.add(
            "frame_size_rate",
            match,
            f"{cc.width}x{cc.height} at {rate_txt} fps"
            + ("" if match else " is not an allowed standard"),
        )
        fo = _field_order_code(cc)
        report.facts["field_order"] = _FIELD_ORDERS.get(fo, str(fo))
        if fo == 0:
            report.add("field_order", False, "field order not declared")
        elif fo == 1:
            report.add(
                "field_order",
                not thresholds["require_interlaced"],
                "declared progressive; analogue video is interlaced",
                severity="warn",
            )
        else:
            report.add("field_order", True, f"field order {_FIELD_ORDERS.get(fo, fo)}")
        codecs = [a.codec_context.name for a in container.streams.audio]
        report.facts["audio"] = codecs
        bad = [c for c in codecs if not c.startswith("pcm_")]
        report.add(
            "audio_pcm",
            not bad,
            "audio PCM"
            if codecs and not bad
            else ("no audio" if not codecs else f"audio {', '.join(bad)} (PCM required)"),
        )
    return report


def _scan_packets(container, stream, limit: int) -> dict:
    packets = non_key = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            packets += 1
            non_key += not packet.is_keyframe
            if packets >= limit:
                break
    except av.error.FFmpegError:
        pass
    return {"packets": packets, "non_key": non_key}


def run_conformance(
    path: Path,
    thresholds: dict | None = None,
    packet_scan: dict | None = None,
    duration_s: float = 0.0,
) -> tuple[CheckResult, list[QCEvent], dict]:
    """The ``conformance`` check result, one event per broken rule (whole file), and facts."""
    report = evaluate(path, thresholds, packet_scan)
    events = []
    for f in report.failures:
        events.append(
            QCEvent("conformance", 0.0, duration_s, None, f.severity, None, f"{f.rule}: {f.detail}")
        )
    failures = report.failures
    if failures:
        summary = "; ".join(f.detail for f in failures)
    else:
        summary = (
            f"FFV1 {report.facts.get('ffv1_version', '?')}, {report.facts.get('slices', '?')} slices, "
            f"slice CRC, GOP 1, {report.facts.get('pix_fmt')}, {report.facts.get('width')}x"
            f"{report.facts.get('height')}, field order {report.facts.get('field_order')}"
        )
    result = CheckResult("conformance", report.status, len(failures), summary)
    facts = dict(report.facts)
    facts["rules"] = {f.rule: ("pass" if f.ok else f.severity) for f in report.findings}
    return result, events, facts
