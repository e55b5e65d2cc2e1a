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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio.to_thread

MIB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 20 * MIB
DEFAULT_MAX_TOTAL_BYTES = 50 * MIB
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


def _mb(size: int) -> str:
    return f"{size / MIB:.1f} MB"


def _cap(size: int) -> str:
    return f"{size / MIB:g} MB"


@dataclass(frozen=True)
class _LocalFile:
    ref: str
    path: Path
    name: str
    size: int


class FileLoader:
    """Turns the `files` of a tool call into content blocks, within the allowed folders and size caps.

    `allowed_roots` are the folders the operator allows (--allow-dir). A call may pass the roots its
    MCP client shared instead (`load(..., roots=...)`); the tool layer does so only on stdio, where client
    and server share one machine and one user, never over HTTP, where a client's roots name folders of
    its own machine and must not open the server's.

    `show_roots=False` (HTTP) keeps the server's folder layout out of every message: a remote caller
    sees paths relative to their allowed folder, never where that folder lives on the server.
    """

    def __init__(
        self,
        allowed_roots: Sequence[Path],
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        show_roots: bool = True,
    ) -> None:
        self.allowed_roots = list(allowed_roots)
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self.show_roots = show_roots

    def _folders(self, roots: Sequence[Path]) -> str:
        """The allowed folders as a message may name them."""
        if not roots:
            return "none"
        if self.show_roots:
            return ", ".join(map(str, roots))
        return "the server's allowed folders; relative paths start in the first one"

    def _first_folder(self, roots: Sequence[Path]) -> str:
        return str(roots[0]) if self.show_roots else "the first allowed folder"

    async def load(self, refs: Sequence[str], roots: Sequence[Path] | None = None) -> list[dict[str, Any]]:
        """Content blocks for `refs`, in order; FileInputError on the first one that cannot be sent."""
        for ref in refs:
            if "\x00" in ref:
                raise FileInputError(
                    f"{ref!r} contains a NUL byte, which no file name or URL can hold. Pass the path or URL "
                    "without it."
                )
        urls = {i: self._url_block(ref) for i, ref in enumerate(refs) if self._url_scheme(ref) is not None}
        local = [ref for i, ref in enumerate(refs) if i not in urls]
        located = iter(await anyio.to_thread.run_sync(self._locate_all, local, roots))
        blocks: list[dict[str, Any]] = []
        for i in range(len(refs)):
            blocks.append(
                urls[i] if i in urls else await anyio.to_thread.run_sync(self._read_block, next(located))
            )
        return blocks

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

    def _effective_roots(self, roots: Sequence[Path] | None) -> list[Path]:
        """The client's roots when it shared some (they replace the defaults), else the allowed folders."""
        chosen = self.allowed_roots if roots is None else roots
        return [root.expanduser().resolve() for root in chosen]

    def _locate_all(self, refs: list[str], roots: Sequence[Path] | None) -> list[_LocalFile]:
        """Resolve and size-check every local file before any is read (fail fast, read nothing twice)."""
        if not refs:
            return []
        effective = self._effective_roots(roots)
        located = [self._locate(ref, effective) for ref in refs]
        total = 0
        for file in located:
            total += file.size
            if total > self.max_total_bytes:
                raise FileInputError(
                    f"The files of this call add up to more than the {_cap(self.max_total_bytes)} limit per "
                    f"call ({file.ref} brings the total to {_mb(total)}). Send fewer or smaller files."
                )
        return located

    def _locate(self, ref: str, roots: list[Path]) -> _LocalFile:
        if not roots:
            raise FileInputError(
                f"{ref}: no local folder may be read in this session (the server allows "
                f"{self._folders(self.allowed_roots)}; folders the client shares count only inside those). "
                "Pass an http(s) URL instead, or start the server with --allow-dir for that folder."
            )
        candidate = Path(ref.strip()).expanduser()
        if not candidate.is_absolute():
            candidate = roots[0] / candidate
        try:
            # Containment is checked before existence, so a refusal never reveals what exists outside.
            path = candidate.resolve()
            root = next((r for r in roots if path.is_relative_to(r)), None)
            if root is None:
                raise FileInputError(
                    f"{ref} is outside the folders files may be read from ({self._folders(roots)}); "
                    "symbolic links and '..' may not lead out of them. Use a file inside one of them."
                )
            if not path.exists():
                raise FileInputError(
                    f"{ref}: no such file (relative paths are read from {self._first_folder(roots)})."
                )
            if not path.is_file():
                raise FileInputError(f"{ref} is not a regular file; pass individual files, not folders.")
            size = path.stat().st_size
        except RuntimeError:  # a symlink loop (Python 3.11/3.12); its text holds the absolute path
            raise FileInputError(f"{ref}: cannot be opened (a loop of symbolic links).") from None
        except OSError as exc:
            raise FileInputError(f"{ref}: cannot be opened ({exc.strerror or 'error'}).") from None
        if size > self.max_file_bytes:
            raise FileInputError(
                f"{ref} is {_mb(size)}, over the {_cap(self.max_file_bytes)} limit per file. "
                "Send a smaller file or an excerpt."
            )
        return _LocalFile(ref=ref, path=path, name=path.relative_to(root).as_posix(), size=size)

    def _read_block(self, file: _LocalFile) -> dict[str, Any]:
        try:
            with file.path.open("rb") as handle:
                data = handle.read(self.max_file_bytes + 1)
        except OSError as exc:
            raise FileInputError(f"{file.ref}: cannot be read ({exc.strerror or 'error'}).") from None
        if len(data) > self.max_file_bytes:  # it grew since it was measured
            raise FileInputError(f"{file.ref} is over the {_cap(self.max_file_bytes)} limit per file.")
        mime = sniff(data[:16])
        if mime is None:
            named = guess_from_name(file.name)
            text = None if named in DOCUMENT_TYPES else as_text(data)
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
