"""ServerThread, the tests' uvicorn: a server kept from stopping by something a test left open fails
that test instead of silently costing every run the stop timeout."""

from __future__ import annotations

import re
import socket
import threading
from contextlib import closing
from typing import Any

import anyio
import pytest

from tests.helpers.servers import ServerThread
from tests.helpers.waiting import wait_until

STOP_TIMEOUT = 0.5


class _Hanging:
    """An ASGI app whose requests never finish; `entered` is set once one is running."""

    def __init__(self) -> None:
        self.entered = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.entered.set()
            await anyio.sleep_forever()


def _leave_a_request_running(server: ServerThread, app: _Hanging) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    wait_until(app.entered.is_set, timeout=10, what="the request to start")
    return client


def test_a_request_left_running_fails_the_test_and_the_server_still_stops() -> None:
    app = _Hanging()
    server = ServerThread(app, lifespan="off", stop_timeout=STOP_TIMEOUT)
    stuck = re.escape(f"did not stop within {STOP_TIMEOUT:g} s")
    with pytest.raises(AssertionError, match=stuck), server:
        client = _leave_a_request_running(server, app)
    client.close()
    assert not server._thread.is_alive()


def test_the_tests_own_failure_is_not_hidden_by_a_stuck_stop() -> None:
    app = _Hanging()
    server = ServerThread(app, lifespan="off", stop_timeout=STOP_TIMEOUT)
    with pytest.raises(ZeroDivisionError), server, closing(_leave_a_request_running(server, app)):
        raise ZeroDivisionError


def test_a_server_with_nothing_open_stops_without_complaint() -> None:
    with ServerThread(_Hanging(), lifespan="off", stop_timeout=STOP_TIMEOUT):
        pass
