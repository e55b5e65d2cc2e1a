"""Shared fixtures: every async test runs on asyncio through anyio's pytest plugin; one real Redis per
test session (and per xdist worker) for the tests that need it; a user cache folder of the session's own
(servers started by tests keep their tool list snapshot there, not in the user's)."""

import os
from collections.abc import Iterator

import pytest

from tests.helpers.redis import RedisServer

pytest_plugins = ("tests.helpers.live_emulator",)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


# Modules whose tests run whole server processes, wait out leases or install tools: the longest of the
# suite. pytest-xdist hands tests out in collection order, so these go first: a worker that drew one of
# them at the end would keep the whole run waiting alone.
SLOW_FIRST = (
    "tests/replicas/test_processes.py",
    "tests/mcp_server/test_long_work.py",
    "tests/mcp_server/test_tool_loop_restart.py",
    "tests/mcp_server/test_stdio.py",
    "tests/mcp_server/test_cli.py",
    "tests/mcp_server/test_processes.py",
    "tests/replicas/test_limits.py",
    "tests/ecosystem/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((i for i, slow in enumerate(SLOW_FIRST) if path.startswith(slow)), len(SLOW_FIRST))

    items.sort(key=rank)
