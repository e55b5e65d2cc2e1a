"""The emulator is an independent implementation: it must never import the client package."""

from __future__ import annotations

import ast
from pathlib import Path

import gemini_interactions_mcp.emulator as emulator_package


def test_emulator_never_imports_the_gemini_client() -> None:
    root = Path(emulator_package.__file__).parent
    offenders: list[str] = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if "gemini_interactions_mcp.gemini" in n or n.startswith("...gemini")
            ]
    assert offenders == []
