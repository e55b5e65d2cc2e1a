"""Replicas in processes of their own on one real Redis, in front of one emulator (in a thread here).

`replicas(n)` starts n servers (alice's and bob's tokens, extra flags as given) and waits until each
answers; they are stopped when the test ends. Each test gets an emptied Redis database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.state.redis_store import RedisStore
from tests.helpers.principals import TOKENS
from tests.helpers.processes import ServerProcess
from tests.helpers.redis import RedisServer
from tests.helpers.servers import ServerThread

TOKENS_ENV = ",".join(f"{name}:{token.get_secret_value()}" for name, token in TOKENS)
StartReplicas = Callable[..., Awaitable[list[ServerProcess]]]


async def emptied(url: str) -> str:
    store = RedisStore(url)
    await store.flush()
    await store.close()
    return url


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> str:
    return await emptied(redis_server.url)


@pytest.fixture
def emulator() -> Starlette:
    return create_app(EmulatorConfig(research_seconds=3.0, agent_seconds=1.0))


@pytest.fixture
def upstream(emulator: Starlette) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


def replica(state: str, upstream: ServerThread, folder: Path, name: str, *flags: str) -> ServerProcess:
    """One replica with alice's and bob's tokens, logging to `folder/<name>.log`."""
    return ServerProcess(
        state, upstream.url, *flags, env={"GEMINI_MCP_TOKENS": TOKENS_ENV}, log=folder / f"{name}.log"
    )


@pytest.fixture
async def replicas(redis_url: str, upstream: ServerThread, tmp_path: Path) -> AsyncIterator[StartReplicas]:
    with ExitStack() as running:

        async def start(count: int = 2, *flags: str, state: str = redis_url) -> list[ServerProcess]:
            started = [
                running.enter_context(replica(state, upstream, tmp_path, "ab"[n], *flags))
                for n in range(count)
            ]
            for server in started:
                await server.ready()
            return started

        yield start
