"""Real sockets for tests that need them: uvicorn in a thread, free ports, and health waits.

Starting a server and waiting for it used to be written four times; this is the one copy. uvicorn has no
start event, so `started` is polled through `wait_until`.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx2
import uvicorn

from gemini_interactions_mcp.transport.http_parser import BoundedHttpToolsProtocol
from tests.helpers.waiting import async_wait_until, wait_until

if TYPE_CHECKING:
    from tests.helpers.tls import Certificate

START_TIMEOUT = 45.0
"""A bound, not a wait: a server process starts in about 1 s, but at a load of 8-9 on 2 cores (other
suites beside this one) 20 s was seen to run out."""
STOP_TIMEOUT = 10.0
"""uvicorn stops once its connections and requests are done: a test that left one open fails."""


# Ports a test hands to a process of its own come from below the kernel's ephemeral range (32768 and up
# by default), where no outgoing connection takes its source port, and each xdist worker draws from its
# own band, so neither a client socket nor another worker can take the port between the check and the
# child's bind (a CI run failed on exactly that). A random start keeps two suites on one machine apart.
PORT_BANDS_START = 20_000
PORT_BAND_SIZE = 1_000
_next_ports: Iterator[int] | None = None


def _band() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = PORT_BANDS_START + (int(worker) if worker.isdigit() else 0) % 12 * PORT_BAND_SIZE
    offset = random.randrange(PORT_BAND_SIZE)
    return itertools.cycle([start + (offset + n) % PORT_BAND_SIZE for n in range(PORT_BAND_SIZE)])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, from this worker's own band."""
    global _next_ports
    if _next_ports is None:
        _next_ports = _band()
    for port in itertools.islice(_next_ports, PORT_BAND_SIZE):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in this worker's band of {PORT_BAND_SIZE}")


class ServerThread:
    """An ASGI app under uvicorn on 127.0.0.1 in a daemon thread, bound before it starts (no port race).

    Use as a context manager; `url` is its base URL. `lifespan` follows uvicorn's option ("auto", "off").
    With `certificate` it serves HTTPS, and `url` names `localhost` (the name the certificate is for).
    `loop` is asyncio's own unless asked ("uvloop"), and requests are read by the server's own protocol
    unless asked (`http`), as the server pins both: uvicorn's defaults would pick uvloop (the test extra
    installs it) and its unbounded httptools protocol.
    """

    def __init__(
        self,
        app: Any,
        *,
        lifespan: str = "auto",
        certificate: Certificate | None = None,
        loop: str = "asyncio",
        http: Any = BoundedHttpToolsProtocol,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self._stop_timeout = stop_timeout
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        tls: dict[str, Any] = {}
        if certificate is not None:
            self.url = f"https://localhost:{self.port}"
            tls = {"ssl_certfile": str(certificate.certfile), "ssl_keyfile": str(certificate.keyfile)}
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            lifespan=lifespan,
            loop=loop,
            http=http,
            **tls,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def connections(self) -> int:
        """How many client connections the server has open."""
        return len(self._server.server_state.connections)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        wait_until(
            lambda: self._server.started or not self._thread.is_alive(),
            timeout=START_TIMEOUT,
            what="uvicorn to start",
        )
        assert self._server.started, "server thread died before it started"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        """Stop the server. One that has not stopped within `stop_timeout` fails the test (unless the
        test failed already): uvicorn waits for open connections and running requests, so something
        the test left open would otherwise cost every run that long, silently. It is then forced to
        stop, so no thread is left behind."""
        self._server.should_exit = True
        self._thread.join(timeout=self._stop_timeout)
        stuck = self._thread.is_alive()
        if stuck:
            self._server.force_exit = True
            self._thread.join(timeout=self._stop_timeout)
        self._socket.close()
        if stuck and exc_type is None:
            raise AssertionError(
                f"the server at {self.url} did not stop within {self._stop_timeout:g} s: a connection "
                "or a request the test left open kept it waiting"
            )


async def wait_healthy(url: str, *, path: str = "/healthz", within: float = START_TIMEOUT) -> None:
    """Wait until `url + path` answers 200 (a server process starting up refuses connections first)."""
    async with httpx2.AsyncClient() as raw:

        async def healthy() -> bool:
            try:
                return (await raw.get(url + path)).status_code == 200
            except httpx2.TransportError:
                return False

        await async_wait_until(healthy, within=within, what=f"{url}{path} to answer 200")
