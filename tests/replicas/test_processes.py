"""Two server processes on one Redis (issue 11 §8): conversations, jobs, wake-ups, turns, principals and
limits hold across replicas, and a replica's death loses nothing."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.subscriptions import ResourceUpdated
from mcp.types import ResourceUpdatedNotification
from starlette.applications import Starlette

from tests.helpers.issuer import AUDIENCE, served_issuer
from tests.helpers.keys import KeyRecorder, files_holding
from tests.helpers.legacy import LegacyCaller, result_of
from tests.helpers.metrics import metric, scrape
from tests.helpers.principals import ALICE, BOB, connect
from tests.helpers.processes import SHORT_LEASE
from tests.helpers.redis import RedisServer
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

from .conftest import StartReplicas, replica

pytestmark = pytest.mark.anyio
TURNS = 10
OWN_KEY, OTHER_KEY = "AIza-alices-own-key-111", "AIza-another-key-333"


def upstream_requests(emulator: Starlette, method: str, suffix: str) -> list[dict[str, Any]]:
    return [
        r for r in emulator.state.emulator.requests() if r["method"] == method and r["path"].endswith(suffix)
    ]


async def poll_until_done(client: Client, interaction_id: str) -> Any:
    """Poll (each call waits up to 50 s) until the job is done; the result of the last poll."""
    with anyio.fail_after(120):
        while True:
            result = await client.call_tool(
                "poll_interaction", {"interaction_id": interaction_id, "wait_seconds": 50}
            )
            if data(result)["done"]:
                return result


async def test_a_conversation_continued_on_another_replica_chains_on_the_wire(
    replicas: StartReplicas, emulator: Starlette
) -> None:
    a, b = await replicas(2)
    async with connect(a, ALICE) as on_a, connect(b, ALICE) as on_b:
        first = data(await on_a.call_tool("ask_gemini", {"prompt": "My pet is Tom.", "conversation": "pets"}))
        second = await on_b.call_tool("ask_gemini", {"prompt": "What is my pet?", "conversation": "pets"})
    assert "Your pet is Tom" in text_of(second)
    creates = upstream_requests(emulator, "POST", "/interactions")
    assert [c["body"].get("previous_interaction_id") for c in creates] == [None, first["interaction_id"]]
    assert data(second)["turn"] == 2


async def test_a_2025_era_session_on_a_dead_replica_gets_404_and_goes_on_after_reinitialising(
    replicas: StartReplicas, emulator: Starlette
) -> None:
    """A 2025-era session lives in the replica that opened it. When that replica dies and the load
    balancer sends the session's next request to the other one, the answer is the 404 that tells
    the client to initialise again; the new session on B continues the conversation."""
    a, b = await replicas(2)
    async with httpx2.AsyncClient(timeout=60) as raw:
        session = LegacyCaller(raw, a.mcp_url, ALICE)
        await session.open()
        async with session.call(
            1, "ask_gemini", {"prompt": "My pet is Tom.", "conversation": "pets"}
        ) as told:
            first = (await result_of(told, 1))["result"]["structuredContent"]
        a.kill()
        session.url = b.mcp_url  # the balancer's affinity has nowhere else to go
        async with session.call(
            2, "ask_gemini", {"prompt": "What is my pet?", "conversation": "pets"}
        ) as lost:
            assert lost.status_code == 404, "the status that makes a 2025-era client initialise again"
        reopened = LegacyCaller(raw, b.mcp_url, ALICE)
        await reopened.open()
        async with reopened.call(
            1, "ask_gemini", {"prompt": "What is my pet?", "conversation": "pets"}
        ) as asked:
            second = (await result_of(asked, 1))["result"]
    assert "Your pet is Tom" in second["content"][0]["text"] and second["structuredContent"]["turn"] == 2
    creates = upstream_requests(emulator, "POST", "/interactions")
    assert [c["body"].get("previous_interaction_id") for c in creates] == [None, first["interaction_id"]]


async def test_research_of_a_killed_replica_is_delivered_once_through_the_other(
    replicas: StartReplicas, emulator: Starlette
) -> None:
    """A starts the research and is SIGKILLed (no drain, its lease left to run out): B takes the job
    over and delivers the report; one upstream create, one watcher at a time, the end counted once."""
    a, b = await replicas(2, *SHORT_LEASE)
    async with connect(a, ALICE) as on_a:
        started = data(await on_a.call_tool("start_deep_research", {"query": "Replica loss"}))

    def streams() -> list[dict[str, Any]]:
        gets = upstream_requests(emulator, "GET", started["interaction_id"])
        return [g for g in gets if g["query"].get("stream") == "true"]

    async def a_is_watching() -> bool:
        return len(streams()) == 1

    await async_wait_until(a_is_watching, within=30, what="A's watcher to follow the research")
    a.kill()
    async with connect(b, ALICE) as on_b:
        polled = await poll_until_done(on_b, started["interaction_id"])
        usage = json.loads((await on_b.read_resource("gemini://usage")).contents[0].text)  # type: ignore[union-attr]
    assert data(polled)["status"] == "completed" and "# Research report" in text_of(polled)
    assert len(upstream_requests(emulator, "POST", "/interactions")) == 1
    assert len(streams()) == 2, streams()  # A's, then B's after the takeover: never two on B
    assert usage["today"]["interactions"] == 1  # the end was recorded once


async def test_a_draining_replica_hands_its_job_over_at_once(
    replicas: StartReplicas, emulator: Starlette
) -> None:
    """A starts the research and gets SIGTERM while a request still holds it open (A stays in its
    grace period, alive): A releases the job's lease at once, so B takes the job over while A is
    still there (the watcher lease would have kept it on A until A exited) and delivers the report."""
    emulator.state.emulator.configure(research_seconds=5)  # still running when A drains
    a, b = await replicas(2, "--drain-seconds", "60")
    async with connect(a, ALICE) as on_a:
        started = data(await on_a.call_tool("start_deep_research", {"query": "Rolling update"}))
    async with await anyio.connect_tcp("127.0.0.1", a.port) as held:  # a request A must wait for
        head = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ALICE}\r\n"
        await held.send((head + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{").encode())

        async def held_open_on_a() -> bool:  # under load, a signal sent sooner finds no call to wait for
            return metric(await scrape(a.url), "gemini_mcp_calls_open") == 1

        await async_wait_until(held_open_on_a, within=30, what="A to begin the held request")
        assert a.process is not None
        a.process.send_signal(signal.SIGTERM)

        async def taken_over_by_b() -> bool:
            return metric(await scrape(b.url), "gemini_mcp_job_takeovers_total") == 1

        await async_wait_until(taken_over_by_b, within=30, what="B to take the job over")
        assert a.process.poll() is None, "A is still in its grace period"
        async with connect(b, ALICE) as on_b:
            polled = await poll_until_done(on_b, started["interaction_id"])
    assert data(polled)["status"] == "completed" and "# Research report" in text_of(polled)
    assert len(upstream_requests(emulator, "POST", "/interactions")) == 1


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_a_poll_and_subscribers_on_one_replica_hear_of_the_others_end(
    replicas: StartReplicas,
) -> None:
    """A watches the job; on B, a poll returns as it ends, a 2025-era subscriber gets
    `resources/updated` and a 2026-07-28 listener its event, each exactly once."""
    a, b = await replicas(2)
    legacy_heard: list[str] = []
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            legacy_heard.append(str(message.params.uri))
            heard.set()

    async with (
        connect(a, ALICE) as on_a,
        connect(b, ALICE) as on_b,
        connect(b, ALICE, mode="legacy", message_handler=on_message) as legacy_on_b,
    ):
        started = data(await on_a.call_tool("start_deep_research", {"query": "Wake-ups"}))
        await legacy_on_b.subscribe_resource(started["resource"])
        listened: list[str] = []
        async with anyio.create_task_group() as tg:

            async def listen() -> None:
                async with on_b.listen(resource_subscriptions=[started["resource"]]) as events:
                    async for event in events:
                        if isinstance(event, ResourceUpdated):
                            listened.append(event.uri)
                            return

            tg.start_soon(listen)
            polled = data(
                await on_b.call_tool(
                    "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 30}
                )
            )
            with anyio.fail_after(20):
                await heard.wait()
        await legacy_on_b.call_tool("list_conversations", {})  # a round trip after any late duplicate
    assert polled["done"] and polled["status"] == "completed"
    assert listened == [started["resource"]]
    assert legacy_heard == [started["resource"]]


async def test_concurrent_turns_over_both_replicas_form_one_chain(
    replicas: StartReplicas, emulator: Starlette
) -> None:
    """Ten turns on one conversation at once, spread over A and B: one line of interactions, none
    created upstream and thrown away (the conversation's lease in Redis orders them)."""
    a, b = await replicas(2)
    async with connect(a, ALICE) as on_a, connect(b, ALICE) as on_b:
        opened = data(await on_a.call_tool("ask_gemini", {"prompt": "Hello.", "conversation": "shared"}))
        emulator.state.emulator.clear_requests()
        results: list[dict[str, Any]] = []

        async def turn(client: Client, i: int) -> None:
            result = await client.call_tool("ask_gemini", {"prompt": f"Turn {i}.", "conversation": "shared"})
            results.append(data(result))

        async with anyio.create_task_group() as tg:
            for i in range(TURNS):
                tg.start_soon(turn, (on_a, on_b)[i % 2], i)
        listed = data(await on_b.call_tool("list_conversations", {}))["conversations"]
    creates = upstream_requests(emulator, "POST", "/interactions")
    assert len(creates) == TURNS, f"{len(creates) - TURNS} billed interactions wasted"
    assert sorted(r["turn"] for r in results) == list(range(2, TURNS + 2))
    chain = [c["body"].get("previous_interaction_id") for c in creates]
    produced = {r["interaction_id"] for r in results}
    assert chain[0] == opened["interaction_id"] and len(set(chain)) == TURNS  # one line, no fork
    assert set(chain[1:]) <= produced
    assert [c["turns"] for c in listed if c["name"] == "shared"] == [TURNS + 1]


@pytest.mark.parametrize("auth", ["static tokens", "OAuth"])
async def test_principals_stay_apart_across_replicas(replicas: StartReplicas, auth: str) -> None:
    """bob on B sees none of what alice made on A: her conversation and job read as unknown; alice
    finds hers on B. With OAuth, each replica checks the tokens against the issuer's keys itself."""
    with served_issuer() as issuer:
        if auth == "OAuth":
            a, b = await replicas(2, "--oauth-issuer", issuer.issuer, "--oauth-audience", AUDIENCE)
            alice, bob = issuer.token("alice"), issuer.token("bob")
        else:
            a, b = await replicas(2)
            alice, bob = ALICE, BOB
        async with (
            connect(a, alice) as alice_on_a,
            connect(b, bob) as bob_on_b,
            connect(b, alice) as alice_on_b,
        ):
            await alice_on_a.call_tool("ask_gemini", {"prompt": "Secret plans.", "conversation": "mine"})
            job = data(await alice_on_a.call_tool("start_deep_research", {"query": "Private"}))
            assert data(await bob_on_b.call_tool("list_conversations", {}))["conversations"] == []
            theirs = await bob_on_b.call_tool("poll_interaction", {"interaction_id": job["interaction_id"]})
            assert theirs.is_error and "No background interaction" in text_of(theirs)
            mine = data(await alice_on_b.call_tool("list_conversations", {}))["conversations"]
            assert "mine" in [c["name"] for c in mine]  # (the research is a conversation of its own)


async def test_byok_callers_stay_apart_across_replicas_and_their_key_is_never_kept(
    emulator: Starlette, redis_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    """--byok on two replicas: alice's key makes her a principal of her own on both (without it, with
    another key, or as bob with her key, nothing of hers shows). A dies while her research runs on
    her key: B does not resume it on the server's key but when she polls on B with her key. Every
    upstream request of the job carried her key, and Redis never held it."""
    emulator.state.emulator.configure(research_seconds=3)
    recorder = KeyRecorder(emulator)
    with (
        ServerThread(recorder) as upstream,
        replica(redis_url, upstream, tmp_path, "a", "--byok", *SHORT_LEASE) as a,
        replica(redis_url, upstream, tmp_path, "b", "--byok") as b,
    ):
        await a.ready()
        await b.ready()
        async with connect(a, ALICE, key=OWN_KEY) as on_a:
            await on_a.call_tool("ask_gemini", {"prompt": "My pin is 4.", "conversation": "pins"})
            job = data(await on_a.call_tool("start_deep_research", {"query": "Keys"}))["interaction_id"]
        a.kill()
        async with (
            connect(b, ALICE) as keyless,
            connect(b, ALICE, key=OTHER_KEY) as other_key,
            connect(b, BOB, key=OWN_KEY) as bob_with_her_key,
        ):
            for caller in (keyless, other_key, bob_with_her_key):
                assert data(await caller.call_tool("list_conversations", {}))["conversations"] == []
                theirs = await caller.call_tool("poll_interaction", {"interaction_id": job})
                assert theirs.is_error and "No background interaction" in text_of(theirs)
        async with connect(b, ALICE, key=OWN_KEY) as on_b:
            mine = data(await on_b.call_tool("list_conversations", {}))["conversations"]
            # One poll: it takes the job over once A's lease runs out, on her key, and returns the end.
            polled = await on_b.call_tool("poll_interaction", {"interaction_id": job, "wait_seconds": 50})
    assert "pins" in [c["name"] for c in mine]
    assert data(polled)["status"] == "completed" and "# Research report" in text_of(polled)
    assert set(recorder.keys_for(job)) == {OWN_KEY}, "never on the server's key, on A or on B"
    assert files_holding(OWN_KEY, redis_server.folder) == [], "Redis's append-only file holds every write"


async def test_a_rate_limit_holds_across_replicas(replicas: StartReplicas) -> None:
    """Three requests a minute (burst 1) per caller: spread over two replicas they are still three, as
    the counters live in Redis; another caller has its own."""
    a, b = await replicas(2, "--requests-per-minute", "3", "--request-burst", "1")
    async with connect(a, ALICE) as on_a, connect(b, ALICE) as on_b, connect(b, BOB) as bob_on_b:
        first = await on_a.call_tool("ask_gemini", {"prompt": "One."})
        second = await on_b.call_tool("ask_gemini", {"prompt": "Two."})
        bobs = await bob_on_b.call_tool("ask_gemini", {"prompt": "Mine."})
    assert not first.is_error and not bobs.is_error
    assert second.is_error and "Rate limit reached" in text_of(second)


async def test_a_redis_restart_mid_run(upstream: ServerThread, emulator: Starlette, tmp_path: Path) -> None:
    """Redis goes away while a research job runs: calls answer "state store unavailable" with nothing
    sent upstream and nothing half-written; once Redis is back (its data kept on disk), the
    conversation goes on where it was and the job is finished by a replica's sweep."""
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with (
            replica(redis.url, upstream, tmp_path, "a", *SHORT_LEASE) as a,
            replica(redis.url, upstream, tmp_path, "b") as b,
        ):
            await a.ready()
            await b.ready()
            async with connect(a, ALICE) as on_a, connect(b, ALICE) as on_b:
                before = data(await on_a.call_tool("ask_gemini", {"prompt": "Hi.", "conversation": "steady"}))
                job = data(await on_a.call_tool("start_deep_research", {"query": "Outage"}))
                creates = len(upstream_requests(emulator, "POST", "/interactions"))
                redis.stop()
                refused = await on_b.call_tool("ask_gemini", {"prompt": "Here?", "conversation": "steady"})
                polled = await on_a.call_tool("poll_interaction", {"interaction_id": job["interaction_id"]})
                for result in (refused, polled):
                    assert result.is_error and "state store is unavailable" in text_of(result)
                assert len(upstream_requests(emulator, "POST", "/interactions")) == creates
                redis.start()
                after = data(await on_b.call_tool("ask_gemini", {"prompt": "Back", "conversation": "steady"}))
                done = await poll_until_done(on_b, job["interaction_id"])
    finally:
        redis.stop()
    assert after["turn"] == 2
    chained = upstream_requests(emulator, "POST", "/interactions")[-1]["body"]
    assert chained.get("previous_interaction_id") == before["interaction_id"]
    assert data(done)["status"] == "completed" and "# Research report" in text_of(done)
