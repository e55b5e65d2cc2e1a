"""Decoding media outputs the way a player or viewer would: PNG and WAV headers checked, sizes read.

Every image and audio output a test sees goes through these, so "valid" means valid to a real decoder,
not "has the right magic bytes".
"""

from __future__ import annotations

import base64
import io
import struct
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG whose chunks all pass their CRC and whose pixels decompress fully."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    pos, width, height, idat, kinds = 8, 0, 0, b"", []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + payload) == crc, f"bad CRC in {kind!r}"
        kinds.append(kind)
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", payload[:10])
            assert (depth, colour) == (8, 2), "expected 8-bit RGB"
        elif kind == b"IDAT":
            idat += payload
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND", kinds
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + 3 * width), "pixel data does not match the header"
    return width, height


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (fully checked) or a JPEG (from its start-of-frame marker)."""
    if data.startswith(b"\x89PNG"):
        return png_size(data)
    assert data.startswith(b"\xff\xd8"), "neither PNG nor JPEG"
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise AssertionError("JPEG without a start-of-frame marker")


@dataclass(frozen=True)
class WavInfo:
    channels: int
    rate: int
    sample_width: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def wav_info(data: bytes) -> WavInfo:
    """The format of a WAV file as the standard library's reader sees it; the header's sizes must agree
    with the bytes actually present."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a WAV file"
    (riff_size,) = struct.unpack("<I", data[4:8])
    assert riff_size == len(data) - 8, "RIFF size does not match the file"
    with wave.open(io.BytesIO(data)) as reader:
        info = WavInfo(
            reader.getnchannels(), reader.getframerate(), reader.getsampwidth(), reader.getnframes()
        )
        assert len(reader.readframes(info.frames)) == info.frames * info.channels * info.sample_width
    return info


def b64(data: str) -> bytes:
    return base64.b64decode(data, validate=True)


def file_bytes(path: str | Path) -> bytes:
    """A saved file's content (a plain function, so async tests need no thread for a small read)."""
    return Path(path).read_bytes()


def saved_files(folder: Path, pattern: str = "**/*") -> list[Path]:
    return [p for p in folder.glob(pattern) if p.is_file()]
