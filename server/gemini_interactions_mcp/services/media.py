"""Saved media: every image and audio output written to a file, recorded for its owner, previewable.

Where files go: `--output-dir` when given; otherwise, on stdio, `gemini-output/` in the first allowed
folder (the client's first root, else the first `--allow-dir`), next to the user's work where their
editor shows it; over HTTP a folder in the server's user data directory, because a remote caller cannot
open the server's files: it reads them as `gemini://media/{id}` resources and is never shown a path.

Nothing the model outputs is dropped: text stays text, inline media become files, and a media block that
only points somewhere (`uri`) is named in the text.
"""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import os
import re
import secrets
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import anyio.to_thread

from gemini_interactions_mcp.gemini.units import MIB, cap_mb
from gemini_interactions_mcp.services.audio import pcm_format, wav, wav_seconds
from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError
from gemini_interactions_mcp.services.previews import Preview, audio_preview, image_preview
from gemini_interactions_mcp.services.results import AnswerPart, MediaKind, SavedMedia
from gemini_interactions_mcp.services.uris import MEDIA_URI_PREFIX
from gemini_interactions_mcp.state import ResourceRecord, Store, user_data_dir

log = logging.getLogger(__name__)

OUTPUT_FOLDER = "gemini-output"
APP_FOLDER = "gemini-interactions-mcp"
_EXTENSIONS = {"image/jpeg": ".jpg", "audio/wav": ".wav", "audio/mpeg": ".mp3", "audio/ogg": ".ogg"}
_SLUG = re.compile(r"[^a-z0-9]+")
_UNPORTABLE = frozenset('<>:"|?*')
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
MAX_NAME_BYTES = 200
MAX_READ_BYTES = 32 * MIB
"""The most a `gemini://media/` read returns. A resource comes back whole in one message, in base64 (a
third larger): a 100 MB sandbox file would cost the server several times that in memory on every read,
and no client takes a message that size."""
"""Under the 255 bytes most file systems allow per name, with room for a `-2` added on a clash."""


def unknown_media(media_id: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No media {media_id!r} for you: use a gemini://media/ link from one of your results."
    )


def _slug(label: str) -> str:
    return _SLUG.sub("-", label.lower()).strip("-")[:40].strip("-") or "output"


def portable(part: str) -> str:
    """One segment of a name from the model or a sandbox, made a plain file name on every system: on
    Windows `C:x` would leave the folder, `a:b` write a hidden stream and `nul.txt` a device; control
    and direction characters would make the name shown differ from the file; over 255 bytes fails."""
    part = "".join(
        "_" if c in _UNPORTABLE or unicodedata.category(c) in ("Cc", "Cf") else c for c in part
    ).rstrip(" .")
    if not part or _DEVICE.match(part):
        part = "_" + part
    raw = part.encode()
    if len(raw) <= MAX_NAME_BYTES:
        return part
    suffix = PurePosixPath(part).suffix
    suffix = suffix if len(suffix.encode()) <= 16 else ""
    return raw[: MAX_NAME_BYTES - len(suffix.encode())].decode(errors="ignore") + suffix


def _extension(mime_type: str) -> str:
    return _EXTENSIONS.get(mime_type) or mimetypes.guess_extension(mime_type) or ".bin"


def _image_size(file: Path) -> tuple[int, int] | None:
    """An image file's size, from its header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


class TooLarge(Exception):
    """A file went past its cap while arriving: nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit:,} bytes")
        self.limit = limit


def _open_part(folder: Path) -> tuple[BinaryIO, Path]:
    """A new hidden file in `folder` (made if missing) to receive a file into: on the file system of the
    name it will get, so it can be linked there in one step, and never at a name anything else uses."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    return os.fdopen(fd, "wb"), Path(part)


def _claim(part: Path, name: Path) -> None:
    """Give the whole file `part` the name `name`, or raise FileExistsError if it is taken (by anything,
    a symbolic link included). A hard link claims the name only once the file is complete; on a file
    system without them, the name is claimed empty and the file moved over it (a rename replaces whatever
    was put there meanwhile, never writes through it)."""
    try:
        os.link(part, name)
    except FileExistsError:
        raise
    except OSError:
        name.open("xb").close()
        try:
            os.replace(part, name)
        except OSError:
            name.unlink(missing_ok=True)
            raise


def place_new(part: Path, path: Path) -> Path:
    """Name the finished file `part` `path`, or `name-2.ext`, `name-3.ext`… beside it: never over an
    existing file (an earlier result's link must keep reading what it saved, and two results saved at
    once must not write into each other) and never through a symbolic link planted at that name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = path, 1
    while True:
        try:
            _claim(part, candidate)
        except FileExistsError:
            n += 1
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            continue
        part.unlink(missing_ok=True)
        return candidate


async def _write(handle: BinaryIO, content: bytes | AsyncIterable[bytes], limit: int | None) -> int:
    """Write `content` to `handle` and close it; the bytes written. Chunks are counted as they arrive,
    not trusted to a size announced beforehand, and the writing stops past `limit` (TooLarge)."""
    if isinstance(content, bytes):
        await anyio.to_thread.run_sync(handle.write, content)
        size = len(content)
    else:
        size = 0
        async for chunk in content:
            size += len(chunk)
            if limit is not None and size > limit:
                raise TooLarge(limit)
            await anyio.to_thread.run_sync(handle.write, chunk)
    await anyio.to_thread.run_sync(handle.close)
    return size


def _inside(file: Path, folder: Path) -> bool:
    """Whether `file` is named below `folder` (by its absolute path: no link is followed to decide)."""
    path, base = Path(os.path.abspath(file)), Path(os.path.abspath(folder))
    return path != base and path.is_relative_to(base)


def remove_inside(folder: Path, file: Path) -> bool:
    """Delete `file`, which lies below `folder`, reaching it without following a link in any folder
    between them: a folder replaced by a link must not make this delete a file elsewhere. A file
    already gone is fine (False). A link at the file's own name is removed itself, never its target.
    Where the system cannot open folders relative to each other (Windows), the folder the file is in
    is checked to be inside `folder` once its links are followed."""
    *subfolders, name = Path(os.path.abspath(file)).relative_to(os.path.abspath(folder)).parts
    try:
        if os.open in os.supports_dir_fd and os.unlink in os.supports_dir_fd:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                for subfolder in subfolders:
                    inner = os.open(subfolder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                    os.close(fd)
                    fd = inner
                os.unlink(name, dir_fd=fd)
            finally:
                os.close(fd)
            return True
        parent = Path(os.path.realpath(folder.joinpath(*subfolders)))
        if not parent.is_relative_to(os.path.realpath(folder)):
            log.warning("not deleting %s: its folder is a link out of %s", file, folder)
            return False
        (parent / name).unlink()
        return True
    except FileNotFoundError:
        return False


def _read_at_most(file: Path, limit: int) -> bytes:
    with file.open("rb") as handle:
        return handle.read(limit)


def decoded(block: dict[str, Any]) -> tuple[bytes, str] | None:
    """A media block's file content and type (raw PCM wrapped as WAV), or None without inline data."""
    try:
        data = base64.b64decode(block.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data:
        return None
    mime = str(block.get("mime_type") or "application/octet-stream")
    pcm = pcm_format(mime, block.get("sample_rate"), block.get("channels"))
    if pcm is not None:
        return wav(data, *pcm), "audio/wav"
    return data, mime


class MediaLibrary:
    """Saves media for their owners and serves them back to the same owner only."""

    def __init__(
        self, store: Store, *, output_dir: Path | None, allowed_dirs: Sequence[Path], show_paths: bool
    ) -> None:
        self._store = store
        self._output_dir = output_dir
        self._allowed = list(allowed_dirs)
        self.show_paths = show_paths

    @staticmethod
    def private_folder() -> Path:
        """The server's own folder (in the user data directory): the only one whose files it deletes."""
        return user_data_dir() / APP_FOLDER / "media"

    def folder(self, roots: Sequence[Path] | None = None) -> Path:
        """The folder new files go to (see the module docstring).

        A `gemini-output` that is a link is not written through: a cloned repository could ship one
        pointing anywhere. The files then go to the server's own folder, as over HTTP, and the result
        shows their path; `--output-dir` names a linked folder on purpose.
        """
        if self._output_dir is not None:
            return self._output_dir
        private = self.private_folder()
        if not self.show_paths:
            return private
        base = (list(roots or []) or self._allowed or [Path.cwd()])[0]
        chosen = base / OUTPUT_FOLDER
        if chosen.is_symlink():
            log.warning("%s is a link, not followed: saving media in %s instead", chosen, private)
            return private
        return chosen

    async def save_answer(
        self,
        owner: str,
        blocks: Sequence[dict[str, Any]],
        *,
        source: str,
        label: str,
        roots: Sequence[Path] | None = None,
    ) -> list[AnswerPart]:
        """The answer's blocks as parts in order, every inline image or audio saved as a file."""
        parts: list[AnswerPart] = []
        for block in blocks:
            if block.get("type") == "text":
                parts.append(AnswerPart(text=str(block.get("text") or "")))
                continue
            content = decoded(block)
            if content is None:
                where = block.get("uri") or "an unreadable inline payload"
                parts.append(AnswerPart(text=f"\n[{block.get('type')} output at {where}]\n"))
                continue
            kind: MediaKind = (
                "audio"
                if block.get("type") == "audio"
                else "video"
                if block.get("type") == "video"
                else "image"
            )
            parts.append(
                AnswerPart(
                    media=await self.save(owner, *content, kind=kind, source=source, label=label, roots=roots)
                )
            )
        return parts

    async def save(
        self,
        owner: str,
        content: bytes | AsyncIterable[bytes],
        mime_type: str,
        *,
        kind: MediaKind,
        source: str,
        label: str,
        roots: Sequence[Path] | None = None,
        name: str | None = None,
        limit: int | None = None,
    ) -> SavedMedia:
        """Write `content` to a new file and record it as the owner's; `name` (a relative path, kept inside
        the folder) replaces the generated one.

        `content` may be chunks as they arrive (a download): each is written out at once, so a large file
        never sits in memory, and past `limit` bytes the writing stops with TooLarge. The file is written
        under a temporary name and gets its own only when complete, so a failed, refused or cancelled
        write leaves nothing behind.
        """
        media_id = "m_" + secrets.token_urlsafe(16)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        suffix = _SLUG.sub("", media_id[2:].lower())[:6]
        generated = f"{stamp}-{_slug(label)}-{suffix}{_extension(mime_type)}"
        given = PurePosixPath((name or "").replace("\\", "/")).parts
        parts = [portable(p) for p in given if p not in ("/", ".", "..")]
        folder = self.folder(roots)
        handle, part = await anyio.to_thread.run_sync(_open_part, folder)
        try:
            size = await _write(handle, content, limit)
            chosen = folder.joinpath(*(parts or [generated]))
            try:
                path = await anyio.to_thread.run_sync(place_new, part, chosen)
            except OSError:  # the name cannot be made here (a file where its folder should be): keep the data
                if not parts:
                    raise
                path = await anyio.to_thread.run_sync(place_new, part, folder / generated)
        finally:
            handle.close()
            part.unlink(missing_ok=True)
        name = path.relative_to(folder).as_posix()
        saved = SavedMedia(
            id=media_id,
            uri=MEDIA_URI_PREFIX + media_id,
            kind=kind,
            mime_type=mime_type,
            size=size,
            name=name,
            path=str(path) if self.show_paths else None,
        )
        if kind == "image":
            dimensions = await anyio.to_thread.run_sync(_image_size, path)
            if dimensions is not None:
                saved.width, saved.height = dimensions
        elif mime_type == "audio/wav":
            seconds = await anyio.to_thread.run_sync(wav_seconds, path)
            saved.seconds = round(seconds, 2) if seconds is not None else None
        record = ResourceRecord(
            owner=owner,
            kind="media",
            id=media_id,
            created=time.time(),
            data={**saved.model_dump(exclude={"path"}), "file": str(path), "source": source},
        )
        await self._store.put_resource(record)
        return saved

    async def prune(self, *, created_before: float) -> tuple[int, int]:
        """Forget every owner's media saved before `created_before` (then `gemini://media/` reads them as
        unknown), and delete their files from the server's own folder only: a file in `--output-dir` or
        a `gemini-output/` folder is the user's, and stays. Returns (records, files) deleted."""
        records = await self._store.prune_resources("media", created_before=created_before)
        private = self.private_folder()
        kept = [self._output_dir] if self._output_dir is not None else []
        deleted = 0
        for record in records:
            recorded = record.data.get("file")
            file = Path(str(recorded))
            if not recorded or not _inside(file, private) or any(_inside(file, k) for k in kept):
                continue
            try:
                deleted += await anyio.to_thread.run_sync(remove_inside, private, file)
            except OSError as exc:  # the record is gone: say which file is left, and go on with the rest
                log.warning("could not delete pruned media file %s: %s", file, exc)
        return len(records), deleted

    async def _record(self, owner: str, media_id: str) -> ResourceRecord:
        record = await self._store.get_resource(owner, "media", media_id)
        if record is None:
            raise unknown_media(media_id)
        return record

    async def get(self, owner: str, media_id: str) -> SavedMedia:
        """The owner's saved file, as results show it."""
        record = await self._record(owner, media_id)
        shown = SavedMedia.model_validate(record.data)
        return shown.model_copy(update={"path": record.data["file"] if self.show_paths else None})

    async def read(self, owner: str, media_id: str) -> tuple[bytes, str]:
        """The owner's media file and its MIME type."""
        record = await self._record(owner, media_id)
        file = Path(record.data["file"])
        try:
            data = await anyio.to_thread.run_sync(_read_at_most, file, MAX_READ_BYTES + 1)
        except OSError:
            raise unknown_media(media_id) from None
        if len(data) > MAX_READ_BYTES:
            where = f"open it at {file}" if self.show_paths else "it stays on the server"
            raise ServiceError(
                f"{MEDIA_URI_PREFIX}{media_id} is over the {cap_mb(MAX_READ_BYTES)} a resource read "
                f"returns; {where}."
            )
        return data, str(record.data["mime_type"])

    async def preview(self, owner: str, media: SavedMedia, limit: int) -> Preview | None:
        """An inline preview of at most `limit` bytes, or None when there can be none."""
        if media.kind not in ("image", "audio"):
            return None
        data, mime = await self.read(owner, media.id)
        make = image_preview if media.kind == "image" else audio_preview
        return await anyio.to_thread.run_sync(make, data, mime, limit)
