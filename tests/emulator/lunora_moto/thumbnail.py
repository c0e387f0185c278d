"""Tiny valid JPEG thumbnails for the emulated thumbnail APIs (no PIL needed).

`solid_jpeg(seed)` encodes a small baseline (SOF0) JPEG of one flat colour
derived from `seed`, so thumbnails of different channels / flows differ. A flat
image needs only DC coefficients: every 8x8 block is its DC value followed by
end-of-block. Checked to decode with ImageMagick (`convert x.jpg txt:-`).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from functools import lru_cache

WIDTH, HEIGHT = 32, 18  # 16:9; decoders handle the partial bottom block row

# ITU-T T.81 Annex K.3, table K.3: luminance DC differences (categories 0..11).
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALS = tuple(range(12))
# AC table with the one symbol a flat block needs: EOB (0x00), code "0".
_AC_BITS = (1,) + (0,) * 15
_AC_VALS = (0x00,)


def _codes(bits: tuple[int, ...], vals: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes (T.81 Annex C): symbol -> (code, length)."""
    out: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            out[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return out


_DC_CODES = _codes(_DC_BITS, _DC_VALS)
_EOB = _codes(_AC_BITS, _AC_VALS)[0x00]


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0x00)  # byte stuffing
                self.acc = 0
                self.n = 0

    def finish(self) -> bytes:
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1-bits
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _ycbcr(r: int, g: int, b: int) -> tuple[int, int, int]:
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return tuple(max(0, min(255, round(v))) for v in (y, cb, cr))  # type: ignore[return-value]


@lru_cache(maxsize=256)
def solid_jpeg(seed: str = "") -> bytes:
    """A WIDTHxHEIGHT baseline JPEG of one colour derived from `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    rgb = (64 + digest[0] % 160, 64 + digest[1] % 160, 64 + digest[2] % 160)
    components = _ycbcr(*rgb)
    # Quantization table of ones; a flat block's DC coefficient is 8 * (v - 128).
    dc = [8 * (v - 128) for v in components]
    header = b"\xff\xd8"
    header += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    header += _segment(0xDB, b"\x00" + b"\x01" * 64)
    sof = struct.pack(">BHHB", 8, HEIGHT, WIDTH, 3)
    for cid in (1, 2, 3):
        sof += struct.pack(">BBB", cid, 0x11, 0)
    header += _segment(0xC0, sof)
    header += _segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALS))
    header += _segment(0xC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALS))
    sos = struct.pack(">B", 3)
    for cid in (1, 2, 3):
        sos += struct.pack(">BB", cid, 0x00)
    sos += b"\x00\x3f\x00"
    header += _segment(0xDA, sos)
    bits = _BitWriter()
    previous = [0, 0, 0]
    mcus = ((WIDTH + 7) // 8) * ((HEIGHT + 7) // 8)
    for _ in range(mcus):
        for c in range(3):
            diff = dc[c] - previous[c]
            previous[c] = dc[c]
            size = abs(diff).bit_length()
            code, length = _DC_CODES[size]
            bits.write(code, length)
            if size:
                bits.write(diff if diff >= 0 else diff + (1 << size) - 1, size)
            bits.write(*_EOB)
    return header + bits.finish() + b"\xff\xd9"


def solid_jpeg_base64(seed: str = "") -> str:
    return base64.b64encode(solid_jpeg(seed)).decode("ascii")
