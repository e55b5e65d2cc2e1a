"""Making files and folders unwritable for a test, whoever runs it.

Permissions do not stop root, so as root a path is made immutable (`chattr +i`), which stops everyone;
otherwise it is made read-only (`chmod a-w`). Where neither can be done (no `chattr`, or a filesystem
without the immutable flag), the test is skipped with the reason printed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _chattr(flag: str, path: Path) -> str | None:
    """Run `chattr flag path`; the reason it cannot be done, or None when it was."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return "chattr is not installed"
    done = subprocess.run([chattr, flag, str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        return f"chattr {flag} {path} failed: {done.stderr.strip()}"
    return None


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Paths made immutable (`chattr +i`) for the block; skips the test when this machine cannot."""
    if not is_root():
        pytest.skip("making a file immutable needs root (chattr +i)")
    done: list[Path] = []
    try:
        for path in paths:
            reason = _chattr("+i", path)
            if reason is not None:
                pytest.skip(f"cannot make files immutable here: {reason}")
            done.append(path)
        yield
    finally:
        for path in done:
            _chattr("-i", path)


@contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Paths nobody (this process included) can write for the block: immutable as root, else read-only."""
    if is_root():
        with immutable(*paths):
            yield
        return
    modes = {path: path.stat().st_mode for path in paths}
    try:
        for path in paths:
            path.chmod(modes[path] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
