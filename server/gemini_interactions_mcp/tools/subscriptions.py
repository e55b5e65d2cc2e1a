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


MAX_LEGACY_SUBSCRIPTIONS = 1000
"""Legacy subscriptions kept at most. One ends when its URI is announced, but a URI may never be (its
job ended before the subscription, an unknown id, a client gone without a word), so past this many the
URIs subscribed to longest ago are forgotten: memory stays bounded however long the server runs."""


class UpdateAnnouncer:
    """Publishes `resources/updated` for a URI to listeners and legacy subscribers alike.

    Both live in this process: with several replicas, each replica's announcer is told of every job
    end (the jobs service hears them on the store's channel) and tells its own clients.
    """

    def __init__(self, *, max_legacy: int = MAX_LEGACY_SUBSCRIPTIONS) -> None:
        self.bus = InMemorySubscriptionBus()
        self._legacy: dict[str, list[Any]] = {}
        self._max_legacy = max_legacy

    @property
    def legacy_subscriptions(self) -> int:
        """How many 2025-era subscriptions are kept (at most `max_legacy`)."""
        return sum(map(len, self._legacy.values()))

    def subscribe_legacy(self, uri: str, session: Any) -> None:
        """Remember a 2025-era subscriber of `uri`, forgetting the oldest URIs' beyond the bound."""
        self._legacy[uri] = [*self._legacy.pop(uri, []), session]  # now the most recent URI
        while self.legacy_subscriptions > self._max_legacy:
            oldest = next(iter(self._legacy))
            log.debug("forgetting the legacy subscribers of %s (too many subscriptions)", oldest)
            del self._legacy[oldest]

    async def announce(self, uri: str) -> None:
        """Tell listeners and legacy subscribers that `uri` changed. What is announced is a job's end,
        which comes once, so its legacy subscriptions end with it."""
        await self.bus.publish(ResourceUpdated(uri=uri))
        for session in self._legacy.pop(uri, []):
            try:
                await session.send_resource_updated(uri)
            except Exception as exc:  # a closed session: the others still get theirs
                log.debug("a legacy subscriber of %s is gone: %s", uri, type(exc).__name__)

    def register(self, server: MCPServer[Any]) -> None:
        async def subscribe(
            ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
        ) -> EmptyResult:
            self.subscribe_legacy(str(params.uri), ctx.session)
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
