"""Server-sent events framing: lines in, messages out.

Follows the SSE rules the SDK follows: a blank line ends a message; lines starting with `:` are
comments; several `data:` lines join with newlines; a UTF-8 BOM at the start is dropped; messages
without data are skipped; `data: [DONE]` ends the stream. Line endings (CRLF, CR, LF) are split by the
HTTP client's line iterator before lines reach this decoder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

DONE = "[DONE]"


@dataclass
class SSEMessage:
    data: str
    event: str | None = None
    id: str | None = None

    @property
    def is_done(self) -> bool:
        return self.data.strip() == DONE


@dataclass
class SSEDecoder:
    """Incremental decoder: feed one line at a time, get a message when one is complete."""

    _data: list[str] = field(default_factory=list)
    _event: str | None = None
    _id: str | None = None
    _started: bool = False

    def feed(self, line: str) -> SSEMessage | None:
        if not self._started:
            self._started = True
            line = line.removeprefix("\ufeff")
        line = line.rstrip("\r\n")
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def flush(self) -> SSEMessage | None:
        """The message pending at end of input, if any (a stream may end without a final blank line)."""
        return self._dispatch()

    def _dispatch(self) -> SSEMessage | None:
        message = SSEMessage("\n".join(self._data), self._event, self._id) if self._data else None
        self._data, self._event, self._id = [], None, None
        return message


def decode_lines(lines: Iterable[str]) -> list[SSEMessage]:
    """Every message in a complete body (for tests and buffered responses)."""
    decoder = SSEDecoder()
    messages = [m for m in (decoder.feed(line) for line in lines) if m is not None]
    tail = decoder.flush()
    return [*messages, tail] if tail is not None else messages


async def aiter_messages(lines: AsyncIterator[str]) -> AsyncIterator[SSEMessage]:
    decoder = SSEDecoder()
    async for line in lines:
        message = decoder.feed(line)
        if message is not None:
            yield message
    tail = decoder.flush()
    if tail is not None:
        yield tail
