"""Byte units, and the two ways a message names a size in MB.

They live here because gemini/ is the lowest layer and imports nothing of the package: every layer above
it (downstream, services, wiring, transport) may import it, and gemini/ itself needs MiB for its upload
chunks. The emulator is the exception: it imports nothing of the package, so it spells its own sizes.
"""

from __future__ import annotations

MIB = 1024 * 1024


def size_mb(size: int) -> str:
    """A measured size (`12.3 MB`): one decimal, so small files do not all read as `0 MB`."""
    return f"{size / MIB:.1f} MB"


def cap_mb(size: int) -> str:
    """A byte cap as the user set or reads it (`100 MB`, `0.25 MB`), for every message that names one."""
    return f"{size / MIB:g} MB"
