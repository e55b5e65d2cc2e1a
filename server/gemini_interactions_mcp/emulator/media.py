"""Synthetic media for the image, speech and research responders: PNGs, charts and PCM speech.

Written with zlib, struct and big-integer arithmetic only (no imaging dependency): the emulator must run
wherever the server runs. Everything is a pure function of its inputs, so the same prompt always yields
the same bytes. Pictures carry a light film grain, so their files weigh what real ones do (a 1K image is
over a megabyte) and clients exercise their preview downscaling on realistic sizes.
"""

from __future__ import annotations

import array
import base64
import hashlib
import math
import random
import re
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

RGB = tuple[int, int, int]

IMAGE_SIZES = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}
"""`image_size` values (section 3.2) and the side of the square image of that class."""
ASPECT_RATIOS = (
    "1:1",
    "2:3",
    "3:2",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "9:16",
    "16:9",
    "21:9",
    "1:8",
    "8:1",
    "1:4",
    "4:1",
)
PCM_RATE = 24_000
"""Speech models answer raw 16-bit little-endian mono PCM at 24 kHz (section 4.3)."""
_GRAIN = bytes(i & 15 for i in range(256))
_WHITE: RGB = (255, 255, 255)
_AXIS: RGB = (60, 60, 60)
_PALETTE: tuple[RGB, ...] = ((66, 133, 244), (219, 68, 55), (244, 180, 0), (15, 157, 88), (171, 71, 188))


def dimensions(aspect_ratio: str, image_size: str) -> tuple[int, int]:
    """Width and height for an aspect ratio and size class: the area of the size's square, shaped to
    the ratio, each side a multiple of 16 (as image models produce)."""
    w_part, h_part = (int(p) for p in aspect_ratio.split(":"))
    side = IMAGE_SIZES[image_size]
    width = side * math.sqrt(w_part / h_part)
    height = side * math.sqrt(h_part / w_part)
    return max(16, round(width / 16) * 16), max(16, round(height / 16) * 16)


_NAMED: dict[str, RGB] = {
    "red": (210, 40, 40),
    "orange": (240, 140, 30),
    "yellow": (235, 210, 40),
    "green": (40, 170, 70),
    "blue": (40, 90, 220),
    "purple": (130, 60, 190),
    "pink": (235, 120, 170),
    "brown": (130, 85, 45),
    "black": (25, 25, 25),
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
}


def named_colour(text: str) -> RGB | None:
    """The first colour word in the text ("a red kite" -> red), if any."""
    return next((_NAMED[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NAMED), None)


def prompt_colour(text: str) -> RGB:
    """The colour the text names, else a saturated colour chosen by the text (same text, same colour)."""
    named = named_colour(text)
    if named is not None:
        return named
    digest = hashlib.sha256(text.encode()).digest()
    hue = digest[0] / 255 * 6
    sector, fraction = int(hue) % 6, hue - int(hue)
    high, low, rise, fall = 220, 40, int(40 + 180 * fraction), int(220 - 180 * fraction)
    return (
        (high, fall, low, low, rise, high)[sector],
        (rise, high, high, fall, low, low)[sector],
        (low, low, rise, high, high, fall)[sector],
    )


def scale(colour: RGB, factor: float) -> RGB:
    """The colour made darker (factor < 1) or lighter (> 1), kept in range."""
    r, g, b = (min(255, max(0, round(c * factor))) for c in colour)
    return r, g, b


def png(width: int, height: int, rows: Iterable[bytes]) -> bytes:
    """A PNG (8-bit RGB, no interlace) of `height` raw rows of `3 * width` bytes."""
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )


def picture(width: int, height: int, colour: RGB, seed: str) -> bytes:
    """A vertical gradient from `colour` to a darker shade, with film grain seeded by `seed`."""
    top = tuple(min(c, 240) for c in colour)
    grain = random.Random(seed).randbytes(width * height * 3).translate(_GRAIN)
    stride = 3 * width
    bases: dict[RGB, int] = {}
    rows: list[bytes] = []
    for y in range(height):
        shade = scale((top[0], top[1], top[2]), 1 - 0.45 * y / max(1, height - 1))
        base = bases.get(shade)
        if base is None:
            base = bases[shade] = int.from_bytes(bytes(shade) * width, "big")
        # Grain bytes are < 16 and shades <= 240, so the sum never carries from one byte into the next.
        noise = int.from_bytes(grain[y * stride : (y + 1) * stride], "big")
        rows.append((base + noise).to_bytes(stride, "big"))
    return png(width, height, rows)


def bar_chart(values: Sequence[float], width: int = 640, height: int = 400) -> bytes:
    """A bar chart of `values` on a white background with axes, one palette colour per bar."""
    margin = 40
    plot_w, plot_h = width - 2 * margin, height - 2 * margin
    slot = plot_w // max(1, len(values))
    peak = max(values) or 1.0
    tops = [height - margin - round(plot_h * v / peak) for v in values]
    rows: list[bytes] = []
    for y in range(height):
        pixels = [_WHITE] * width
        for i, top in enumerate(tops):
            if top <= y < height - margin:
                left = margin + i * slot + slot // 6
                pixels[left : left + slot * 2 // 3] = [_PALETTE[i % len(_PALETTE)]] * (slot * 2 // 3)
        if y == height - margin:
            pixels[margin : width - margin] = [_AXIS] * plot_w
        if margin <= y <= height - margin:
            pixels[margin] = _AXIS
        rows.append(bytes(c for pixel in pixels for c in pixel))
    return png(width, height, rows)


def speech(segments: Sequence[tuple[str, str]]) -> bytes:
    """Raw PCM (s16le, 24 kHz, mono) for (voice, text) segments: one tone burst per word, pitched by the
    voice, with short pauses, so the duration follows the text and every speaker sounds different."""
    samples = array.array("h")
    pause = array.array("h", bytes(2 * PCM_RATE // 20))
    for voice, text in segments:
        pitch = 110 + int.from_bytes(hashlib.sha256(voice.encode()).digest()[:2], "big") % 220
        for word in text.split():
            count = PCM_RATE * (60 + 45 * min(len(word), 12)) // 1000
            step = 2 * math.pi * pitch / PCM_RATE
            samples.extend(
                round(9000 * math.sin(step * i) * math.sin(math.pi * i / count)) for i in range(count)
            )
            samples.extend(pause)
    if not samples:
        samples.extend(pause)
    if struct.pack("=h", 1) != struct.pack("<h", 1):  # big-endian host: PCM is little-endian on the wire
        samples.byteswap()
    return samples.tobytes()


def top_colour(data: bytes) -> RGB | None:
    """The colour of the first pixel of an 8-bit RGB PNG (how an edit finds the image it starts from),
    or None for anything else."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR" or data[24:26] != b"\x08\x02":
        return None
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    try:
        first = zlib.decompressobj().decompress(b"".join(chunks), 4)
    except zlib.error:
        return None
    return (first[1], first[2], first[3]) if len(first) == 4 and first[0] == 0 else None


def pcm_chunks(data: bytes, seconds: float = 1.0) -> list[bytes]:
    """PCM cut into pieces of at most `seconds` (whole samples): how a stream delivers long audio."""
    size = max(2, int(PCM_RATE * seconds) * 2)
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def block_deltas(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The `step.delta`s that stream one non-text content block: an image whole (as the docs' sample
    shows), raw PCM audio in pieces of a second, each a complete delta with the block's fields."""
    if block.get("type") != "audio" or block.get("mime_type") != "audio/l16" or "data" not in block:
        return [dict(block)]
    pcm = base64.b64decode(block["data"])
    return [{**block, "data": base64.b64encode(piece).decode()} for piece in pcm_chunks(pcm)]


def image_block(png_bytes: bytes) -> dict[str, Any]:
    """An inline `image` content block holding a PNG."""
    return {"type": "image", "mime_type": "image/png", "data": base64.b64encode(png_bytes).decode()}
