"""The Emulator object: state, settings and test hooks of one instance (`app.state.emulator`).

Tests drive fault injection and inspect the request log through these methods or through the
equivalent `/_emulator` endpoints; both go through the same code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .config import EmulatorConfig
from .faults import Fault, FaultBook, RequestLog
from .resources import Resources
from .store import Store


class Emulator:
    """Holds the config, the store, pending faults and the request log."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.store = Store()
        self.resources = Resources()
        self.faults = FaultBook()
        self.log = RequestLog()

    @staticmethod
    def now() -> float:
        """Monotonic seconds; simulated runs are timed against this clock."""
        return time.monotonic()

    @staticmethod
    def wall() -> float:
        return time.time()

    def add_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Queue a fault (same body as `POST /_emulator/faults`)."""
        parsed = fault if isinstance(fault, Fault) else Fault.model_validate(dict(fault))
        self.faults.add(parsed)
        return parsed

    def pending_faults(self) -> list[Fault]:
        return list(self.faults.faults)

    def clear_faults(self) -> None:
        self.faults.clear()

    def requests(self) -> list[dict[str, Any]]:
        """Logged API requests (method, path, query, body), oldest first."""
        return self.log.entries

    def clear_requests(self) -> None:
        self.log.clear()

    def reset(self) -> None:
        """Forget faults, the log, and all stored interactions, agents, environments and files."""
        self.faults.clear()
        self.log.clear()
        self.store.clear()
        self.resources.clear()

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings (validated); affects interactions created afterwards."""
        self.config = EmulatorConfig.model_validate({**self.config.model_dump(), **changes})
        return self.config
