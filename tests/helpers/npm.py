"""Official Node tools (the MCPB packer, the MCP conformance suite) installed by the tests themselves.

Nothing is installed by hand: `npm install` puts a pinned version under the gitignored cache once, and
later runs reuse it. npm ships with Node.js, which this machine and CI's have; without it these tests fail
with a message saying so rather than skip, so a green run always means the tools ran.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cache import locked

INSTALL_TIMEOUT = 300.0


def npm_tool(package: str, version: str, command: str) -> Path:
    """The executable `command` of npm `package@version`, installed under .cache/npm on first use."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm (it comes with Node.js) is needed to install the official MCPB and MCP tools")
    with locked("npm") as cache:
        prefix = cache / "npm" / f"{package.replace('/', '+')}@{version}"
        executable = prefix / "node_modules" / ".bin" / command
        if not executable.exists():
            prefix.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund",
                 f"{package}@{version}"],
                check=True,
                capture_output=True,
                timeout=INSTALL_TIMEOUT,
            )  # fmt: skip
        return executable
