"""Requests go out in one write: the head waits for the body (and both for the first read)."""

from __future__ import annotations

import ssl
from typing import Any

import httpcore2
import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient, NotFoundError, http11
from gemini_interactions_mcp.gemini.http11 import Http11Transport
from gemini_interactions_mcp.gemini.transport import FLUSH_BYTES, OneWriteStream, OneWriteTransport
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


class Recorder(httpcore2.AsyncNetworkStream):
    """A connection that keeps what was written, in writes, and answers every read with b"x"."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b"x"

    async def aclose(self) -> None:
        self.closed = True

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        return self

    def get_extra_info(self, info: str) -> Any:
        return info


async def test_head_and_body_go_out_together_at_the_first_read() -> None:
    inner = Recorder()
    stream = OneWriteStream(inner)
    await stream.write(b"POST / HTTP/1.1\r\n\r\n")
    await stream.write(b'{"a": 1}')
    await stream.write(b"")
    assert inner.writes == []
    assert await stream.read(10) == b"x"
    assert inner.writes == [b'POST / HTTP/1.1\r\n\r\n{"a": 1}']
    await stream.read(10)
    assert len(inner.writes) == 1 and stream.get_extra_info("is_readable") == "is_readable"


async def test_large_bodies_are_not_held() -> None:
    """An upload is sent as it comes: a big chunk goes out at once, small ones once they add up."""
    inner = Recorder()
    stream = OneWriteStream(inner)
    await stream.write(b"head")
    await stream.write(b"b" * FLUSH_BYTES)
    assert inner.writes == [b"head", b"b" * FLUSH_BYTES]
    piece = b"c" * (FLUSH_BYTES // 4)
    for _ in range(4):
        await stream.write(piece)
    assert inner.writes[2:] == [piece * 4]
    await stream.aclose()
    assert inner.closed


async def test_the_client_sends_through_http11_and_one_write_transport_through_one_write_streams(
    monkeypatch: pytest.MonkeyPatch, no_proxy: None
) -> None:
    """With no proxy set, the Gemini client's transport is Http11Transport, serving the calls itself (no
    fallback made); OneWriteTransport, its fallback, sends through OneWriteStream connections."""
    made: list[Http11Transport] = []

    class Counted(Http11Transport):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(http11, "Http11Transport", Counted)
    with ServerThread(create_app(EmulatorConfig(step_delay=0.0)), lifespan="off") as running:
        async with InteractionsClient(ClientConfig(base_url=running.url)) as client:
            interaction = await client.create({"model": "gemini-3.5-flash", "input": "hi"})
        async with httpx2.AsyncClient(transport=OneWriteTransport()) as plain:
            response = await plain.get(f"{running.url}/_emulator/config")
    assert interaction.status == "completed" and len(made) == 1 and made[0]._fallback is None
    assert isinstance(response.extensions["network_stream"], OneWriteStream)


async def test_behind_a_proxy_the_client_keeps_httpx2s_proxy_transports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY still routes the calls: the emulator stands in for the proxy of a host that does not
    exist, and answers (404 for an unknown interaction), so the call went through it."""
    for variable in ("HTTPS_PROXY", "ALL_PROXY", "https_proxy", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    emulator = create_app(EmulatorConfig(step_delay=0.0))
    with ServerThread(emulator, lifespan="off", http="h11") as proxy:  # h11 takes a proxy's absolute-form
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with InteractionsClient(ClientConfig(base_url="http://gemini.invalid")) as client:
            with pytest.raises(NotFoundError):
                await client.get("v1_unknown")
