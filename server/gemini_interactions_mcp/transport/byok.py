"""`--byok`: an HTTP caller's own Gemini key, from the `X-Goog-Api-Key` header, for its own calls only.

The key is put in the context of the one request (services/caller_keys.py) and nowhere else: not in
the settings, not in the store, not in a log line. With `--byok-required`, a call to /mcp without a
key is refused before it reaches the MCP layer.
"""

from __future__ import annotations

import json

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from gemini_interactions_mcp.services.caller_keys import CALLER_KEY

KEY_HEADER = b"x-goog-api-key"
NEEDS_A_KEY = (
    "This server runs Gemini on your own API key: send it in the X-Goog-Api-Key header "
    "(get one at https://aistudio.google.com/apikey)."
)


class CallerKeys:
    """ASGI middleware around the app: binds the caller's key to its request at `mcp_path`."""

    def __init__(self, app: ASGIApp, *, mcp_path: str, required: bool, authenticated: bool) -> None:
        self._app = app
        self._mcp_path = mcp_path
        self._required = required
        self._authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self._mcp_path:
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(KEY_HEADER, b"").decode("latin-1").strip()
        if not key and self._required and self._may_refuse(headers):
            await _refuse(send)
            return
        reset = CALLER_KEY.set(SecretStr(key) if key else None)
        try:
            await self._app(scope, receive, send)
        finally:
            CALLER_KEY.reset(reset)

    def _may_refuse(self, headers: dict[bytes, bytes]) -> bool:
        """Refuse a keyless call only once it is authenticated (or nothing authenticates): a request
        with no token at all gets the authentication challenge first, which starts a client's sign-in."""
        return not self._authenticated or b"authorization" in headers


async def _refuse(send: Send) -> None:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": NEEDS_A_KEY}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
