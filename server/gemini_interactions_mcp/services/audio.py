"""Speech output as a file a player can open: raw PCM wrapped in a WAV header.

Speech models return headerless 16-bit PCM (`audio/l16`, 24 kHz mono for the 3.1 preview). Although
RFC 2586 defines L16 as big-endian, Gemini's PCM is little-endian: Google's own samples write it into a
WAV file unchanged, and WAV is little-endian. The rate and channel count come from the block's fields or
from the MIME type's parameters (`audio/L16;codec=pcm;rate=24000`), with the documented defaults.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

PCM_TYPES = frozenset({"audio/l16", "audio/pcm", "audio/x-l16"})
DEFAULT_RATE = 24_000
SAMPLE_WIDTH = 2


def pcm_format(mime_type: str, sample_rate: int | None, channels: int | None) -> tuple[int, int] | None:
    """(rate, channels) if the block is raw 16-bit PCM, else None (already a playable file)."""
    essence, *params = (part.strip() for part in mime_type.lower().split(";"))
    if essence not in PCM_TYPES:
        return None
    options = dict(p.partition("=")[::2] for p in params)
    rate = sample_rate or _int(options.get("rate")) or DEFAULT_RATE
    return rate, channels or _int(options.get("channels")) or 1


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def wav(pcm: bytes, rate: int, channels: int) -> bytes:
    """A WAV file holding 16-bit little-endian PCM (a trailing odd byte is dropped)."""
    frame = SAMPLE_WIDTH * channels
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(rate)
        writer.writeframes(pcm[: len(pcm) - len(pcm) % frame])
    return buffer.getvalue()


def wav_seconds(file: Path) -> float | None:
    """Duration of a WAV file (read from its header only), or None if it is not one."""
    try:
        with wave.open(str(file)) as reader:
            return float(reader.getnframes() / reader.getframerate())
    except (wave.Error, EOFError, OSError):
        return None


def downsampled(data: bytes, factor: int) -> bytes | None:
    """A WAV at 1/`factor` of its rate (every factor-th frame): a smaller preview of long speech.
    None when the file is not 16-bit WAV."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError):
        return None
    if width != SAMPLE_WIDTH:
        return None
    frame = width * channels
    kept = b"".join(frames[i : i + frame] for i in range(0, len(frames), frame * factor))
    return wav(kept, rate // factor, channels)
