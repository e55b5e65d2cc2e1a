"""One lock per key, kept only while someone holds or waits for it.

A lock table keyed by conversation id that never forgets grows with every conversation ever touched
(about 1.4 KB each); counting holders and dropping an entry when the last one leaves bounds the table by
the number of turns in flight instead.

The lock is asyncio's, the event loop this server runs on (as the Gemini client's transport and the
store's lease timers use it): taken at once when free, as `anyio.Lock(fast_acquire=True)` was, for a
fraction of its CPU. An entry is made only for a key nobody holds.
"""

from __future__ import annotations

import asyncio


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


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
    context manager, whose machinery cost more than taking the free lock (every turn takes one). It
    counts from the moment it waits, so the entry outlives every waiter."""

    __slots__ = ("_entries", "_entry", "_key")

    def __init__(self, entries: dict[str, _Entry], key: str) -> None:
        self._entries = entries
        self._key = key

    async def __aenter__(self) -> None:
        entry = self._entries.get(self._key)
        if entry is None:
            entry = self._entries[self._key] = _Entry()
        entry.users += 1
        self._entry = entry
        try:
            await entry.lock.acquire()
        except BaseException:  # cancelled while waiting: it never held the lock
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
