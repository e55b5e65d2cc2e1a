"""Large inputs through the Files API: uploaded once, referenced by `uri`, reused until they expire.

A file above the inline limit is uploaded with the resumable protocol (chunk by chunk from disk, so a
2 GB video never sits in memory) and the turn refers to it by `uri`. Uploads are remembered per owner
by content hash until shortly before the Files API deletes them (48 h): the same bytes sent again cost
one metadata request, not a second upload. A failed upload leaves its session open: the next call
with the same file goes on from where it stopped. Progress is reported per chunk.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from gemini_interactions_mcp.gemini import File, FilesAPI, GeminiError, NotFoundError, UploadInterruptedError
from gemini_interactions_mcp.gemini.units import MIB, size_mb
from gemini_interactions_mcp.services.errors import ServiceError, explain_upstream
from gemini_interactions_mcp.services.files import block_type, guess_from_name, sniff
from gemini_interactions_mcp.services.heartbeats import Progress
from gemini_interactions_mcp.services.locks import KeyedLocks
from gemini_interactions_mcp.state import ResourceRecord, Store

HASH_CHUNK = 4 * MIB
EXPIRY_MARGIN_SECONDS = 3600
"""A remembered upload is not reused in its last hour: a long conversation must not outlive its file."""
ACTIVE_POLL = (0.5, 1.0, 2.0, 5.0)
ACTIVE_TIMEOUT_SECONDS = 600.0
FILES_API_LIFETIME_SECONDS = 48 * 3600
"""How long the Files API keeps a file: a remembered upload older than this is gone upstream."""


async def forget_expired_uploads(store: Store, now: float) -> int:
    """Forget every owner's uploads older than the Files API keeps files; how many were forgotten.

    An upload's record is dropped when it is read past its expiry, but bytes that are never sent again
    are never looked up again: without this, each such record stayed for ever (in Redis, its key expired
    but its owner's index kept the entry)."""
    return len(await store.prune_resources("upload", created_before=now - FILES_API_LIFETIME_SECONDS))


def _sha256(path: Path, size: int) -> str:
    """The hash of the first `size` bytes, the ones the upload sends: a file still growing (a recording
    being written) must not be remembered under the hash of bytes that were never uploaded."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while size > 0 and (chunk := handle.read(min(HASH_CHUNK, size))):
            digest.update(chunk)
            size -= len(chunk)
    return digest.hexdigest()


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(16)


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def reader(path: Path) -> Callable[[int, int], Awaitable[bytes]]:
    """Reads chunks of the file at given offsets, in a worker thread."""

    def read_at(offset: int, size: int) -> bytes:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(size)

    async def read(offset: int, size: int) -> bytes:
        return await anyio.to_thread.run_sync(read_at, offset, size)

    return read


class FileUploader:
    """Uploads local files to the Files API for their owner, reusing earlier uploads of the same bytes."""

    def __init__(self, *, store: Store, files: FilesAPI, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._files = files
        self._clock = clock
        self._pending: dict[tuple[str, str], str] = {}
        """(owner, sha256) -> the session URL of an upload that stopped part-way."""
        self._locks = KeyedLocks()

    async def block(
        self, owner: str, progress: Progress | None, path: Path, name: str, size: int
    ) -> dict[str, Any]:
        """A content block referring to the uploaded file (uploading it unless it is already there)."""
        head = await anyio.to_thread.run_sync(_head, path)
        mime = sniff(head) or guess_from_name(name)
        kind = block_type(mime)
        if kind is None or mime is None:
            raise ServiceError(
                f"{name} is {size_mb(size)} of {mime or 'text or an unknown type'}: too big to send "
                "inline, and the Files API takes images, audio, video, PDF and office documents. Send an "
                "excerpt."
            )
        if progress is not None:
            await progress(f"Checking {name} ({size_mb(size)})…")
        sha = await anyio.to_thread.run_sync(_sha256, path, size)
        async with self._locks.hold(f"{owner}\n{sha}"):
            file = await self._reusable(owner, sha)
            if file is None:
                file = await self._upload(owner, sha, progress, path, name, size, mime)
        return {"type": kind, "uri": file.uri, "mime_type": mime}

    async def _reusable(self, owner: str, sha: str) -> File | None:
        """The owner's earlier upload of these bytes, if the Files API still has it and it is usable."""
        record = await self._store.get_resource(owner, "upload", sha)
        if record is None:
            return None
        try:
            file = await self._files.get(str(record.data["name"]))
        except NotFoundError:
            file = None
        except GeminiError as exc:
            raise explain_upstream(exc, what="checking an earlier upload") from None
        if file is None or file.state == "FAILED" or not file.uri:
            await self._store.delete_resource(owner, "upload", sha)
            return None
        return await self._active(file)

    async def _upload(
        self, owner: str, sha: str, progress: Progress | None, path: Path, name: str, size: int, mime: str
    ) -> File:
        async def report(sent: int, total: int) -> None:
            if progress is not None:
                await progress(f"Uploading {name}: {sent / MIB:.1f} of {size_mb(total)}")

        resume = self._pending.pop((owner, sha), None)

        async def send(resume_url: str | None) -> File:
            return await self._files.upload(
                size=size,
                mime_type=mime,
                read=reader(path),
                display_name=name,
                progress=report,
                resume_url=resume_url,
            )

        try:
            try:
                file = await send(resume)
            except NotFoundError:
                if resume is None:
                    raise
                file = await send(None)  # the stopped session expired: start over
        except UploadInterruptedError as exc:
            self._pending[(owner, sha)] = exc.upload_url
            raise ServiceError(
                f"Uploading {name} stopped at {exc.received / MIB:.1f} of {size_mb(exc.total)} "
                f"({exc.message}). Call again with the same file: the upload goes on from there."
            ) from None
        except GeminiError as exc:
            raise explain_upstream(exc, what=f"uploading {name}") from None
        file = await self._active(file)
        expires = _epoch(file.expiration_time)
        await self._store.put_resource(
            ResourceRecord(
                owner=owner,
                kind="upload",
                id=sha,
                data={"name": file.name, "uri": file.uri, "mime_type": mime, "size": size},
                created=self._clock(),
                expires=expires - EXPIRY_MARGIN_SECONDS if expires is not None else None,
            )
        )
        return file

    async def _active(self, file: File) -> File:
        """Wait while the Files API processes the file (videos take a while); fail clearly if it fails."""
        waited = 0.0
        attempt = 0
        while file.state == "PROCESSING":
            if waited >= ACTIVE_TIMEOUT_SECONDS:
                name = file.display_name or file.name
                raise ServiceError(f"{name} is still being processed by Gemini; try again later.")
            delay = ACTIVE_POLL[min(attempt, len(ACTIVE_POLL) - 1)]
            await anyio.sleep(delay)
            waited += delay
            attempt += 1
            try:
                file = await self._files.get(file.name)
            except GeminiError as exc:
                raise explain_upstream(exc, what="waiting for an upload to be processed") from None
        if file.state == "FAILED":
            reason = (file.error or {}).get("message") or "no reason given"
            raise ServiceError(f"Gemini could not process {file.display_name or file.name}: {reason}.")
        return file
