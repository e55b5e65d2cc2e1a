"""Confinement: which local paths a caller may reach, and how they are named back to it.

One rule for every reader of local files (the `files` of a tool call, the workspace functions Gemini
calls): a reference resolves, symbolic links and `..` included, to a path inside one of the allowed
roots, or it is refused before anything is read. Containment is decided before existence, so a refusal
never tells what exists outside. Names shown back are relative to their root; with `show_roots=False`
(HTTP) the roots themselves are never named, so a remote caller cannot learn the server's layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class PathRefused(ValueError):
    """A path that may not or cannot be used; the message names it and says what to do instead."""


@dataclass(frozen=True)
class Located:
    """A path inside the roots: where it is, which root holds it, and its name as shown to callers."""

    path: Path
    root: Path
    name: str


@dataclass(frozen=True)
class Confinement:
    """The allowed roots (already resolved) and how freely they may be named."""

    roots: tuple[Path, ...]
    show_roots: bool = True

    @classmethod
    def of(cls, roots: Sequence[Path], *, show_roots: bool = True) -> Confinement:
        return cls(tuple(root.expanduser().resolve() for root in roots), show_roots)

    def describe(self) -> str:
        """The roots as a message may name them."""
        if not self.roots:
            return "none"
        if self.show_roots:
            return ", ".join(map(str, self.roots))
        return "the server's allowed folders; relative paths start in the first one"

    def first(self) -> str:
        return str(self.roots[0]) if self.show_roots and self.roots else "the first allowed folder"

    def name_of(self, path: Path) -> str:
        """How a resolved path inside the roots is shown: relative to the first root that holds it.

        Paths in a root other than the first are shown absolute where roots may be named (so they can be
        passed back), else relative to their root.
        """
        for index, root in enumerate(self.roots):
            if path.is_relative_to(root):
                relative = path.relative_to(root).as_posix() or "."
                return relative if index == 0 or not self.show_roots else str(path)
        raise PathRefused(f"{path.name} is outside the allowed folders.")

    def locate(self, ref: str, *, want: str = "file") -> Located:
        """Resolve `ref` inside the roots; `want` is "file", "dir" or "any" (must exist as that).

        Raises PathRefused when it leads outside, does not exist, is not of the wanted kind, or cannot
        be examined (a loop of links, a NUL byte, no permission).
        """
        if "\x00" in ref:
            raise PathRefused(f"{ref!r} contains a NUL byte, which no file name can hold.")
        if not self.roots:
            raise PathRefused(f"{ref}: no local folder may be read here (allowed: none).")
        candidate = Path(ref.strip() or ".").expanduser()
        if not candidate.is_absolute():
            candidate = self.roots[0] / candidate
        try:
            path = candidate.resolve()
            root = next((r for r in self.roots if path.is_relative_to(r)), None)
            if root is None:
                raise PathRefused(
                    f"{ref} is outside the folders files may be read from ({self.describe()}); "
                    "symbolic links and '..' may not lead out of them. Use a path inside one of them."
                )
            if not path.exists():
                raise PathRefused(f"{ref}: no such file (relative paths are read from {self.first()}).")
            if want == "file" and not path.is_file():
                raise PathRefused(f"{ref} is not a regular file.")
            if want == "dir" and not path.is_dir():
                raise PathRefused(f"{ref} is not a folder.")
        except RuntimeError:  # a symlink loop (Python 3.11/3.12); its text holds the absolute path
            raise PathRefused(f"{ref}: cannot be opened (a loop of symbolic links).") from None
        except OSError as exc:  # never str(exc): it carries the absolute path
            raise PathRefused(f"{ref}: cannot be opened ({exc.strerror or 'error'}).") from None
        return Located(path=path, root=root, name=self.name_of(path))
