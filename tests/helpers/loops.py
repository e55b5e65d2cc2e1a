"""The event loops tests run on besides asyncio's own: uvloop, where it exists."""

from __future__ import annotations

import importlib.util

import pytest

needs_uvloop = pytest.mark.skipif(
    importlib.util.find_spec("uvloop") is None, reason="uvloop has no Windows build"
)
UVLOOP_BACKEND = pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")
"""An `anyio_backend` value that runs a test on uvloop."""
