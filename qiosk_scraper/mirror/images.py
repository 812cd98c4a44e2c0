"""Small real image files: flat-colour baseline JPEGs and PNGs, written from scratch (no
imaging library), the colour derived from the file name so that every image is stable."""

from __future__ import annotations

import hashlib
import struct
import zlib

WIDTH = 48
HEIGHT = 32


def colour_of(name: str) -> tuple[int, int, int]:
    digest = hashlib.sha1(name.encode()).digest()
    return digest[0], digest[1], digest[2]


def png_bytes(rgb: tuple[int, int, int], width: int = WIDTH, height: int = HEIGHT) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# Standard luminance DC Huffman table (ITU T.81 Annex K.3): code lengths and symbols.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALS = tuple(range(12))
# AC table with one symbol: EOB (0x00), code "0".
_AC_BITS = (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_AC_VALS = (0,)


def _huffman_codes(bits: tuple[int, ...], vals: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


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
                    self.out.append(0x00)
                self.acc = 0
                self.n = 0

    def flush(self) -> bytes:
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)
        return bytes(self.out)


def jpeg_bytes(rgb: tuple[int, int, int], width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A baseline JPEG of one flat colour (YCbCr 4:4:4, every block DC only)."""
    if width % 8 or height % 8:
        raise ValueError("width and height must be multiples of 8")
    r, g, b = rgb
    ycc = (
        round(0.299 * r + 0.587 * g + 0.114 * b),
        round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b),
        round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b),
    )
    ycc = tuple(max(0, min(255, v)) for v in ycc)  # type: ignore[assignment]
    dc_codes = _huffman_codes(_DC_BITS, _DC_VALS)
    ac_codes = _huffman_codes(_AC_BITS, _AC_VALS)
    bits = _BitWriter()
    previous = [0, 0, 0]
    for _ in range((width // 8) * (height // 8)):
        for c in range(3):
            dc = 8 * (ycc[c] - 128)  # quantiser 1: the DC coefficient of a flat block
            diff = dc - previous[c]
            previous[c] = dc
            size = abs(diff).bit_length()
            code, length = dc_codes[size]
            bits.write(code, length)
            if size:
                bits.write(diff if diff > 0 else diff + (1 << size) - 1, size)
            code, length = ac_codes[0]
            bits.write(code, length)
    scan = bits.flush()

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">HH", marker, len(payload) + 2) + payload

    def dht(table_class: int, bits_: tuple[int, ...], vals: tuple[int, ...]) -> bytes:
        return bytes([table_class << 4]) + bytes(bits_) + bytes(vals)

    components = b"".join(bytes([cid, 0x11, 0]) for cid in (1, 2, 3))
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xFFDB, b"\x00" + b"\x01" * 64),
            segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 3) + components),
            segment(0xFFC4, dht(0, _DC_BITS, _DC_VALS) + dht(1, _AC_BITS, _AC_VALS)),
            segment(
                0xFFDA,
                b"\x03" + b"".join(bytes([cid, 0x00]) for cid in (1, 2, 3)) + b"\x00\x3f\x00",
            ),
            scan,
            b"\xff\xd9",
        ]
    )


def image_for(file_name: str) -> tuple[bytes, str] | None:
    """Bytes and content type of a media-library file, or None for an unsupported name."""
    lower = file_name.lower()
    if lower.endswith((".jpg", ".jpeg")):
        return jpeg_bytes(colour_of(file_name)), "image/jpeg"
    if lower.endswith(".png"):
        return png_bytes(colour_of(file_name)), "image/png"
    return None
