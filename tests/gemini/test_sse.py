"""SSE framing: the decoder must survive any chunking, any line ending, comments, BOM and [DONE]."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from gemini_interactions_mcp.gemini.sse import SSEDecoder, SSEMessage, decode, message_batches

BODY = (
    "\ufeff: keep-alive comment\r\n"
    "event: step.delta\r\n"
    'data: {"a":\r\n'
    "data: 1}\r\n"
    "\r\n"
    "id: 7\n"
    "event: no-data\n"
    "\n"
    "event: second\rdata: é€😀\r\r"
    ":another comment\n"
    "data: [DONE]\n\n"
)
EXPECTED = [
    SSEMessage('{"a":\n1}', "step.delta"),
    SSEMessage("é€😀", "second"),
    SSEMessage("[DONE]"),
]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_any_chunking_gives_the_same_messages(size: int) -> None:
    raw = BODY.encode()
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    assert decode(chunks) == EXPECTED
    assert EXPECTED[-1].is_done


def test_crlf_split_across_chunks_is_one_break() -> None:
    assert decode([b"data: a\r", b"\ndata: b\r", b"\r", b"data: c\n\n"]) == [
        SSEMessage("a\nb"),
        SSEMessage("c"),
    ]


def test_message_without_trailing_blank_line_is_flushed() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"x": 1}') == []
    assert decoder.flush() == [SSEMessage('{"x": 1}')]


def test_data_field_without_space_and_empty_data() -> None:
    assert decode([b"data:x\n\ndata\n\n"]) == [SSEMessage("x"), SSEMessage("")]


def test_bom_only_at_start() -> None:
    assert decode([b"\xef\xbb", b"\xbfdata: a\n\ndata: \xef\xbb\xbfb\n\n"]) == [
        SSEMessage("a"),
        SSEMessage("\ufeffb"),
    ]


@pytest.mark.parametrize("size", [1, 4, 7, 1000])
def test_lf_only_streams_read_as_crlf_ones(size: int) -> None:
    """A stream without CR is split on LF alone (the common case, no regex): the messages must be those
    of the same stream with CRLF line ends, which takes the general path."""
    lf = (
        b": hello\n"
        b'id: 1\nevent: step.delta\ndata: {"a":\ndata:1}\n\n'
        b"event: empty\ndata\n\n"
        b"event: skipped\n\n"
        b"data: x: y\nretry: 5\n\n"
        b"data: [DONE]\n\n"
    )
    crlf = lf.replace(b"\n", b"\r\n")
    expected = [
        SSEMessage('{"a":\n1}', "step.delta", "1"),
        SSEMessage("", "empty"),
        SSEMessage("x: y"),
        SSEMessage("[DONE]"),
    ]
    for raw in (lf, crlf):
        assert decode([raw[i : i + size] for i in range(0, len(raw), size)]) == expected


def test_batches_are_the_messages_each_chunk_completes_then_the_rest_at_the_end() -> None:
    chunks = [b"data: a\n\ndata: b\n\ndata: c", b"\n\n: a comment only\n", b"data: cut short"]

    async def arriving() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def batches() -> list[list[str]]:
        return [[message.data for message in batch] async for batch in message_batches(arriving())]

    assert anyio.run(batches) == [["a", "b"], ["c"], ["cut short"]]
