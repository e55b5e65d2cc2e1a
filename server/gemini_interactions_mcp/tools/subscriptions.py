"""Completion announcements for both protocol eras.

2026-07-28 clients listen with `subscriptions/listen`, served by MCPServer from the bus we publish to.
2025-era clients use `resources/subscribe`, which MCPServer does not serve: we register it on the
low-level server and keep each subscriber's session proxy to notify it later.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.subscriptions import ResourceUpdated
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

log = logging.getLogger(__name__)


class UpdateAnnouncer:
    """Publishes `resources/updated` for a URI to listeners and legacy subscribers alike."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self._legacy: dict[str, list[Any]] = {}

    async def announce(self, uri: str) -> None:
        await self.bus.publish(ResourceUpdated(uri=uri))
        alive = []
        for session in self._legacy.get(uri, []):
            try:
                await session.send_resource_updated(uri)
            except Exception as exc:  # a closed session: drop it, the others still get theirs
                log.debug("dropping a legacy subscriber of %s: %s", uri, type(exc).__name__)
                continue
            alive.append(session)
        if alive:
            self._legacy[uri] = alive
        else:
            self._legacy.pop(uri, None)

    def register(self, server: MCPServer[Any]) -> None:
        async def subscribe(
            ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
        ) -> EmptyResult:
            self._legacy.setdefault(str(params.uri), []).append(ctx.session)
            return EmptyResult()

        async def unsubscribe(
            ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
        ) -> EmptyResult:
            # Session proxies are built per message, so this subscriber cannot be told apart from the
            # others of the URI; it receives at most the one completion notice still due, then is pruned.
            return EmptyResult()

        lowlevel = server._lowlevel_server  # the SDK offers no public hook for legacy subscriptions
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
