#!/usr/bin/env python3
"""Build the Claude Desktop bundle (MCPB) with the official packer.

    python3 scripts/dev.py bundle     # -> dist/gemini-interactions-mcp-<version>.mcpb

The bundle uses the uv runtime: it holds the package's sources, a pyproject.toml listing the package's
dependencies, and server/main.py; the host installs the dependencies with uv and runs server/main.py with
the options the user chose (manifests/mcpb/manifest.json, `user_config`). What has a home elsewhere is
filled in while staging rather than written twice: `version` from the package, `tools` from the server's
own tools/list, the dependencies from pyproject.toml.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "server" / "gemini_interactions_mcp"
SOURCE = ROOT / "manifests" / "mcpb"
MCPB = ("@anthropic-ai/mcpb", "2.1.2")  # the official packer, pinned; tests install the same version


def package_version() -> str:
    """`__version__` of the package, read without importing it."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__version__" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise RuntimeError("no __version__ in the package")


def runtime_pyproject() -> str:
    """pyproject.toml of the bundle: the runtime dependencies, no build system (uv installs only those)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [
        "[project]",
        f"name = {json.dumps(project['name'] + '-bundle')}",
        f"version = {json.dumps(package_version())}",
        f"requires-python = {json.dumps(project['requires-python'])}",
        "dependencies = [",
        *(f"    {json.dumps(dependency)}," for dependency in project["dependencies"]),
        "]",
    ]
    return "\n".join(lines) + "\n"


def server_tools() -> list[Any]:
    """The server's own tools/list (mcp `Tool` objects), from the console entry point over stdio."""
    import anyio
    from mcp import Client, StdioServerParameters

    async def listed() -> list[Any]:
        with tempfile.TemporaryDirectory() as cwd:
            params = StdioServerParameters(
                command=sys.executable,
                args=["-m", "gemini_interactions_mcp", "serve", "--emulator", "--state", "memory"],
                cwd=cwd,
            )
            async with Client(params) as client:
                return list((await client.list_tools()).tools)

    return anyio.run(listed)


def first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SOURCE / "manifest.json").read_text(encoding="utf-8"))
    staged = {key: value for key, value in data.items() if key != "server"}
    tools = [{"name": t.name, "description": first_sentence(t.description or "")} for t in server_tools()]
    staged.update(version=package_version(), server=data["server"], tools=tools)
    return staged


def stage(dest: Path) -> Path:
    """Lay out the bundle's files in `dest` (emptied first) and return it."""
    shutil.rmtree(dest, ignore_errors=True)
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(SOURCE, dest, ignore=no_bytecode)
    shutil.copytree(PACKAGE, dest / "server" / PACKAGE.name, ignore=no_bytecode)
    shutil.copy2(ROOT / "manifests" / "icon.png", dest / "icon.png")
    shutil.copy2(ROOT / "LICENSE", dest / "LICENSE")
    (dest / "pyproject.toml").write_text(runtime_pyproject(), encoding="utf-8")
    (dest / "manifest.json").write_text(json.dumps(manifest(), indent=2) + "\n", encoding="utf-8")
    return dest


def main() -> None:
    staged = stage(ROOT / "build" / "mcpb")
    out = ROOT / "dist" / f"gemini-interactions-mcp-{package_version()}.mcpb"
    out.parent.mkdir(exist_ok=True)
    npx = shutil.which("npx")
    if npx is None:
        sys.exit("npx (it comes with Node.js) is needed to run the official MCPB packer")
    package, version = MCPB
    subprocess.run([npx, "--yes", f"{package}@{version}", "pack", str(staged), str(out)], check=True)
    print(out)


if __name__ == "__main__":
    main()
