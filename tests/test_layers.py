"""The house rules of imports (DESIGN.md "Layers"), checked on every module, relative imports included.

Layers import downward only: transport > app > wiring > tools > services > downstream > gemini | state.
Besides: tools never touch the store or HTTP; gemini/ and state/ know nothing of MCP or of the rest of
the package; the emulator is an independent implementation and imports nothing of the package but
itself.
Imports under `if TYPE_CHECKING:` and inside functions count too: a circle is a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import gemini_interactions_mcp

PACKAGE = "gemini_interactions_mcp"
ROOT = Path(gemini_interactions_mcp.__file__).parent
RANK = {
    "transport": 7,
    "app": 6,
    "wiring": 5,
    "tools": 4,
    "services": 3,
    "downstream": 2,
    "gemini": 1,
    "state": 1,
}
"""The ladder: a module may import only from layers of lower rank (or from its own layer)."""
FORBIDDEN = {
    "tools": ("state", "gemini", "httpx2", "sqlite3"),
    "gemini": ("mcp",),
    "state": ("mcp", "httpx2"),
    "emulator": ("mcp",),
}
"""Imports a layer must never make, beyond what the ladder already forbids."""
SELF_CONTAINED = ("gemini", "state", "emulator", "config", "tool_names")
"""Layers that import nothing of the package outside themselves."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(importer: str, *, is_package: bool, level: int, module: str | None) -> str:
    """The absolute module a `from {'.' * level}{module} import ...` inside `importer` refers to."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    anchor = base[: len(base) - (level - 1)]
    return ".".join([*anchor, module] if module else anchor)


def imports_of(source: str, importer: str, *, is_package: bool) -> Iterator[str]:
    """Every module the source imports, as absolute names (`from . import x` yields `pkg.x`)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(importer, is_package=is_package, level=node.level, module=node.module)
            if node.module is None:
                yield from (f"{target}.{alias.name}" for alias in node.names)
            else:
                yield target


def layer(module: str) -> str | None:
    """`gemini_interactions_mcp.tools.ask` -> `tools`; None outside the package."""
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


def violations(importer: str, imported: str) -> list[str]:
    mine, theirs = layer(importer), layer(imported)
    found: list[str] = []
    if mine is None:
        return found
    top = imported.split(".")[0]
    if any(top == f or theirs == f for f in FORBIDDEN.get(mine, ())):
        found.append(f"{mine} must not import {imported}")
    if mine in RANK and theirs in RANK and mine != theirs and RANK[theirs] >= RANK[mine]:
        found.append(f"{mine} (rank {RANK[mine]}) imports upward/sideways: {imported}")
    if mine in SELF_CONTAINED and theirs is not None and theirs != mine:
        found.append(f"{mine} must import nothing of the package but itself: {imported}")
    return found


def package_violations() -> list[str]:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        importer = module_name(path)
        for imported in imports_of(path.read_text(), importer, is_package=path.name == "__init__.py"):
            found += [f"{path.relative_to(ROOT)}: {v}" for v in violations(importer, imported)]
    return found


def test_the_package_keeps_the_layer_rules() -> None:
    assert package_violations() == []


@pytest.mark.parametrize(
    ("importer", "is_package", "level", "module", "expected"),
    [
        ("gemini_interactions_mcp.emulator.store", False, 2, "gemini", "gemini_interactions_mcp.gemini"),
        (
            "gemini_interactions_mcp.emulator.responders.model",
            False,
            3,
            "gemini.client",
            f"{PACKAGE}.gemini.client",
        ),
        ("gemini_interactions_mcp.emulator", True, 1, "store", "gemini_interactions_mcp.emulator.store"),
        ("gemini_interactions_mcp.tools.ask", False, 1, None, "gemini_interactions_mcp.tools"),
        ("gemini_interactions_mcp.tools.ask", False, 0, "anyio", "anyio"),
    ],
)
def test_relative_imports_resolve_to_the_module_they_name(
    importer: str, is_package: bool, level: int, module: str | None, expected: str
) -> None:
    assert resolve(importer, is_package=is_package, level=level, module=module) == expected


@pytest.mark.parametrize(
    ("importer", "source"),
    [
        ("gemini_interactions_mcp.emulator.store", "from ..gemini import InteractionsClient"),
        ("gemini_interactions_mcp.emulator.store", "from .. import gemini"),
        ("gemini_interactions_mcp.tools.ask", "from ..state import Store"),
        ("gemini_interactions_mcp.tools.ask", "import httpx2"),
        ("gemini_interactions_mcp.tools._common", "if TYPE_CHECKING:\n    from ..app import AppState"),
        (
            "gemini_interactions_mcp.services.jobs",
            "def f():\n    from gemini_interactions_mcp.tools import x",
        ),
        ("gemini_interactions_mcp.state.base", "from mcp.types import Tool"),
        ("gemini_interactions_mcp.gemini.client", "from ..services.errors import ServiceError"),
    ],
)
def test_each_kind_of_breach_is_caught(importer: str, source: str) -> None:
    imported = list(imports_of(source, importer, is_package=False))
    assert imported and any(violations(importer, name) for name in imported), imported
