"""`.gitignore` patterns, and the glob patterns of `files`, as compiled regular expressions.

The subset of git's rules that decides what a workspace reader skips: comments and blank lines,
trailing-space trimming, `!` negation (last match wins), `/` anchoring, trailing `/` for folders only,
`*`, `?`, `[...]` classes and `**` in leading, trailing and middle position. Written here rather than
taken from a library because it is one translation to `re` and the tests check it against `git
check-ignore` itself; files under an ignored folder are never reached (the walk prunes the folder), which
is also git's rule that a file cannot be re-included when its parent folder is excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gemini_interactions_mcp.downstream.paths import PathRefused

_SPECIAL_IN_CLASS = re.compile(r"[\\^\]]")


def _translate_segment(segment: str) -> str:
    """One path segment of a wildmatch pattern (no `/`) as a regular expression.

    Between two `*`s, a piece matches where it first occurs and the match never backtracks into it (an
    atomic group): each piece stands for a fixed number of characters, so the first place is always
    right, and a pattern with many `*`s (`*a*a*a*a*a*a*a*b`) cannot take exponential time on a long name
    (it would hold the interpreter, freezing the whole server).
    """
    pieces: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1  # `**` inside a segment is an ordinary `*`
            pieces.append("".join(out))
            out = []
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[i + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                body = _SPECIAL_IN_CLASS.sub(lambda m: "\\" + m.group(0), body)
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    pieces.append("".join(out))
    if len(pieces) == 1:
        return pieces[0]
    middle = "".join(f"(?>[^/]*?{piece})" for piece in pieces[1:-1])
    return f"{pieces[0]}{middle}[^/]*{pieces[-1]}"


def wildmatch(pattern: str, *, anchored: bool = True) -> re.Pattern[str]:
    """A regex for a `/`-separated wildmatch pattern, matched against a whole relative path.

    `**` as a whole segment spans any number of folders; an unanchored pattern may match at any depth.
    """
    split = pattern.split("/")
    parts = [
        p for i, p in enumerate(split) if not (p == "**" and i and split[i - 1] == "**")
    ]  # `**/**` is `**`
    pieces: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            pieces.append(".*" if last else "(?:[^/]+/)*")
        else:
            pieces.append(_translate_segment(part) + ("" if last else "/"))
    body = "".join(pieces)
    return re.compile(body if anchored else f"(?:[^/]+/)*{body}", re.DOTALL)


def compile_glob(pattern: str, *, given: str, anchored: bool = True) -> re.Pattern[str]:
    """A glob a caller gave (`given`: a `files` entry, a search's `glob`) as `wildmatch` compiles its
    matching part `pattern`; PathRefused naming it when that cannot be compiled (a reversed range such
    as `[z-a]`), where a `.gitignore` rule that cannot is skipped (`parse`)."""
    try:
        return wildmatch(pattern, anchored=anchored)
    except re.error as exc:
        raise PathRefused(f"{given} is not a glob this server can read ({exc.msg}).") from None


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negated: bool
    dirs_only: bool


def parse(text: str) -> list[Rule]:
    """The rules of one `.gitignore` file, in order."""
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated or line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dirs_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        try:
            regex = wildmatch(line.lstrip("/"), anchored="/" in line)
        except re.error:  # e.g. a reversed range `[z-a]`, which matches nothing for git either
            continue
        rules.append(Rule(regex, negated, dirs_only))
    return rules


class IgnoreRules:
    """The `.gitignore` files met on the way down a tree, each applying below its own folder."""

    def __init__(self) -> None:
        self._layers: list[tuple[str, list[Rule]]] = []

    def add(self, base: str, rules: list[Rule]) -> None:
        """Rules read from the folder `base` (relative, `""` for the top; deeper layers win)."""
        if rules:
            self._layers.append((base, rules))

    def add_file(self, base: str, gitignore: Path) -> None:
        try:
            text = gitignore.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self.add(base, parse(text))

    def ignored(self, relative: str, *, is_dir: bool) -> bool:
        """Whether the path (relative to the top, `/`-separated) is ignored; the last match decides."""
        verdict = False
        for base, rules in self._layers:
            if base and not relative.startswith(base + "/"):
                continue
            local = relative[len(base) + 1 :] if base else relative
            for rule in rules:
                if (is_dir or not rule.dirs_only) and rule.regex.fullmatch(local):
                    verdict = not rule.negated
        return verdict

    def copy(self) -> IgnoreRules:
        clone = IgnoreRules()
        clone._layers = list(self._layers)
        return clone
