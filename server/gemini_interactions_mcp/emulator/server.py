"""Running the emulator as a real HTTP server (the CLI's `emulator` command)."""

from __future__ import annotations

import uvicorn

from .app import create_app
from .config import EmulatorConfig


def run(host: str, port: int, config: EmulatorConfig) -> None:
    """Serve until interrupted (blocking)."""
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
