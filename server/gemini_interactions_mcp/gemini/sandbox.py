"""Files of a managed agent's sandbox environment (media-files-tools section 8): list and download."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from gemini_interactions_mcp.gemini.models.files import EnvironmentFilePage

if TYPE_CHECKING:
    from gemini_interactions_mcp.gemini.client import InteractionsClient


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

    async def download(self, environment_id: str, path: str) -> bytes:
        response = await self._client._send("GET", _files_path(environment_id, path), params={"alt": "media"})
        return response.content
