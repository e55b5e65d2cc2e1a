"""Third-party MCP servers from the package registries, each installed once into its own environment.

The bridge must work with servers nobody here wrote, so tests run real ones: a virtual environment per
pinned package under `.cache/thirdparty/`, created on first use (a lock keeps parallel test workers
from installing twice) and reused after; the marker file is written only once the install succeeded.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "thirdparty"
INSTALL_TIMEOUT = 600
MCP_SERVER_TIME = ("mcp-server-time", "2026.10.19")


def installed_command(package: str, version: str) -> Path:
    """The console script `package` of `package==version`, installed in its own environment."""
    CACHE.mkdir(parents=True, exist_ok=True)
    home = CACHE / f"{package}-{version}"
    bin_dir = home / ("Scripts" if os.name == "nt" else "bin")
    marker = home / ".installed"
    with (CACHE / f"{package}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(home)
            pip = [bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run(
                [*pip, f"{package}=={version}"],
                check=True,
                timeout=INSTALL_TIMEOUT,
                capture_output=True,
            )
            marker.write_text(version)
    return bin_dir / package
