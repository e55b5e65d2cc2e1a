"""One lock per key, kept only while someone holds or waits for it.

A lock table keyed by conversation id that never forgets grows with every conversation ever touched
(about 1.4 KB each); counting holders and dropping an entry when the last one leaves bounds the table by
the number of turns in flight instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio


def _lock() -> anyio.Lock:
    """A lock that is taken at once when free: anyio's default first yields to the event loop (a
    checkpoint), about 15 µs of CPU on every turn, though nothing is waiting."""
    return anyio.Lock(fast_acquire=True)


@dataclass
class _Entry:
    lock: anyio.Lock = field(default_factory=_lock)
    users: int = 0


class KeyedLocks:
    """`async with locks.hold(key):` serialises the holders of one key; other keys run freely."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def hold(self, key: str) -> _Hold:
        return _Hold(self._entries, key)


class _Hold:
    """One holder of a key's lock: an object with enter and exit methods rather than a generator-based
    context manager, whose machinery cost more than taking the free lock (every turn takes one)."""

    __slots__ = ("_entries", "_entry", "_key")

    def __init__(self, entries: dict[str, _Entry], key: str) -> None:
        self._entries = entries
        self._key = key

    async def __aenter__(self) -> None:
        self._entry = self._entries.setdefault(self._key, _Entry())
        self._entry.users += 1
        try:
            await self._entry.lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._entry.lock.release()
        self._leave()

    def _leave(self) -> None:
        entry = self._entry
        entry.users -= 1
        if entry.users == 0:
            del self._entries[self._key]
