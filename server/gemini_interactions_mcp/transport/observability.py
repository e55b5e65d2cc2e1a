"""The operator's endpoints and per-request bookkeeping, around the whole HTTP app (plain ASGI).

- `/healthz`: the process answers (liveness; no dependency, so a store outage restarts nothing);
- `/readyz`: 200 when new calls may come here, 503 with the reason while starting, draining, or when
  the state store does not answer (readiness: the load balancer's signal);
- `/metrics`: Prometheus text (metrics.py).
These three need no token and pass no Host check: probes and scrapers come from inside the cluster.

Every request gets an id (the caller's `X-Request-Id` if it sent a sane one, else a fresh one) that
log lines carry and the response echoes; requests to /mcp are counted by MCP method and status, and
event streams open to clients are counted while they last. Plain ASGI, not Starlette middleware: a
response may be a stream that lasts hours.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import nullcontext
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gemini_interactions_mcp import __version__, metrics
from gemini_interactions_mcp.logs import REQUEST_ID
from gemini_interactions_mcp.operations import Operations

REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
METRICS_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
LEGACY_METHOD = "legacy"  # 2025-era requests name no MCP method in their headers


class Observability:
    def __init__(self, app: ASGIApp, operations: Operations, *, mcp_path: str) -> None:
        self._app = app
        self._operations = operations
        self._mcp_path = mcp_path
        self._endpoints = {"/healthz": self._health, "/readyz": self._ready, "/metrics": self._metrics}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        endpoint = self._endpoints.get(scope["path"])
        if endpoint is not None and scope["method"] in ("GET", "HEAD"):
            await endpoint(send)
            return
        headers = dict(scope["headers"])
        given = headers.get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if SANE_REQUEST_ID.fullmatch(given) else fresh_request_id()
        reset = REQUEST_ID.set(request_id)
        counted = scope["path"].rstrip("/") == self._mcp_path
        method = headers.get(b"mcp-method", b"").decode("latin-1")[:64] or LEGACY_METHOD
        stream_open = False

        async def observed_send(message: Message) -> None:
            nonlocal stream_open
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())],
                }
                if counted:
                    metrics.http_requests(method if method.isascii() else "other", message["status"]).inc()
                if _is_event_stream(message):
                    stream_open = True
                    metrics.OPEN_STREAMS.inc()
            elif message["type"] == "http.response.body" and not message.get("more_body") and stream_open:
                stream_open = False
                metrics.OPEN_STREAMS.dec()
            await send(message)

        try:
            with self._operations.call() if counted and scope["method"] == "POST" else nullcontext():
                await self._app(scope, receive, observed_send)
        finally:
            if stream_open:
                metrics.OPEN_STREAMS.dec()
            REQUEST_ID.reset(reset)

    async def _health(self, send: Send) -> None:
        await _respond(send, 200, {"status": "ok", "version": __version__})

    async def _ready(self, send: Send) -> None:
        reason = await self._operations.not_ready()
        if reason is None:
            await _respond(send, 200, {"status": "ready"})
        else:
            await _respond(send, 503, {"status": "not ready", "reason": reason})

    async def _metrics(self, send: Send) -> None:
        await _respond_bytes(send, 200, metrics.latest(), METRICS_TYPE)


def fresh_request_id() -> str:
    """32 random hex digits, as `uuid.uuid4().hex` has them, without building a UUID (3 µs a request)."""
    return os.urandom(16).hex()


def _is_event_stream(start: Message) -> bool:
    for name, value in start["headers"]:
        if value.startswith(b"text/event-stream") and name.lower() == b"content-type":
            return True
    return False


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    await _respond_bytes(send, status, json.dumps(body).encode(), b"application/json")


async def _respond_bytes(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
