"""Starting on a state file that cannot be used: one line on stderr that names it, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gemini_interactions_mcp.state import SQLiteStore
from tests.helpers.servers import free_port
from tests.helpers.unwritable import unwritable

pytestmark = pytest.mark.anyio


def start(state: Path, transport: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--emulator", "--state", str(state)]
    command += ["--transport", transport, "--port", str(free_port())]
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def assert_one_line_naming(done: subprocess.CompletedProcess[str], path: Path, words: str) -> None:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(path) in lines[0] and words in lines[0]


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_read_only_state_file_stops_start_up_with_one_line(tmp_path: Path, transport: str) -> None:
    path = tmp_path / "state.sqlite3"
    await SQLiteStore(path).close()
    with unwritable(path):
        done = start(path, transport)
    assert_one_line_naming(done, path, "not writable")


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_damaged_state_file_stops_start_up_with_one_line(tmp_path: Path, transport: str) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xa5" * 8192)
    done = start(path, transport)
    assert_one_line_naming(done, path, "move it aside")
