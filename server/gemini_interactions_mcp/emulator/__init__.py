"""A local, standalone implementation of the Gemini Interactions API for tests and demos.

Written from the wire specification, independently of `gemini_interactions_mcp.gemini` (which it
must never import): a misunderstanding shared by client and emulator would otherwise pass every test.
"""

from .app import create_app
from .config import EmulatorConfig
from .emulator import Emulator
from .faults import Fault

__all__ = ["Emulator", "EmulatorConfig", "Fault", "create_app"]
