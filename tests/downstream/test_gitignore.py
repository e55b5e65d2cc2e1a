"""`.gitignore` rules: the same verdicts as git itself, nested files, negation, folder-only patterns."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gemini_interactions_mcp.downstream.gitignore import IgnoreRules, parse, wildmatch
from gemini_interactions_mcp.downstream.paths import Confinement
from gemini_interactions_mcp.downstream.tree import walk

GITIGNORE = (
    """
# build output
/build/
*.log
!keep.log
docs/**/*.tmp
**/cache
node_modules
secret?.txt
[Tt]emp*
\\#literal
trailing.txt{TRAILING}
a/**/z
!src/generated/keep.py
src/generated/*
"""
).replace("{TRAILING}", "   ")  # a pattern with trailing spaces
NESTED = "*.py\n!main.py\n"
PATHS = [
    "build/out.bin",
    "src/build/out.bin",
    "app.log",
    "keep.log",
    "deep/nested/keep.log",
    "docs/a/b/c.tmp",
    "docs/c.tmp",
    "x/cache/y.txt",
    "cache/z.txt",
    "lib/node_modules/pkg/index.js",
    "secret1.txt",
    "secret12.txt",
    "Temp/file.txt",
    "temporary.md",
    "#literal",
    "trailing.txt",
    "a/z",
    "a/b/c/z",
    "src/generated/x.py",
    "src/generated/keep.py",
    "tools/helper.py",
    "tools/main.py",
    "README.md",
]


def make_tree(root: Path) -> None:
    (root / ".gitignore").write_text(GITIGNORE)
    for relative in PATHS:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    (root / "tools" / ".gitignore").write_text(NESTED)


def ours(root: Path) -> set[str]:
    confinement = Confinement.of([root])
    top = confinement.roots[0]
    walked = {e.relative for e in walk(top, top, confinement) if not e.is_dir}
    return {p for p in PATHS if p not in walked}


KEPT = {
    "src/build/out.bin",
    "keep.log",
    "deep/nested/keep.log",
    "secret12.txt",
    "tools/main.py",
    "README.md",
}
EXPECTED_IGNORED = set(PATHS) - KEPT


def test_the_walk_skips_what_the_rules_ignore(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert ours(tmp_path) == EXPECTED_IGNORED


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_verdicts_agree_with_git_check_ignore(tmp_path: Path) -> None:
    make_tree(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    checked = subprocess.run(
        ["git", "-C", str(tmp_path), "check-ignore", "--stdin"],
        input="\n".join(PATHS),
        capture_output=True,
        text=True,
        check=False,
    )
    assert set(checked.stdout.split("\n")) - {""} == EXPECTED_IGNORED == ours(tmp_path)


def test_last_matching_rule_wins_and_folder_only_rules_skip_files() -> None:
    rules = IgnoreRules()
    rules.add("", parse("*.txt\n!important.txt\nout/\n"))
    assert rules.ignored("notes.txt", is_dir=False)
    assert not rules.ignored("important.txt", is_dir=False)
    assert rules.ignored("out", is_dir=True)
    assert not rules.ignored("out", is_dir=False)


def test_nested_rules_apply_only_below_their_folder() -> None:
    rules = IgnoreRules()
    rules.add("pkg", parse("*.gen\n"))
    assert rules.ignored("pkg/a.gen", is_dir=False)
    assert rules.ignored("pkg/sub/a.gen", is_dir=False)
    assert not rules.ignored("a.gen", is_dir=False)
    assert not rules.ignored("pkgx/a.gen", is_dir=False)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "lib/a.py", False),
        ("*.py", "a.py", True),
        ("*.py", "x/a.py", False),
        ("**", "x/y/z", True),
        ("file?.[ch]", "file1.c", True),
        ("file?.[!ch]", "file1.c", False),
        ("file?.[!ch]", "file1.o", True),
    ],
)
def test_glob_patterns_are_anchored_with_globstar(pattern: str, path: str, matches: bool) -> None:
    assert bool(wildmatch(pattern).fullmatch(path)) is matches


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 200, False),  # exponential backtracking before
        ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 200 + "b", True),
        ("*a*b*c", "xaybzc", True),
        ("*a*b*c", "xaybz", False),
        ("**/**/**/**/**/**/**/**/b", "a/" * 40 + "c", False),
        ("**/**/**/**/**/**/**/**/b", "a/" * 40 + "b", True),
    ],
)
def test_patterns_with_many_stars_match_in_reasonable_time(pattern: str, path: str, matches: bool) -> None:
    assert (wildmatch(pattern, anchored=False).fullmatch(path) is not None) is matches


def test_a_rule_that_cannot_be_compiled_is_skipped_not_fatal() -> None:
    rules = IgnoreRules()
    rules.add("", parse("[z-a]*\n*.log\n"))
    assert rules.ignored("debug.log", is_dir=False) and not rules.ignored("zebra.py", is_dir=False)
