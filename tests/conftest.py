"""Shared fixtures: every async test runs on asyncio through anyio's pytest plugin; one real Redis per
test session (and per xdist worker) for the tests that need it."""

from collections.abc import Iterator

import pytest

from tests.helpers.redis import RedisServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
