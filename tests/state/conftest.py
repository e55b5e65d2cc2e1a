"""A `store` fixture that runs every state test against every backend: memory, SQLite and Redis.

Redis is a real server, started once per test session (and per xdist worker) on a free port (the
`redis_server` fixture of tests/conftest.py); each test gets an emptied database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gemini_interactions_mcp.state import MemoryStore, SQLiteStore, Store
from gemini_interactions_mcp.state.redis_store import RedisStore
from tests.helpers.redis import RedisServer

OUTPUT_CAP = 1_000


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend: Store
    if request.param == "memory":
        backend = MemoryStore(max_output_chars=OUTPUT_CAP)
    elif request.param == "sqlite":
        backend = SQLiteStore(tmp_path / "state.sqlite3", max_output_chars=OUTPUT_CAP)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        redis = RedisStore(server.url, max_output_chars=OUTPUT_CAP)
        await redis.flush()
        backend = redis
    yield backend
    await backend.close()
