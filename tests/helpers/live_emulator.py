"""Fixtures for the emulator on a real loopback port, for any test folder whose `emulator` fixture is the
emulator's app: streams and downloads then arrive as they are produced, not through an in-process
transport that hands over whole bodies. Registered for the whole suite by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from tests.helpers.servers import ServerThread


@pytest.fixture
def live_emulator(emulator: Starlette) -> Iterator[ServerThread]:
    """The emulator on a real loopback port, for streams that must arrive as they are produced."""
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def emulator_url(live_emulator: ServerThread) -> str:
    return live_emulator.url
