"""A `store` fixture that runs every state test against both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gemini_interactions_mcp.state import MemoryStore, SQLiteStore, Store

OUTPUT_CAP = 1_000


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend: Store
    if request.param == "memory":
        backend = MemoryStore(max_output_chars=OUTPUT_CAP)
    else:
        backend = SQLiteStore(tmp_path / "state.sqlite3", max_output_chars=OUTPUT_CAP)
    yield backend
    await backend.close()
