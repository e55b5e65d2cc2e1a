"""What the ecosystem tests compare the manifests with: the real CLI parser, the environment the code reads.

Nothing here is a second list of flags or variables: flags come from `cli.build_parser()`, variables from the
string constants in the package source, so a flag or variable added anywhere shows up here by itself.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path
from typing import Any

from gemini_interactions_mcp import cli
from gemini_interactions_mcp.config import ServerSettings
from tests.helpers.cache import ROOT

MANIFESTS = ROOT / "manifests"
PACKAGE = ROOT / "server" / "gemini_interactions_mcp"
ENV_NAME = re.compile(r"(GEMINI|GOOGLE)_[A-Z0-9_]+")
# The emulator is a separate program (`gemini-interactions-mcp emulator`) configured by flags; whatever it
# reads is not the MCP server's configuration.
NOT_THE_SERVER = {"emulator"}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def server_env_vars() -> set[str]:
    """Every GEMINI_*/GOOGLE_* name the server's code spells out (how it reads its environment)."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if NOT_THE_SERVER & set(path.relative_to(PACKAGE).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ENV_NAME.fullmatch(node.value)
            ):
                names.add(node.value)
    return names


def parse_cli(args: list[str]) -> argparse.Namespace:
    """Parse `args` exactly as the console script does (a bare flag list means `serve`); SystemExit if bad."""
    raw = list(args)
    if not raw or raw[0] not in cli.COMMANDS:
        raw = ["serve", *raw]
    return cli.build_parser().parse_args(raw)


def serve_settings(args: list[str]) -> ServerSettings:
    """The settings `serve` runs with for `args` and no environment (defaults included: they live in
    ServerSettings, not in the parser)."""
    return cli.settings_from_args(parse_cli(args), env={})


def serve_flags() -> set[str]:
    """Every option string `serve` accepts, from the real parser."""
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = subparsers.choices["serve"]
    return {flag for action in serve._actions for flag in action.option_strings}
