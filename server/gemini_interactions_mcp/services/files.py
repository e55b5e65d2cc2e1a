"""File inputs: local paths and http(s) URLs turned into Interactions API content blocks.

Local files are read only inside the allowed folders (after resolving symlinks and `..`), with a cap
per file and per call, so a prompt cannot make the server read or upload what its operator did not
share. The kind of block comes from the bytes first (magic numbers) and the file name second, because
names lie more often than headers do. Every refusal is a FileInputError whose message tells the model
what to do instead.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio.to_thread

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.downstream.gitignore import compile_glob
from gemini_interactions_mcp.downstream.paths import Confinement, Located, PathRefused
from gemini_interactions_mcp.downstream.tree import Entry, is_binary_file, walk
from gemini_interactions_mcp.gemini.files import MAX_FILE_BYTES as FILES_API_MAX_BYTES
from gemini_interactions_mcp.gemini.units import MIB, cap_mb, size_mb

DEFAULT_MAX_FILE_BYTES = int(ServerSettings.model_fields["max_file_mb"].default * MIB)
DEFAULT_MAX_TOTAL_BYTES = int(ServerSettings.model_fields["max_total_mb"].default * MIB)
"""The settings' caps (--max-file-mb, --max-total-mb), for a loader built without them (tests)."""
DEFAULT_MAX_UPLOAD_BYTES = FILES_API_MAX_BYTES
"""The Files API's limit per file: with an upload hook, a file over the inline cap goes there instead."""
DEFAULT_MAX_EXPANDED_FILES = 1_000
DEFAULT_MAX_EXPANDED_BYTES = 4 * MIB
"""Text a folder or glob may bring: about a million tokens, as much as one request can take."""
DEFAULT_MAX_WALKED = 100_000
"""Files and folders a folder or glob may pass on its way (a few seconds): `**/*.py` over a home folder
is refused with a hint instead of holding a worker thread for minutes."""
URL_SUPPORTED = "images, audio, video, PDF, office documents and CSV"
SUPPORTED = f"{URL_SUPPORTED}, and UTF-8 text (plain text, Markdown, JSON, YAML, source code)"

BlockType = Literal["image", "audio", "video", "document"]

# Office and CSV types the API takes as `document` (section 4.3 of the wire spec).
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "text/csv",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.presentation",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet",
    }
)
# mimetypes' spellings that differ from the ones the API lists.
CANONICAL = {"audio/x-wav": "audio/wav", "audio/x-flac": "audio/flac", "audio/x-aiff": "audio/aiff"}
MEDIA: dict[str, BlockType] = {"image": "image", "audio": "audio", "video": "video"}
VIDEO_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


class FileInputError(ValueError):
    """A file reference that cannot be sent; the message names the file and what to do about it."""


def sniff(head: bytes) -> str | None:
    """The MIME type announced by the first bytes of a file, for the formats Gemini reads."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return {b"qt  ": "video/quicktime", b"M4A ": "audio/mp4"}.get(brand, "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def guess_from_name(name: str) -> str | None:
    mime, _ = mimetypes.guess_type(name, strict=False)
    return None if mime is None else CANONICAL.get(mime, mime)


def block_type(mime: str | None) -> BlockType | None:
    """Which content block carries a file of this MIME type, if any does."""
    if mime is None:
        return None
    if mime in DOCUMENT_TYPES:
        return "document"
    return MEDIA.get(mime.split("/", 1)[0])


def as_text(data: bytes) -> str | None:
    """The file as text if it is UTF-8 without NUL bytes (binary formats almost never are)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class _LocalFile:
    ref: str
    path: Path
    name: str
    size: int
    expanded: bool = False
    """Found through a folder or a glob: sent only as text (binaries were skipped)."""


@dataclass
class LoadedFiles:
    """The content blocks of a call's `files`, in order, and notes on what folders and globs brought."""

    blocks: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    """For each block, the index of the ref it came from (a folder or glob gives several)."""


UploadHook = Callable[[Path, str, int], Awaitable[dict[str, Any]]]
"""Sends one local file too big to go inline (path, name, size) and returns the block that refers to it."""


def is_glob(ref: str) -> bool:
    return any(char in ref for char in "*?[")


class FileLoader:
    """Turns the `files` of a tool call into content blocks, within the allowed folders and size caps.

    `allowed_roots` are the folders the operator allows (--allow-dir). A call may pass the roots its
    MCP client shared instead (`load(..., roots=...)`); the tool layer does so only on stdio, where client
    and server share one machine and one user, never over HTTP, where a client's roots name folders of
    its own machine and must not open the server's.

    A folder or a glob (`src/**/*.py`) brings the text files it holds, the way a developer would pick
    them: `.gitignore` honoured, binaries and over-sized files skipped, and the whole within
    `max_expanded_bytes` (about what one request can take), with the count and a token estimate noted.

    `show_roots=False` (HTTP) keeps the server's folder layout out of every message: a remote caller
    sees paths relative to their allowed folder, never where that folder lives on the server.
    """

    def __init__(
        self,
        allowed_roots: Sequence[Path],
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        max_expanded_files: int = DEFAULT_MAX_EXPANDED_FILES,
        max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES,
        show_roots: bool = True,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_walked: int = DEFAULT_MAX_WALKED,
    ) -> None:
        self.max_walked = max_walked
        self.max_upload_bytes = max_upload_bytes
        self.allowed_roots = list(allowed_roots)
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self.max_expanded_files = max_expanded_files
        self.max_expanded_bytes = min(max_expanded_bytes, max_total_bytes)
        self.show_roots = show_roots

    def confinement(self, roots: Sequence[Path] | None = None) -> Confinement:
        """The folders a call may read: the client's roots when it shared some (they replace the
        defaults), else the allowed folders."""
        return Confinement.of(self.allowed_roots if roots is None else roots, show_roots=self.show_roots)

    async def load(self, refs: Sequence[str], roots: Sequence[Path] | None = None) -> list[dict[str, Any]]:
        """Content blocks for `refs`, in order; FileInputError on the first one that cannot be sent."""
        return (await self.load_files(refs, roots)).blocks

    async def load_files(
        self, refs: Sequence[str], roots: Sequence[Path] | None = None, *, upload: UploadHook | None = None
    ) -> LoadedFiles:
        """Content blocks for `refs` (a folder or glob gives several), with notes on the expansions.

        With `upload`, a named file over the inline cap (up to `max_upload_bytes`) is handed to it and
        does not count towards the call's inline total.
        """
        for ref in refs:
            if "\x00" in ref:
                raise FileInputError(
                    f"{ref!r} contains a NUL byte, which no file name or URL can hold. Pass the path or URL "
                    "without it."
                )
        urls = {i: self._url_block(ref) for i, ref in enumerate(refs) if self._url_scheme(ref) is not None}
        local = [ref for i, ref in enumerate(refs) if i not in urls]
        groups, notes = await anyio.to_thread.run_sync(self._locate_all, local, roots, upload is not None)
        located = iter(groups)
        blocks: list[dict[str, Any]] = []
        sources: list[int] = []
        uploaded: dict[Path, dict[str, Any]] = {}  # one upload (and hash of up to 2 GB) per file per call
        for i in range(len(refs)):
            if i in urls:
                blocks.append(urls[i])
                sources.append(i)
                continue
            for file in next(located):
                if upload is not None and self._too_big_inline(file):
                    if file.path not in uploaded:
                        uploaded[file.path] = await upload(file.path, file.name, file.size)
                    blocks.append(dict(uploaded[file.path]))
                else:
                    blocks.append(await anyio.to_thread.run_sync(self._read_block, file))
                sources.append(i)
        return LoadedFiles(blocks, notes, sources)

    # -- URLs --------------------------------------------------------------------------------------

    @staticmethod
    def _url_scheme(ref: str) -> str | None:
        """The URL scheme of `ref`, or None for a local path (a Windows drive letter is not a scheme)."""
        match = _SCHEME.match(ref.strip())
        return match.group(1).lower() if match else None

    def _url_block(self, ref: str) -> dict[str, Any]:
        url = ref.strip()
        scheme = self._url_scheme(url)
        parts = urlsplit(url)
        if scheme not in ("http", "https") or not parts.netloc:
            raise FileInputError(
                f"{ref}: only local paths and http(s) URLs with a host can be sent (got a {scheme}: "
                "reference). For a local file, pass its path."
            )
        mime = guess_from_name(PurePosixPath(parts.path).name)
        kind = block_type(mime)
        if kind is None and (parts.hostname or "") in VIDEO_HOSTS:
            return {"type": "video", "uri": url}
        if kind is None:
            raise FileInputError(
                f"{ref}: cannot tell from the URL what kind of file it is ({mime or 'no known extension'}). "
                f"URLs can point at {URL_SUPPORTED}; for a web page, put the URL in the "
                "prompt and enable the url_context tool."
            )
        return {"type": kind, "uri": url, "mime_type": mime}

    # -- local files -------------------------------------------------------------------------------

    def _too_big_inline(self, file: _LocalFile) -> bool:
        return not file.expanded and file.size > self.max_file_bytes

    def _locate_all(
        self, refs: list[str], roots: Sequence[Path] | None, uploads: bool = False
    ) -> tuple[list[list[_LocalFile]], list[str]]:
        """Resolve and size-check every local file before any is read (fail fast, read nothing twice).

        One group per ref: a single file, or what a folder or glob brought.
        """
        if not refs:
            return [], []
        confinement = self.confinement(roots)
        if not confinement.roots:
            raise FileInputError(
                f"{refs[0]}: no local folder may be read in this session (the server allows "
                f"{Confinement.of(self.allowed_roots, show_roots=self.show_roots).describe()}; folders the "
                "client shares count only inside those). "
                "Pass an http(s) URL instead, or start the server with --allow-dir for that folder."
            )
        groups: list[list[_LocalFile]] = []
        notes: list[str] = []
        cap = self.max_upload_bytes if uploads else self.max_file_bytes
        for ref in refs:
            group, note = self._locate(ref, confinement, cap)
            groups.append(group)
            if note:
                notes.append(note)
        total = 0
        for file in (f for group in groups for f in group):
            if uploads and self._too_big_inline(file):
                continue
            total += file.size
            if total > self.max_total_bytes:
                raise FileInputError(
                    f"The files of this call add up to more than the {cap_mb(self.max_total_bytes)} "
                    f"limit per call ({file.ref} brings the total to {size_mb(total)}). Send fewer or "
                    "smaller files."
                )
        return groups, notes

    def _locate(self, ref: str, confinement: Confinement, cap: int) -> tuple[list[_LocalFile], str | None]:
        try:
            if is_glob(ref):
                return self._expand(ref, *self._glob_base(ref, confinement), confinement)
            located = confinement.locate(ref, want="any")
            if located.path.is_dir():
                return self._expand(ref, located, None, confinement)
            if not located.path.is_file():
                raise PathRefused(f"{ref} is not a regular file.")
            size = located.path.stat().st_size
        except PathRefused as exc:
            raise FileInputError(str(exc)) from None
        except OSError as exc:
            raise FileInputError(f"{ref}: cannot be opened ({exc.strerror or 'error'}).") from None
        if size > cap:
            raise FileInputError(
                f"{ref} is {size_mb(size)}, over the {cap_mb(cap)} limit per file. "
                "Send a smaller file or an excerpt."
            )
        return [_LocalFile(ref=ref, path=located.path, name=located.name, size=size)], None

    @staticmethod
    def _glob_base(ref: str, confinement: Confinement) -> tuple[Located, re.Pattern[str]]:
        """The folder a glob starts in (its leading parts without wildcards) and the rest as a pattern."""
        parts = ref.strip().split("/")
        first = next(i for i, part in enumerate(parts) if is_glob(part))
        base = "/".join(parts[:first]) or ("/" if ref.strip().startswith("/") else ".")
        return confinement.locate(base, want="dir"), compile_glob("/".join(parts[first:]), given=ref)

    def _expand(
        self, ref: str, base: Located, pattern: re.Pattern[str] | None, confinement: Confinement
    ) -> tuple[list[_LocalFile], str]:
        """The text files under `base` (matching `pattern`), .gitignore honoured, within the caps."""
        files: list[_LocalFile] = []
        binary = too_big = 0
        total = 0
        for entry in self.walk(ref, base, confinement):
            relative = entry.path.relative_to(base.path).as_posix()
            if entry.is_dir or (pattern is not None and not pattern.fullmatch(relative)):
                continue
            if entry.size > self.max_file_bytes:
                too_big += 1
                continue
            if is_binary_file(entry.path):
                binary += 1
                continue
            total += entry.size
            files.append(
                _LocalFile(ref, entry.path, confinement.name_of(entry.path), entry.size, expanded=True)
            )
            if len(files) > self.max_expanded_files or total > self.max_expanded_bytes:
                raise PathRefused(
                    f"{ref} brings more than {self.max_expanded_files} files or "
                    f"{cap_mb(self.max_expanded_bytes)} of text (more than one request should carry). Narrow "
                    "it (e.g. 'src/**/*.py'), or enable the 'workspace' tool so Gemini reads files on demand."
                )
        if not files:
            what = "matches" if pattern is not None else "holds"
            raise PathRefused(
                f"{ref} {what} no text file (.gitignore honoured; {binary} binary files skipped). Name "
                "binary files (images, PDFs) one by one."
            )
        skipped = [f"{binary} binary" if binary else "", f"{too_big} over the size cap" if too_big else ""]
        extra = "; skipped " + " and ".join(s for s in skipped if s) if binary or too_big else ""
        count = f"{len(files)} file{'' if len(files) == 1 else 's'}"
        return files, f"{ref}: {count}, ~{total // 4:,} tokens{extra} (.gitignore honoured)."

    def walk(self, ref: str, base: Located, confinement: Confinement) -> Iterator[Entry]:
        """What `base` holds (see `tree.walk`), refused once it has passed `max_walked` entries."""
        for walked, entry in enumerate(walk(base.root, base.path, confinement), 1):
            if walked > self.max_walked:
                raise PathRefused(
                    f"{ref} holds more than {self.max_walked:,} files and folders, too many to look through. "
                    "Name a subfolder (e.g. 'src/**/*.py'), or enable the 'workspace' tool so Gemini reads "
                    "files on demand."
                )
            yield entry

    def _read_block(self, file: _LocalFile) -> dict[str, Any]:
        try:
            with file.path.open("rb") as handle:
                data = handle.read(self.max_file_bytes + 1)
        except OSError as exc:
            raise FileInputError(f"{file.ref}: cannot be read ({exc.strerror or 'error'}).") from None
        if len(data) > self.max_file_bytes:  # it grew since it was measured
            raise FileInputError(f"{file.ref} is over the {cap_mb(self.max_file_bytes)} limit per file.")
        mime = None if file.expanded else sniff(data[:16])
        if mime is None:
            named = guess_from_name(file.name)
            text = as_text(data) if file.expanded or named not in DOCUMENT_TYPES else None
            if text is not None:
                return {"type": "text", "text": f"[file {file.name}]\n{text}"}
            mime = named
        kind = block_type(mime)
        if kind is None:
            raise FileInputError(
                f"{file.ref} is {mime or 'binary data of an unknown type'}, which Gemini cannot take as "
                f"input. "
                f"Supported: {SUPPORTED}."
            )
        return {"type": kind, "mime_type": mime, "data": base64.b64encode(data).decode("ascii")}
