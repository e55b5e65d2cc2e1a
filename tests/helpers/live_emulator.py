"""Fixtures for the emulator on a real loopback port, for any test folder whose `emulator` fixture is the
emulator's app: streams and downloads then arrive as they are produced, not through an in-process
transport that hands over whole bodies. Registered for the whole suite by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until


@pytest.fixture
def live_emulator(emulator: Starlette) -> Iterator[ServerThread]:
    """The emulator on a real loopback port, for streams that must arrive as they are produced."""
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def emulator_url(live_emulator: ServerThread) -> str:
    return live_emulator.url


async def upstream_cancels(emulator_url: str) -> list[dict[str, Any]]:
    """The cancel requests the emulator at `emulator_url` received, once the first has arrived."""
    async with httpx2.AsyncClient() as raw:

        async def cancels() -> list[dict[str, Any]]:
            log = (await raw.get(f"{emulator_url}/_emulator/requests")).json()["requests"]
            return [r for r in log if r["method"] == "POST" and r["path"].endswith("/cancel")]

        return await async_wait_until(cancels, within=5, what="the upstream cancel")
