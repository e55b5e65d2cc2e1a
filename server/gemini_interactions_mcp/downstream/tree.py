"""Walking a folder the way a developer reads it: `.gitignore` honoured, `.git` skipped, links kept in.

Used by the workspace functions (list, search) and by `files` entries that name a folder or a glob. A
symbolic link is followed only when it stays inside the allowed roots, and linked folders are not
descended (no loops, no second copy of a tree). Text is told from binary by the first bytes: a NUL, or
bytes that are not UTF-8, mean binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gemini_interactions_mcp.downstream.gitignore import IgnoreRules
from gemini_interactions_mcp.downstream.paths import Confinement

SNIFF_BYTES = 8192
ALWAYS_SKIPPED = frozenset({".git"})


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are not text (a NUL, or not UTF-8 apart from a cut character)."""
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3  # a multi-byte character cut at the end of the sample is fine
    return False


def is_binary_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return looks_binary(handle.read(SNIFF_BYTES))
    except OSError:
        return True


@dataclass(frozen=True)
class Entry:
    """A file or folder met by the walk: its path, its path relative to the walk's root, and its size."""

    path: Path
    relative: str
    is_dir: bool
    size: int


def rules_down_to(root: Path, folder: Path) -> IgnoreRules:
    """The ignore rules that apply in `folder`: `.git/info/exclude` and every `.gitignore` from `root`."""
    rules = IgnoreRules()
    rules.add_file("", root / ".git" / "info" / "exclude")
    current = root
    rules.add_file("", current / ".gitignore")
    for part in folder.relative_to(root).parts:
        current = current / part
        rules.add_file(current.relative_to(root).as_posix(), current / ".gitignore")
    return rules


def _inside(path: Path, confinement: Confinement) -> Path | None:
    """The resolved target of `path` if it stays in the roots, else None."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return None
    return target if any(target.is_relative_to(r) for r in confinement.roots) else None


def _entries(current: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(current) as scan:
            return sorted(scan, key=lambda e: e.name)
    except OSError:
        return []


def walk(
    root: Path, folder: Path, confinement: Confinement, *, max_depth: int | None = None
) -> Iterator[Entry]:
    """Files and folders below `folder` (itself inside `root`) in pre-order, sorted by name per folder.

    Ignored entries are skipped (an ignored folder is not entered); names are relative to `root`,
    where the ignore rules are anchored.
    """
    stack: list[tuple[Iterator[os.DirEntry[str]], IgnoreRules, int]] = [
        (iter(_entries(folder)), rules_down_to(root, folder), 0)
    ]
    while stack:
        entries, rules, depth = stack[-1]
        item = next(entries, None)
        if item is None:
            stack.pop()
            continue
        if item.name in ALWAYS_SKIPPED:
            continue
        path = Path(item.path)
        relative = path.relative_to(root).as_posix()
        try:
            is_link = item.is_symlink()
            is_dir = item.is_dir(follow_symlinks=False)
            is_file = item.is_file(follow_symlinks=True)
        except OSError:
            continue
        if rules.ignored(relative, is_dir=is_dir):
            continue
        if is_dir:
            yield Entry(path, relative, True, 0)
            if max_depth is None or depth + 1 < max_depth:
                child_rules = rules.copy()
                child_rules.add_file(relative, path / ".gitignore")
                stack.append((iter(_entries(path)), child_rules, depth + 1))
            continue
        if not is_file or (is_link and _inside(path, confinement) is None):
            continue  # sockets, devices, FIFOs, and links that lead out of the roots
        try:
            size = item.stat(follow_symlinks=True).st_size
        except OSError:
            continue
        yield Entry(path, relative, False, size)
