"""The Files API and its resumable upload protocol (media-files-tools sections 5.1-5.3).

An upload is a session: a `start` request announces size and type and gets an upload URL; the bytes
follow in chunks at explicit offsets, the last one with `finalize`. When a chunk fails, the client
asks the session how much arrived (`query`) and goes on from there, so a flaky link costs one chunk,
not the file; after the allowed attempts it raises UploadInterruptedError carrying the URL, and a later
call passes that URL back to resume. Bytes are read through a callback, chunk by chunk, so a 2 GB file
never sits in memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from gemini_interactions_mcp.gemini import errors
from gemini_interactions_mcp.gemini.models.files import File, FilePage
from gemini_interactions_mcp.gemini.units import MIB

if TYPE_CHECKING:
    from gemini_interactions_mcp.gemini.client import InteractionsClient

ChunkReader = Callable[[int, int], Awaitable[bytes]]
"""Reads `size` bytes at `offset` of the file being uploaded."""
UploadProgress = Callable[[int, int], Awaitable[None]]
"""Told (bytes sent, total) after every chunk."""
CHUNK_BYTES = 8 * MIB
MAX_FILE_BYTES = 2048 * MIB
"""The Files API's limit per file (2 GB)."""
_RESUMABLE_FAILURES = (errors.TransportError, errors.ServerError, errors.RateLimitError)


def resource_path(name: str, collection: str) -> str:
    """`/collection/id[/...]` for a resource name given with or without its collection prefix, each
    segment quoted: names come from users and must not walk to another path."""
    parts = name.strip().removeprefix(f"{collection}/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{name!r} is not a resource name of {collection}")
    return "/" + "/".join(quote(part, safe="") for part in (collection, *parts))


class ResumableUpload:
    """The upload protocol on top of an InteractionsClient (its key, transport and retry policy)."""

    def __init__(self, client: InteractionsClient, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._client = client
        self.chunk_bytes = chunk_bytes

    def _url(self, path: str) -> str:
        config = self._client.config
        return f"{config.base_url.rstrip('/')}/upload/{config.api_version}{path}"

    def _on_our_host(self, url: str) -> str:
        """The session URL with our base URL's scheme and host (as the SDK does): a proxy or emulator
        in front of the API may hand out the upstream host."""
        base = urlsplit(self._client.config.base_url)
        return urlunsplit(urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc))

    async def start(
        self,
        path: str,
        *,
        size: int,
        mime_type: str,
        metadata: Mapping[str, Any],
        file_name: str | None = None,
    ) -> str:
        """Open a session for `size` bytes of `mime_type`; returns the URL the bytes go to."""
        headers = {
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime_type,
        }
        if file_name:
            headers["X-Goog-Upload-File-Name"] = quote(file_name)
        response = await self._client._send("POST", self._url(path), json_body=metadata, headers=headers)
        url = response.headers.get("x-goog-upload-url")
        if not url:
            raise errors.APIError(response.status_code, "the upload was not given a session URL")
        return self._on_our_host(url)

    async def received(self, url: str) -> int:
        """How many bytes of the session have arrived upstream."""
        response = await self._client._send("POST", url, headers={"X-Goog-Upload-Command": "query"})
        try:
            return int(response.headers.get("x-goog-upload-size-received", ""))
        except ValueError:
            raise errors.APIError(response.status_code, "the upload session did not say its size") from None

    async def send(
        self,
        url: str,
        *,
        size: int,
        read: ChunkReader,
        offset: int = 0,
        progress: UploadProgress | None = None,
    ) -> dict[str, Any]:
        """Send bytes from `offset` to the end and finalize; returns the final JSON body."""
        failures = 0
        while True:
            piece = await read(offset, min(self.chunk_bytes, size - offset))
            command = "upload, finalize" if offset + len(piece) >= size else "upload"
            headers = {"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)}
            try:
                response = await self._client._send("POST", url, content=piece, headers=headers, retry=False)
            except _RESUMABLE_FAILURES as exc:
                failures += 1
                offset = await self._recover(url, exc, failures, offset, size)
                continue
            failures = 0
            status = response.headers.get("x-goog-upload-status")
            if status == "final":
                if progress is not None:
                    await progress(size, size)
                body: dict[str, Any] = response.json() if response.content.strip() else {}
                return body
            if status != "active":
                raise errors.APIError(response.status_code, f"the upload stopped (status {status!r})")
            offset += len(piece)
            if progress is not None:
                await progress(offset, size)
            if offset >= size:
                raise errors.APIError(
                    response.status_code, "all bytes were sent but the upload never finished"
                )

    async def _recover(self, url: str, exc: errors.GeminiError, failures: int, offset: int, size: int) -> int:
        """After a failed chunk: wait, then ask the session where to go on; give up after the policy's
        attempts with everything needed to resume later."""
        policy = self._client.config.retry
        interrupted = errors.UploadInterruptedError(
            f"The upload stopped at {offset} of {size} bytes ({type(exc).__name__}).",
            upload_url=url,
            received=offset,
            total=size,
        )
        if failures >= policy.max_attempts:
            raise interrupted from exc
        await self._client._sleep(policy.backoff(failures - 1, self._client._random.random()))
        try:
            return await self.received(url)
        except errors.GeminiError:
            raise interrupted from exc


class FilesAPI:
    """`/files`: upload (resumable), get, list, delete. Uploaded files expire after 48 hours."""

    def __init__(self, client: InteractionsClient, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._client = client
        self.uploads = ResumableUpload(client, chunk_bytes=chunk_bytes)

    async def upload(
        self,
        *,
        size: int,
        mime_type: str,
        read: ChunkReader,
        display_name: str | None = None,
        progress: UploadProgress | None = None,
        resume_url: str | None = None,
    ) -> File:
        """Upload `size` bytes read through `read`; with `resume_url`, go on with that session from
        where it stopped. Raises UploadInterruptedError when it stops part-way."""
        if not 0 < size <= MAX_FILE_BYTES:
            raise ValueError(f"a file upload must be 1 byte to 2 GB, not {size} bytes")
        if resume_url is None:
            metadata = {"file": {"display_name": display_name}} if display_name else {"file": {}}
            url = await self.uploads.start(
                "/files", size=size, mime_type=mime_type, metadata=metadata, file_name=display_name
            )
            offset = 0
        else:
            url, offset = resume_url, await self.uploads.received(resume_url)
        body = await self.uploads.send(url, size=size, read=read, offset=offset, progress=progress)
        return File.model_validate(body.get("file", body))

    async def get(self, name: str) -> File:
        return File.model_validate(await self._client._json("GET", resource_path(name, "files")))

    async def list(self, *, page_size: int | None = None, page_token: str | None = None) -> FilePage:
        params: dict[str, str] = {}
        if page_size is not None:
            params["pageSize"] = str(page_size)
        if page_token:
            params["pageToken"] = page_token
        return FilePage.model_validate(await self._client._json("GET", "/files", params=params))

    async def delete(self, name: str) -> None:
        await self._client._json("DELETE", resource_path(name, "files"))
