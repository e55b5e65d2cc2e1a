"""Which records were written last, within a bound of count and bytes: the memory store keeps those
unpacked (see `memory.py`) and packs a record only once it falls out of them."""

from __future__ import annotations

from collections import OrderedDict


class RecentlyWritten:
    """The keys of the records written last, oldest first, with the bytes each one's unpacked form takes.

    `add` says which keys fell out, so their owner can pack them: never more than `records` keys are
    held, never more than `size` bytes together. A record larger than `size` on its own falls out at
    once, without pushing the others out.
    """

    __slots__ = ("_keys", "_records", "_size", "size")

    def __init__(self, *, records: int, size: int) -> None:
        self._keys: OrderedDict[str, int] = OrderedDict()
        self._records = records
        self._size = size
        self.size = 0
        """The bytes of the records held now."""

    def add(self, key: str, size: int) -> list[str]:
        """`key` written now (again, or for the first time), its unpacked form `size` bytes: the keys
        that fell out, oldest first (`key` itself if it is too large to hold)."""
        self.discard(key)
        if size > self._size:
            return [key]
        self._keys[key] = size
        self.size += size
        out: list[str] = []
        while len(self._keys) > self._records or self.size > self._size:
            old, old_size = self._keys.popitem(last=False)
            self.size -= old_size
            out.append(old)
        return out

    def discard(self, key: str) -> None:
        """`key` is held no more (its record was deleted, or is written again)."""
        self.size -= self._keys.pop(key, 0)

    def __len__(self) -> int:
        return len(self._keys)
