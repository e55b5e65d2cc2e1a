"""uv from PyPI (a test dependency), the way tests install packages: fast, and with its cache inside the
project (.cache/uv) so a second run downloads nothing. It never downloads an interpreter: everything runs
on the Python that runs the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from tests.helpers.cache import CACHE

INSTALL_TIMEOUT = 300.0


@dataclass(frozen=True)
class Uv:
    """The uv executable and the environment that keeps its cache and choices inside the project."""

    exe: str
    env: dict[str, str]

    def run(self, *args: str | Path, cwd: Path, timeout: float = INSTALL_TIMEOUT) -> str:
        done = subprocess.run(
            [self.exe, *map(str, args)],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"uv {args} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def project_uv() -> Uv:
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(CACHE / "uv"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_CONFIG": "1",  # the user's uv.toml must not change what the test sees
        "UV_PYTHON": sys.executable,
    }
    return Uv(exe=find_uv_bin(), env=env)
