"""A gitignored cache for what slow tests build or install (artifacts, npm tools, uv's package cache).

The suite runs on several pytest-xdist workers at once, so whatever is made here is made under an
exclusive file lock: the first worker builds, the others wait and then reuse it. Every entry is keyed by
what it was made from (a content hash, a pinned version), so a stale entry is never reused.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"


@contextmanager
def locked(name: str) -> Iterator[Path]:
    """Hold the cross-process lock `name` and yield the cache directory to work in."""
    CACHE.mkdir(exist_ok=True)
    fd = os.open(CACHE / f"{name}.lock", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield CACHE
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
