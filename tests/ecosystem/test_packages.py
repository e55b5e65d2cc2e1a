"""The wheel and sdist as PyPI and users see them: `twine check`, a fresh venv, `uvx --from <wheel>`."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from mcp import StdioServerParameters

from gemini_interactions_mcp import __version__
from tests.ecosystem.conftest import Dist
from tests.ecosystem.probe import converse_over_stdio
from tests.helpers.uv import Uv

pytestmark = pytest.mark.anyio

PROBE_TIMEOUT = 60.0


def serve_args(tmp_path: Path) -> list[str]:
    return ["serve", "--emulator", "--state", str(tmp_path / "state.sqlite3")]


def test_twine_accepts_both_artifacts(dist: Dist) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.wheel), str(dist.sdist)],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_carries_the_data_files_and_the_sdist_the_sources(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
    assert "gemini_interactions_mcp/services/catalog.json" in names  # model catalog: data, not code
    assert "gemini_interactions_mcp/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    with tarfile.open(dist.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "LICENSE", "server/gemini_interactions_mcp/cli.py"} <= members
    assert not any("__pycache__" in m or m.startswith(".venv") or m.startswith(".cache") for m in members)


def test_a_fresh_venv_with_only_the_wheel_reports_its_version(wheel_venv: Path, tmp_path: Path) -> None:
    script = wheel_venv / "gemini-interactions-mcp"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert done.stdout.strip() == f"gemini-interactions-mcp {__version__}"
    where = subprocess.run(
        [wheel_venv / "python", "-c", "import gemini_interactions_mcp as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
    )
    assert "site-packages" in where.stdout, "the venv must run the installed wheel, not the source tree"


async def test_a_fresh_venv_with_only_the_wheel_serves_the_emulator(wheel_venv: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=str(wheel_venv / "gemini-interactions-mcp"), args=serve_args(tmp_path), cwd=str(tmp_path)
    )
    await converse_over_stdio(params)


async def test_uvx_runs_the_wheel(dist: Dist, uv: Uv, tmp_path: Path) -> None:
    assert uv.run(
        "tool", "run", "--from", dist.wheel, "gemini-interactions-mcp", "--version", cwd=tmp_path
    ) == (f"gemini-interactions-mcp {__version__}\n")
    params = StdioServerParameters(
        command=uv.exe,
        args=["tool", "run", "--from", str(dist.wheel), "gemini-interactions-mcp", *serve_args(tmp_path)],
        cwd=str(tmp_path),
        env=uv.env,
    )
    await converse_over_stdio(params)
