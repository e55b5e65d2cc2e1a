"""Legacy `resources/subscribe` subscriptions stay bounded: a URI that is never announced (an unknown
id, a job that ended before the subscription, a client gone without a word) is forgotten in time."""

from __future__ import annotations

import pytest

from gemini_interactions_mcp.tools.subscriptions import UpdateAnnouncer

pytestmark = pytest.mark.anyio


class Subscriber:
    def __init__(self) -> None:
        self.heard: list[str] = []

    async def send_resource_updated(self, uri: str) -> None:
        self.heard.append(uri)


async def test_the_oldest_subscriptions_are_forgotten_past_the_bound() -> None:
    announcer = UpdateAnnouncer(max_legacy=3)
    clients = [Subscriber() for _ in range(6)]
    for n in range(5):  # five URIs no job will ever announce again
        announcer.subscribe_legacy(f"gemini://interactions/never_{n}", clients[n])
    announcer.subscribe_legacy("gemini://interactions/never_2", clients[5])  # now the most recent URI
    assert announcer.legacy_subscriptions == 3
    for n in range(5):
        await announcer.announce(f"gemini://interactions/never_{n}")
    heard = [bool(client.heard) for client in clients]
    assert heard == [False, False, True, False, True, True]  # never_3 went (the oldest URI then)
    assert announcer.legacy_subscriptions == 0  # announced ones end; the forgotten ones are gone
