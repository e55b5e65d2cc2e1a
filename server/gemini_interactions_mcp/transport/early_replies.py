"""Replies the stdio channel gives before the MCP SDK is loaded, and the SDK's own replies it then drops.

Clients probe a new server with `server/discover` (2026-07-28) or `initialize` (2025 era) and some give
up fast: `@ai-sdk/mcp` waits 1 s, while importing the SDK alone takes 0.8 s or more on a busy machine.
Then they list the tools, and many hold the server's start-up against that answer too. So the first
message is answered from `identity.py` when it is one of those two requests in a version this module
knows, and a `tools/list` that follows from the snapshot of the last start (`tool_snapshot.py`).

Every line still reaches the SDK, so its protocol state is exactly as if it had answered; its own reply to
a request answered early is dropped, and compared with ours: a difference is logged (and a differing
tool list stored for next time). The SDK's answer to a `tools/list` not answered early becomes the
snapshot. Standard library only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from gemini_interactions_mcp.identity import CAPABILITIES, INSTRUCTIONS, server_info
from gemini_interactions_mcp.transport.tool_snapshot import ToolListSnapshot

log = logging.getLogger(__name__)

# The protocol versions these early answers speak for; tests/mcp_server/test_stdio.py checks them against
# the installed SDK. Any other version is left to the SDK.
MODERN_VERSIONS = ("2026-07-28",)
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
TOOLS_LIST = "tools/list"
INITIALIZED = "notifications/initialized"

RequestId = str | int


def _modern_version(params: Any) -> str | None:
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict) or meta.get(META_VERSION) not in MODERN_VERSIONS:
        return None
    return meta[META_VERSION] if isinstance(meta.get(META_CAPABILITIES), dict) else None


def _discover_result(params: Any) -> dict[str, Any] | None:
    if _modern_version(params) is None:
        return None
    return {
        "cacheScope": "private",
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "resultType": "complete",
        "supportedVersions": list(MODERN_VERSIONS),
        "ttlMs": 0,
        "_meta": {META_SERVER_INFO: server_info()},
    }


def _initialize_result(params: Any) -> dict[str, Any] | None:
    if not isinstance(params, dict) or params.get("protocolVersion") not in HANDSHAKE_VERSIONS:
        return None
    client = params.get("clientInfo")
    well_formed = (
        isinstance(params.get("capabilities"), dict)
        and isinstance(client, dict)
        and isinstance(client.get("name"), str)
        and isinstance(client.get("version"), str)
    )
    if not well_formed:
        return None
    return {
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "protocolVersion": params["protocolVersion"],
        "serverInfo": server_info(),
    }


EARLY_ANSWERS: dict[str, Callable[[Any], dict[str, Any] | None]] = {
    "server/discover": _discover_result,
    "initialize": _initialize_result,
}


def _request(line: bytes | str) -> dict[str, Any] | None:
    """The JSON-RPC message on `line` when it is a request (or notification) at all."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    request_id = message.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
        return None
    return message


def early_answer(line: bytes) -> dict[str, Any] | None:
    """The reply to `line` if it is a first message this module can answer exactly as the SDK would."""
    message = _request(line)
    if message is None or "id" not in message:
        return None
    answer = EARLY_ANSWERS.get(message.get("method"))  # type: ignore[arg-type]
    result = None if answer is None else answer(message.get("params"))
    return None if result is None else {"jsonrpc": "2.0", "id": message["id"], "result": result}


class EarlyReplies:
    """What was answered early on one connection, and the SDK's replies still to compare and drop.

    `incoming` sees every line from the client, `outgoing` every message the SDK writes; both are cheap
    once the handshake and the first tool list are behind (no parsing).
    """

    def __init__(self) -> None:
        self._snapshot: ToolListSnapshot | None = None
        self._snapshot_known = threading.Event()
        self._first = True
        self._version: str | None = None
        """The protocol version of a first message answered early (the only case a snapshot is used)."""
        self._initialized = False
        self._answered: dict[RequestId, dict[str, Any]] = {}
        self._listing: dict[RequestId, str] = {}
        """tools/list requests whose answer (by the SDK) is to be stored, with their snapshot key."""

    def use_snapshot(self, snapshot: ToolListSnapshot | None) -> None:
        """The tool list snapshot to answer from (None: none), given once the channel has read it (the
        first message is answered without waiting for it)."""
        self._snapshot = snapshot
        self._snapshot_known.set()

    @property
    def _watching_lists(self) -> bool:
        return self._version is not None

    def incoming(self, line: bytes, *, early: bool) -> dict[str, Any] | None:
        """Note a line from the client; the reply to write now if it can be answered `early` (before the
        SDK is loaded)."""
        if self._first:
            self._first = False
            reply = early_answer(line)  # also when the SDK answers it: the version keys the snapshot
            if reply is None:
                return None
            message = _request(line) or {}
            self._version = reply["result"].get("protocolVersion") or _modern_version(message.get("params"))
            if not early:
                return None
            self._answered[reply["id"]] = reply
            return reply
        if not self._watching_lists:
            return None
        if self._version in HANDSHAKE_VERSIONS and not self._initialized:
            self._initialized = INITIALIZED.encode() in line and self._method(line) == INITIALIZED
            return None
        if TOOLS_LIST.encode() not in line:
            return None
        return self._tool_list(line, early=early)

    @staticmethod
    def _method(line: bytes) -> str | None:
        message = _request(line)
        method = message.get("method") if message is not None else None
        return method if isinstance(method, str) else None

    def _tool_list(self, line: bytes, *, early: bool) -> dict[str, Any] | None:
        assert self._version is not None
        message = _request(line)
        if message is None or message.get("method") != TOOLS_LIST or "id" not in message:
            return None
        self._snapshot_known.wait()
        if self._snapshot is None:
            self._version = None
            return None
        key = self._snapshot.key(self._version, message.get("params"))
        if key is None:
            return None
        self._version = None  # one tool list per connection is enough: stop looking at lines
        self._listing[message["id"]] = key
        result = self._snapshot.answer(key) if early else None
        if result is None:
            return None
        reply = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        self._answered[message["id"]] = reply
        return reply

    def outgoing(self, text: str) -> tuple[bool, tuple[str, dict[str, Any]] | None]:
        """Whether the SDK's message `text` repeats an early reply (to be dropped), and a tool list to
        store as the snapshot (its key and result), if it is one."""
        if not self._answered and not self._listing:
            return False, None
        message = _request(text)
        if message is None or "method" in message or "id" not in message:
            return False, None
        request_id = message["id"]
        key = self._listing.pop(request_id, None)
        answered = self._answered.pop(request_id, None)
        result = message.get("result")
        to_store = (key, result) if key is not None and isinstance(result, dict) else None
        if answered is None:
            return False, to_store
        if message != answered:
            log.warning("the early reply to %s differed from the SDK's: %s", request_id, text.strip())
            return True, to_store
        return True, None

    def store(self, key: str, result: dict[str, Any]) -> None:
        """Keep the SDK's tool list for the next start (blocking file work: call it from a thread)."""
        if self._snapshot is not None:
            self._snapshot.store(key, result)
