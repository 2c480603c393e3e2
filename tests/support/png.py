"""Decode a PNG with the standard library only (zlib, struct), enough to judge a screenshot.

Handles what headless Chromium writes: 8-bit RGB or RGBA, not interlaced, any
of the five scanline filters.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}   # colour type -> bytes per pixel at 8 bits


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]          # unfiltered scanlines, ``width * channels`` bytes each


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    dl, du, dul = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if dl <= du and dl <= dul:
        return left
    return up if du <= dul else up_left


def _unfilter(kind: int, line: bytes, previous: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:
        return bytes((a + b) & 255 for a, b in zip(line, previous))
    out = bytearray(line)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 1:
            out[i] = (out[i] + left) & 255
        elif kind == 3:
            out[i] = (out[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            up_left = previous[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + _paeth(left, previous[i], up_left)) & 255
        else:
            raise ValueError(f"unknown PNG filter {kind}")
    return bytes(out)


def read_png(path: str | Path) -> Image:
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    position, compressed, header = len(PNG_SIGNATURE), bytearray(), None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path} has no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in _CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are supported")
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(bytes(compressed))
    stride = 1 + width * channels
    rows, previous = [], bytes(width * channels)
    for y in range(height):
        line = raw[y * stride:(y + 1) * stride]
        previous = _unfilter(line[0], line[1:], previous, channels)
        rows.append(previous)
    return Image(width, height, channels, rows)


def non_white_fraction(image: Image, threshold: int = 250) -> float:
    """Share of pixels with any colour channel below ``threshold`` (alpha ignored).

    Each byte becomes 0 or 1, the three channel planes are OR-ed as big
    integers and the set bits counted: the same answer as a pixel loop, ~50×
    faster in pure Python.
    """
    table = bytes(1 if value < threshold else 0 for value in range(256))
    step = image.channels
    non_white = 0
    for row in image.rows:
        marks = row.translate(table)
        merged = 0
        for channel in range(3):
            merged |= int.from_bytes(marks[channel::step], "big")
        non_white += merged.bit_count()
    return non_white / (image.width * image.height)


def count_colour(image: Image, rgb: tuple[int, int, int]) -> int:
    """Pixels of exactly this colour (RGB images; a chart's solid fill is exact inside its shapes)."""
    if image.channels != 3:
        raise ValueError("count_colour reads RGB images")
    pattern = bytes(rgb)
    total = 0
    for row in image.rows:
        start = row.find(pattern)
        while start != -1:
            if start % 3 == 0:
                total += 1
            start = row.find(pattern, start + 1)
    return total
