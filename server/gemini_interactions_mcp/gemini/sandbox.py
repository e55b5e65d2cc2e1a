"""Files of a managed agent's sandbox environment (media-files-tools section 8): list and download."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from urllib.parse import quote

import httpx2

from gemini_interactions_mcp.gemini import errors
from gemini_interactions_mcp.gemini.client import InteractionsClient
from gemini_interactions_mcp.gemini.models.files import EnvironmentFilePage
from gemini_interactions_mcp.gemini.outgoing import JSON_TYPE

CHUNK_BYTES = 64 * 1024
"""The most of a downloaded file held at once: a sandbox file can be any size, and its listed size is
not a promise."""


def _files_path(environment_id: str, path: str) -> str:
    """`/environments/{id}/files/{path}`; the path is relative to the sandbox root (a leading `/` and an
    `environments/` prefix are dropped, as the SDK does), each segment quoted."""
    env = quote(environment_id.removeprefix("environments/"), safe="")
    parts = [quote(p, safe="") for p in path.strip().lstrip("/").split("/") if p]
    return f"/environments/{env}/files/" + "/".join(parts)


class SandboxFilesAPI:
    def __init__(self, client: InteractionsClient) -> None:
        self._client = client

    async def list(
        self,
        environment_id: str,
        path: str = "",
        *,
        recursive: bool = False,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> EnvironmentFilePage:
        """A folder's entries (all descendants with `recursive`), or the one entry of a file."""
        params: dict[str, str] = {}
        if recursive:
            params["recursive"] = "true"
        if page_size is not None:
            params["page_size"] = str(page_size)
        if page_token:
            params["page_token"] = page_token
        data = await self._client._json("GET", _files_path(environment_id, path), params=params)
        return EnvironmentFilePage.model_validate(data)

    async def download(self, environment_id: str, path: str) -> AsyncGenerator[bytes, None]:
        """The file's bytes as they arrive, CHUNK_BYTES at most at a time, so the caller can write them
        out and stop at its own cap. Close it early with `contextlib.aclosing` (that ends the request).
        The connection failing part-way raises TransportError (UpstreamTimeoutError for a timeout): the
        bytes so far are not the file. Sent with the JSON `Accept` of every other call (as before
        streaming), not the event-stream one of a streamed interaction, and asking for the file
        uncompressed: a compressed piece is decoded whole in memory, and 64 KiB of gzip can become 64 MB,
        so only an uncompressed body keeps what is held to what arrived."""
        response = await self._client._send(
            "GET",
            _files_path(environment_id, path),
            params={"alt": "media"},
            stream=True,
            headers={"accept": JSON_TYPE, "accept-encoding": "identity"},
        )
        what = f"downloading {path!r} from environment {environment_id!r}"
        try:
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                yield chunk
        except httpx2.TimeoutException as exc:
            raise errors.UpstreamTimeoutError(f"{what}: timed out ({type(exc).__name__})") from None
        except httpx2.RequestError as exc:
            raise errors.TransportError(f"{what}: the connection failed ({type(exc).__name__})") from None
        finally:
            await response.aclose()
