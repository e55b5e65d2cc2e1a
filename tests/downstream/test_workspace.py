"""The workspace functions: listing, reading with line ranges and caps, searching; confinement first."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.downstream import workspace as workspace_module
from gemini_interactions_mcp.downstream.functions import CallOutcome
from gemini_interactions_mcp.downstream.paths import Confinement
from gemini_interactions_mcp.downstream.workspace import READ_CHAR_CAP, READ_LINE_CAP, SPECS, Workspace

pytestmark = pytest.mark.anyio


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    (folder / "src" / "pkg").mkdir(parents=True)
    (folder / "src" / "app.py").write_text("import os\n\ndef main():\n    return 'TODO: fix'\n")
    (folder / "src" / "pkg" / "util.py").write_text("def helper():\n    pass  # todo later\n")
    (folder / "README.md").write_text("# Demo\nSee src/app.py\n")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00TODO")
    (folder / ".gitignore").write_text("build/\n*.log\n")
    (folder / "build").mkdir()
    (folder / "build" / "gen.py").write_text("# TODO generated\n")
    (folder / "debug.log").write_text("TODO in a log\n")
    return folder


@pytest.fixture
def workspace(root: Path) -> Workspace:
    return Workspace(Confinement.of([root]))


def text(outcome: CallOutcome) -> str:
    return "\n".join(block["text"] for block in outcome.result)


async def test_list_dir_honours_gitignore(workspace: Workspace) -> None:
    outcome = await workspace.call("list_dir", {"path": ".", "depth": 2})
    listing = text(outcome)
    assert not outcome.is_error
    for shown in ["src/", "src/app.py", "src/pkg/", "README.md", "logo.png"]:
        assert shown in listing
    assert "build" not in listing and "debug.log" not in listing and ".gitignore" in listing
    shallow = text(await workspace.call("list_dir", {}))
    assert "src/app.py" not in shallow and "src/" in shallow


async def test_read_file_numbers_lines_and_takes_ranges(workspace: Workspace) -> None:
    whole = text(await workspace.call("read_file", {"path": "src/app.py"}))
    assert whole.startswith("src/app.py (lines 1-4 of 4)")
    assert "     3| def main():" in whole
    part = text(await workspace.call("read_file", {"path": "src/app.py", "start_line": 3, "end_line": 3}))
    assert "def main" in part and "import os" not in part and "(lines 3-3 of 4)" in part


async def test_read_file_caps_long_files_and_says_where_to_go_on(workspace: Workspace, root: Path) -> None:
    (root / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, READ_LINE_CAP + 50)))
    outcome = text(await workspace.call("read_file", {"path": "long.txt"}))
    assert f"call again with start_line={READ_LINE_CAP + 1}" in outcome
    assert f"line {READ_LINE_CAP + 1}\n" not in outcome


async def test_a_line_longer_than_the_cap_is_shown_cut_not_skipped(workspace: Workspace, root: Path) -> None:
    (root / "bundle.min.js").write_text("x" * (READ_CHAR_CAP * 3) + "\nsecond\n")
    outcome = text(await workspace.call("read_file", {"path": "bundle.min.js"}))
    assert outcome.startswith("bundle.min.js (lines 1-1 of 2)")
    assert f"{'x' * READ_CHAR_CAP} [line cut at {READ_CHAR_CAP:,} characters]" in outcome
    assert "call again with start_line=2" in outcome
    assert "second" in text(await workspace.call("read_file", {"path": "bundle.min.js", "start_line": 2}))


async def test_searching_one_big_file_reads_a_bounded_part(
    workspace: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_module, "SEARCH_SCAN_BYTES", 1024 * 1024)
    (root / "huge.log").write_text("needle early\n" + "." * 2 * 1024 * 1024 + "\nneedle late\n")
    outcome = text(await workspace.call("search", {"query": "needle", "path": "huge.log"}))
    assert "huge.log:1: needle early" in outcome and "needle late" not in outcome
    assert "only the first 1 MB of huge.log were searched" in outcome


async def test_a_runaway_regex_is_stopped_and_the_server_stays_responsive(
    workspace: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched_timeout = workspace_module.TIMEOUT_SECONDS
    monkeypatch.setattr(workspace_module, "TIMEOUT_SECONDS", 3.0)
    (root / "trap.txt").write_text("a" * 40 + "!\n")
    ticks = 0

    async def tick() -> None:  # runs only while the event loop is free (no thread holding the GIL)
        nonlocal ticks
        while True:
            await anyio.sleep(0.1)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        outcome = await workspace.call("search", {"query": "(a+)+$", "regex": True, "path": "trap.txt"})
        tg.cancel_scope.cancel()
    assert outcome.is_error and "stopped after 3 s" in text(outcome)
    assert ticks >= 10
    # the next search starts a new worker process (the stuck one was killed): on a loaded machine that
    # alone may take seconds, so it gets the real limit, not the test's 3 s
    monkeypatch.setattr(workspace_module, "TIMEOUT_SECONDS", unpatched_timeout)
    found = await workspace.call("search", {"query": "a!", "regex": True, "path": "trap.txt"})
    assert "trap.txt:1:" in text(found)


async def test_read_file_refuses_binaries(workspace: Workspace) -> None:
    outcome = await workspace.call("read_file", {"path": "logo.png"})
    assert outcome.is_error and "binary file" in text(outcome)


async def test_search_plain_and_regex_skips_ignored_and_binary(workspace: Workspace) -> None:
    found = text(await workspace.call("search", {"query": "todo"}))
    assert "src/app.py:4:" in found and "src/pkg/util.py:2:" in found
    assert "build/gen.py" not in found and "debug.log" not in found and "logo.png" not in found
    exact = text(await workspace.call("search", {"query": "TODO", "case_sensitive": True}))
    assert "src/app.py:4" in exact and "util.py" not in exact
    arguments = {"query": r"def \w+\(\)", "regex": True, "glob": "src/pkg/*"}
    regex = text(await workspace.call("search", arguments))
    assert "src/pkg/util.py:1: def helper():" in regex and "app.py" not in regex
    capped = text(await workspace.call("search", {"query": "e", "max_results": 2}))
    assert capped.startswith("2 matches") and "stopped at max_results=2" in capped
    bad = await workspace.call("search", {"query": "(", "regex": True})
    assert bad.is_error and "not a valid regular expression" in text(bad)


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
async def test_paths_outside_the_roots_are_refused_and_never_read(
    workspace: Workspace, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "leakdir").symlink_to(tmp_path, target_is_directory=True)
    attempts = [
        ("read_file", {"path": "../secret.txt"}),
        ("read_file", {"path": str(tmp_path / "secret.txt")}),
        ("read_file", {"path": "leak.txt"}),
        ("read_file", {"path": "leakdir/secret.txt"}),
        ("read_file", {"path": "/proc/self/environ"}),
        ("read_file", {"path": "/etc/passwd"}),
        ("list_dir", {"path": ".."}),
        ("list_dir", {"path": "/proc"}),
        ("search", {"query": "SECRET", "path": ".."}),
        ("search", {"query": "SECRET", "path": "leakdir"}),
    ]
    for tool, arguments in attempts:
        outcome = await workspace.call(tool, arguments)
        assert outcome.is_error, (tool, arguments)
        assert "outside the folders" in text(outcome)
        assert "TOP SECRET" not in text(outcome)
    # A search of the whole workspace does not follow links out of it either.
    assert "No match" in text(await workspace.call("search", {"query": "SECRET"}))
    listing = text(await workspace.call("list_dir", {"depth": 3}))
    assert "leak.txt" not in listing and "leakdir/secret.txt" not in listing


async def test_hidden_roots_stay_hidden(root: Path) -> None:
    workspace = Workspace(Confinement.of([root], show_roots=False))
    for tool, arguments in [("read_file", {"path": "../x"}), ("read_file", {"path": "nope.txt"})]:
        assert str(root) not in text(await workspace.call(tool, arguments))


async def test_bad_arguments_and_unknown_functions_are_error_results(workspace: Workspace) -> None:
    assert (await workspace.call("read_file", {})).is_error
    assert (await workspace.call("read_file", {"path": "src/app.py", "start_line": "x"})).is_error
    for number in (float("inf"), float("nan")):  # JSON's 1e400 reads as infinity
        assert (await workspace.call("read_file", {"path": "src/app.py", "start_line": number})).is_error
    assert (await workspace.call("delete_all", {})).is_error
    assert (await workspace.call("search", {"query": "x", "glob": "[z-a]*"})).is_error
    assert (await workspace.call("read_file", {"path": "src\x00.py"})).is_error


def test_declarations_are_small_and_read_only() -> None:
    names = [spec.name for spec in SPECS]
    assert names == ["workspace__list_dir", "workspace__read_file", "workspace__search"]
    assert all(spec.read_only and not spec.needs_confirmation for spec in SPECS)
    assert all(spec.declaration()["parameters"]["type"] == "object" for spec in SPECS)
