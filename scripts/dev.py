#!/usr/bin/env python3
"""Project entry points that work on a fresh clone with nothing but Python >= 3.11.

    python3 scripts/dev.py demo   # the main job on the embedded emulator, no API key
    python3 scripts/dev.py test   # lint, format check, types, the whole test suite
    python3 scripts/dev.py bundle # the Claude Desktop bundle, dist/gemini-interactions-mcp-<version>.mcpb

Both create `.venv/` on first use and install the package with its test extra into it;
later runs reinstall only when `pyproject.toml` changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-pyproject-sha256"


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    completed = subprocess.run([str(c) for c in cmd], cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def bootstrap() -> None:
    """Create the virtual environment and install the project into it when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this script runs before any venv exists)
        sys.exit(f"Python >= 3.11 is required, this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]")
    STAMP.write_text(digest)


def workers() -> str:
    """pytest-xdist workers: one per core, plus one for each core the machine leaves idle (load average),
    up to two per core. Most tests wait more than they compute (emulated upstream time, server processes
    starting), so on an idle machine a second worker per core finishes the suite much sooner; on a
    machine that is busy already, it would only slow every test down."""
    cores = os.cpu_count() or 1
    idle = max(0, cores - round(os.getloadavg()[0])) if hasattr(os, "getloadavg") else 0
    return str(cores + idle)


def test(extra: list[str]) -> None:
    _run(PYTHON, "-m", "ruff", "check", ".")
    _run(PYTHON, "-m", "ruff", "format", "--check", ".")
    # mypy (20 s without its cache) needs one core for a while; the suite leaves room beside it.
    print("+", PYTHON, "-m mypy (beside pytest)", file=sys.stderr, flush=True)
    mypy = subprocess.Popen(
        [PYTHON, "-m", "mypy"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # The suite is independent per test (own ports, temp dirs, emulators), so it runs in parallel;
    # pass -n 0 (or any -n) to choose otherwise.
    parallel = [] if any(arg.startswith("-n") for arg in extra) else ["-n", workers()]
    print("+", PYTHON, "-m pytest", *parallel, *extra, file=sys.stderr, flush=True)
    suite = subprocess.run([PYTHON, "-m", "pytest", *parallel, *extra], cwd=ROOT).returncode
    typed = mypy.communicate()[0].decode(errors="replace")
    print("mypy:", typed, end="", flush=True)
    if mypy.returncode != 0 or suite != 0:
        sys.exit(suite or mypy.returncode)


def demo(extra: list[str]) -> None:
    _run(BIN / "gemini-interactions-mcp", "demo", *extra)


def bundle(extra: list[str]) -> None:
    _run(PYTHON, ROOT / "scripts" / "bundle.py", *extra)


COMMANDS = {"test": test, "demo": demo, "bundle": bundle}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 scripts/dev.py {{{'|'.join(COMMANDS)}}} [args...]")
    bootstrap()
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
