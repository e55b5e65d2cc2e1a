"""One version, one home (`gemini_interactions_mcp.__version__`): every other place that names it agrees.

pyproject.toml reads it (hatch's dynamic version), the Claude Desktop bundle gets it while staging, and
`--version` prints it; server.json and gemini-extension.json must spell it out, so they are checked here.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from gemini_interactions_mcp import __version__
from tests.ecosystem.conftest import Dist
from tests.ecosystem.sources import MANIFESTS, load_json
from tests.helpers.cache import ROOT


def test_the_installed_metadata_has_the_package_version() -> None:
    assert version("gemini-interactions-mcp") == __version__


def test_the_built_artifacts_carry_the_package_version(dist: Dist) -> None:
    assert dist.wheel.name.startswith(f"gemini_interactions_mcp-{__version__}-")
    assert dist.sdist.name == f"gemini_interactions_mcp-{__version__}.tar.gz"


def test_server_json_and_its_packages_name_the_package_version() -> None:
    server = load_json(MANIFESTS / "server.json")
    assert [server["version"], *(p["version"] for p in server["packages"])] == [__version__] * 3


def test_the_gemini_extension_names_the_package_version() -> None:
    assert load_json(ROOT / "gemini-extension.json")["version"] == __version__


def test_the_staged_bundle_names_the_package_version(staged_bundle: Path) -> None:
    assert load_json(staged_bundle / "manifest.json")["version"] == __version__
    assert f'version = "{__version__}"' in (staged_bundle / "pyproject.toml").read_text(encoding="utf-8")
