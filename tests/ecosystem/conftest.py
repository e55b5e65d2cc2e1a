"""Built artifacts for the ecosystem tests: the wheel and sdist, a fresh venv holding only the wheel, uv.

Everything here is what a user gets from PyPI, never the source tree: the artifacts are built with
`uv build` (sdist first, then the wheel from the sdist, by the project's build backend as any PEP 517
front end does; uv keeps the backend's environment cached, where `python -m build` spent 6 s more making
it anew) and installed into an environment that has nothing else. Building happens once per content of the
sources (keyed by a hash, shared by every xdist worker through the cache lock) and is reused until a
packaged file changes.
"""

from __future__ import annotations

import hashlib
import shutil
import tomllib
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scripts.bundle import MCPB, stage
from scripts.bundle import server_tools as list_server_tools

from tests.helpers.cache import ROOT, locked
from tests.helpers.npm import npm_tool
from tests.helpers.uv import Uv, project_uv

BUILD_TIMEOUT = 300.0
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


def packaged_files() -> list[Path]:
    """Every file the sdist may hold, from the sdist include list in pyproject.toml (its one home)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    files: list[Path] = []
    for entry in pyproject["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]:
        path = ROOT / entry
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [
            p for p in candidates if p.is_file() and not SKIPPED_PARTS & set(p.parts) and p.suffix != ".pyc"
        ]
    return files


def sources_digest() -> str:
    digest = hashlib.sha256()
    for path in packaged_files():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def dist(uv: Uv) -> Dist:
    """The wheel and sdist of the current sources, built once and cached under .cache/dist/<hash>."""
    with locked("dist") as cache:
        out = cache / "dist" / sources_digest()
        if not out.exists():
            shutil.rmtree(out.parent, ignore_errors=True)  # one build is enough: drop those of older sources
            staging = out.with_suffix(".tmp")
            uv.run("build", "--out-dir", staging, ROOT, cwd=ROOT, timeout=BUILD_TIMEOUT)
            staging.rename(out)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dist(wheel=wheel, sdist=sdist)


@pytest.fixture(scope="session")
def uv() -> Uv:
    return project_uv()


@pytest.fixture(scope="session")
def wheel_venv(dist: Dist, uv: Uv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (the standard library's venv) with only the wheel and its dependencies.

    uv installs into it because pip would add ~15 s of resolution per session; what is installed is the
    same wheel with the same declared dependencies.
    """
    home = tmp_path_factory.mktemp("wheel-venv")
    venv.EnvBuilder(with_pip=False).create(home / "venv")
    python = home / "venv" / "bin" / "python"
    uv.run("pip", "install", "--python", python, dist.wheel, cwd=home)
    return home / "venv" / "bin"


@pytest.fixture(scope="session")
def staged_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Claude Desktop bundle's files, laid out by scripts/bundle.py exactly as `dev.py bundle` does."""
    return stage(tmp_path_factory.mktemp("mcpb") / "gemini-interactions-mcp")


@pytest.fixture(scope="session")
def mcpb() -> Path:
    """The official MCPB command line tool, at the version scripts/bundle.py pins."""
    package, version = MCPB
    return npm_tool(package, version, "mcpb")


@pytest.fixture(scope="session")
def server_tools() -> list[Any]:
    """The server's own tools/list (over stdio from the console entry point), as MCP `Tool` objects."""
    return list_server_tools()
