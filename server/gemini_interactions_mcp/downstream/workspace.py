"""The `workspace` toolset: read-only functions Gemini calls to explore the allowed folders on demand.

`workspace__list_dir`, `workspace__read_file` (line ranges, size cap) and `workspace__search` (plain text
or regex, `.gitignore` honoured, binaries skipped, results capped). Every path goes through the same
confinement as `files`; a path outside the roots is refused in the function result and never read.
Failures are results with `is_error`, so the model can correct itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

import anyio
import anyio.to_process
import anyio.to_thread

from gemini_interactions_mcp.downstream.functions import CallOutcome, FunctionSpec
from gemini_interactions_mcp.downstream.gitignore import compile_glob
from gemini_interactions_mcp.downstream.paths import Confinement, PathRefused
from gemini_interactions_mcp.downstream.tree import SNIFF_BYTES, is_binary_file, looks_binary, walk
from gemini_interactions_mcp.gemini.units import MIB, cap_mb, size_mb

TOOLSET = "workspace"
LIST_CAP = 500
READ_LINE_CAP = 2_000
READ_CHAR_CAP = 100_000
SEARCH_DEFAULT_RESULTS = 50
SEARCH_RESULT_CAP = 200
SEARCH_FILE_BYTES = 2 * MIB
SEARCH_SCAN_BYTES = 64 * MIB
LINE_SHOWN_CHARS = 200
LINE_MATCHED_CHARS = 4_000
TIMEOUT_SECONDS = 30.0
"""Every workspace call ends within this: a huge tree or file, or a runaway regex, is stopped."""

_PATH = {"type": "string", "description": "Relative to the workspace root (default '.')."}


def _spec(tool: str, description: str, properties: dict[str, Any], required: list[str]) -> FunctionSpec:
    return FunctionSpec(
        name=f"{TOOLSET}__{tool}",
        description=description,
        parameters={"type": "object", "properties": properties, "required": required},
        server=TOOLSET,
        tool=tool,
        read_only=True,
        trusted=True,
        timeout_seconds=TIMEOUT_SECONDS,
    )


SPECS = (
    _spec(
        "list_dir",
        "List a folder of the user's workspace (.gitignore honoured): names, sizes, sub-folders.",
        {"path": _PATH, "depth": {"type": "integer", "description": "Levels to descend, 1-5 (default 1)."}},
        [],
    ),
    _spec(
        "read_file",
        "Read a text file of the workspace, with line numbers. Long files: ask for a line range.",
        {
            "path": {"type": "string", "description": "File path relative to the workspace root."},
            "start_line": {"type": "integer", "description": "First line, 1-based (default 1)."},
            "end_line": {"type": "integer", "description": "Last line, inclusive (default: as many as fit)."},
        },
        ["path"],
    ),
    _spec(
        "search",
        "Search the workspace's text files for a string or regex (.gitignore honoured); returns "
        "path:line: text for each match.",
        {
            "query": {"type": "string", "description": "Text to find (a Python regex if regex is true)."},
            "regex": {"type": "boolean", "description": "Treat query as a regular expression."},
            "path": {"type": "string", "description": "Folder or file to search (default '.')."},
            "glob": {"type": "string", "description": "Only files matching this, e.g. '*.py' or 'src/**'."},
            "case_sensitive": {"type": "boolean"},
            "max_results": {"type": "integer", "description": f"1-{SEARCH_RESULT_CAP} (default 50)."},
        },
        ["query"],
    ),
)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < MIB:
        return f"{size / 1024:.1f} KB"
    return size_mb(size)


def _int(arguments: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = arguments.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PathRefused(f"{key} must be an integer between {low} and {high}.")
    return max(low, min(high, int(value)))


def _str(arguments: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = arguments.get(key, default)
    if not isinstance(value, str):
        raise PathRefused(f"{key} must be a string.")
    return value


def _lines(handle: TextIO, cap: int) -> Iterator[tuple[str, bool]]:
    """The file's lines without their line break, read `cap` characters at most at a time so that one
    huge line (a minified bundle, a log without breaks) never fills memory; a longer line is cut to
    `cap`, and True says so."""
    while head := handle.readline(cap):
        cut = False
        tail = head
        while len(tail) == cap and not tail.endswith("\n"):
            tail = handle.readline(cap)
            cut = cut or bool(tail.rstrip("\r\n"))
        yield head.rstrip("\r\n"), cut


class Workspace:
    """The workspace functions over one confinement (the roots of the conversation's caller)."""

    def __init__(self, confinement: Confinement) -> None:
        self.confinement = confinement

    async def call(self, tool: str, arguments: Mapping[str, Any]) -> CallOutcome:
        """Run one workspace function in a worker thread (it reads files); refusals are error results."""
        handlers: dict[str, Callable[[Mapping[str, Any]], str]] = {
            "list_dir": self.list_dir,
            "read_file": self.read_file,
            "search": self.search,
        }
        handler = handlers.get(tool)
        if handler is None:
            return CallOutcome.text(f"No workspace function {tool!r}.", is_error=True)
        try:
            with anyio.fail_after(TIMEOUT_SECONDS):
                if tool == "search" and arguments.get("regex"):
                    # a runaway pattern holds the GIL, freezing the whole server: only killing the
                    # process that runs it stops it
                    text = await anyio.to_process.run_sync(handler, arguments, cancellable=True)
                else:
                    text = await anyio.to_thread.run_sync(handler, arguments, abandon_on_cancel=True)
        except PathRefused as exc:
            return CallOutcome.text(str(exc), is_error=True)
        except TimeoutError:
            return CallOutcome.text(
                f"{TOOLSET}__{tool} was stopped after {TIMEOUT_SECONDS:g} s; narrow the path, the glob "
                "or the pattern.",
                is_error=True,
            )
        return CallOutcome.text(text)

    def list_dir(self, arguments: Mapping[str, Any]) -> str:
        located = self.confinement.locate(_str(arguments, "path", "."), want="dir")
        depth = _int(arguments, "depth", 1, 1, 5)
        lines: list[str] = []
        more = False
        for entry in walk(located.root, located.path, self.confinement, max_depth=depth):
            if len(lines) == LIST_CAP:
                more = True
                break
            shown = self.confinement.name_of(entry.path)
            lines.append(f"{shown}/" if entry.is_dir else f"{shown}  {_size(entry.size)}")
        if not lines:
            return f"{located.name}/ is empty (.gitignore honoured)."
        header = f"{located.name}/ ({len(lines)} entries, .gitignore honoured):"
        footer = [f"[more entries not shown (cap {LIST_CAP}); list a sub-folder]"] if more else []
        return "\n".join([header, *lines, *footer])

    def read_file(self, arguments: Mapping[str, Any]) -> str:
        located = self.confinement.locate(_str(arguments, "path"), want="file")
        if is_binary_file(located.path):
            raise PathRefused(
                f"{located.name} is a binary file; workspace__read_file reads text only (ask the user to "
                "pass it in `files` to send images or documents)."
            )
        start = _int(arguments, "start_line", 1, 1, 10**9)
        end = arguments.get("end_line")
        last = _int(arguments, "end_line", start, start, 10**9) if end is not None else None
        shown: list[str] = []
        chars = 0
        total = 0
        cut_at: int | None = None
        with located.path.open(encoding="utf-8", errors="replace") as handle:
            for number, (line, long) in enumerate(_lines(handle, READ_CHAR_CAP), start=1):
                total = number
                if number < start or (last is not None and number > last):
                    continue
                if cut_at is None and (len(shown) >= READ_LINE_CAP or chars + len(line) > READ_CHAR_CAP):
                    cut_at = number
                if cut_at is None:
                    mark = f" [line cut at {READ_CHAR_CAP:,} characters]" if long else ""
                    shown.append(f"{number:>6}| {line}{mark}")
                    chars += len(line)
        if start > total:
            return f"{located.name} has {total} lines; start_line={start} is past the end."
        final = start + len(shown) - 1
        header = f"{located.name} (lines {start}-{final} of {total})"
        footer = []
        if cut_at is not None:
            footer = [f"[cut at the size cap: call again with start_line={cut_at} for more]"]
        return "\n".join([header, *shown, *footer])

    def search(self, arguments: Mapping[str, Any]) -> str:
        query = _str(arguments, "query")
        if not query:
            raise PathRefused("query must not be empty.")
        flags = 0 if arguments.get("case_sensitive") else re.IGNORECASE
        try:
            pattern = re.compile(query if arguments.get("regex") else re.escape(query), flags)
        except re.error as exc:
            raise PathRefused(f"query is not a valid regular expression: {exc}.") from None
        limit = _int(arguments, "max_results", SEARCH_DEFAULT_RESULTS, 1, SEARCH_RESULT_CAP)
        glob = arguments.get("glob")
        only = None
        if isinstance(glob, str) and glob.strip():
            only = compile_glob(glob.strip().lstrip("/"), given=repr(glob), anchored="/" in glob.strip("/"))
        located = self.confinement.locate(_str(arguments, "path", "."), want="any")
        if located.path.is_file():
            candidates = [(located.path, located.name)]
        else:
            candidates = [
                (e.path, e.relative)
                for e in walk(located.root, located.path, self.confinement)
                if not e.is_dir and e.size <= SEARCH_FILE_BYTES
            ]
        hits: list[str] = []
        files_with_hits = 0
        scanned = 0
        notes: list[str] = []
        for path, relative in candidates:
            if only is not None and not only.fullmatch(relative):
                continue
            if scanned > SEARCH_SCAN_BYTES:
                notes.append(f"stopped after scanning {cap_mb(SEARCH_SCAN_BYTES)}; narrow path or glob.")
                break
            try:
                with path.open("rb") as handle:  # an explicitly named file may be of any size
                    data = handle.read(SEARCH_SCAN_BYTES + 1)
            except OSError:
                continue
            if len(data) > SEARCH_SCAN_BYTES:
                data = data[:SEARCH_SCAN_BYTES]
                notes.append(f"only the first {cap_mb(SEARCH_SCAN_BYTES)} of {relative} were searched.")
            scanned += len(data)
            if looks_binary(data[:SNIFF_BYTES]):
                continue
            found = False
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
                if pattern.search(line[:LINE_MATCHED_CHARS]):
                    found = True
                    text = line.strip()
                    text = text if len(text) <= LINE_SHOWN_CHARS else text[: LINE_SHOWN_CHARS - 1] + "…"
                    hits.append(f"{self.confinement.name_of(path)}:{number}: {text}")
                    if len(hits) >= limit:
                        break
            files_with_hits += found
            if len(hits) >= limit:
                notes.append(f"stopped at max_results={limit}; narrow the query or raise max_results.")
                break
        if not hits:
            return f"No match for {query!r} in {located.name} (.gitignore honoured, binary files skipped)."
        header = f"{len(hits)} matches in {files_with_hits} files for {query!r}:"
        return "\n".join([header, *hits, *(f"[{n}]" for n in notes)])
