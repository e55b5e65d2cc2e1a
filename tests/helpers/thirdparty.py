"""Third-party MCP servers from the package registries, each installed once into its own environment.

The bridge must work with servers nobody here wrote, so tests run real ones: a virtual environment per
pinned package under `.cache/thirdparty/`, created on first use (a lock keeps parallel test workers
from installing twice) and reused after; the marker file is written only once the install succeeded.
uv installs it (seconds, where pip took half a minute on a fresh clone), from the same registry.
"""

from __future__ import annotations

import os
import shutil
import venv
from pathlib import Path

from tests.helpers.cache import locked
from tests.helpers.uv import project_uv

MCP_SERVER_TIME = ("mcp-server-time", "2026.10.19")


def installed_command(package: str, version: str) -> Path:
    """The console script `package` of `package==version`, installed in its own environment."""
    with locked("thirdparty") as cache:
        home = cache / "thirdparty" / f"{package}-{version}"
        bin_dir = home / ("Scripts" if os.name == "nt" else "bin")
        marker = home / ".installed"
        if not marker.exists():
            shutil.rmtree(home, ignore_errors=True)
            venv.EnvBuilder(with_pip=False).create(home)
            uv = project_uv()
            uv.run("pip", "install", "--python", bin_dir / "python", f"{package}=={version}", cwd=cache)
            marker.write_text(version)
    return bin_dir / package
