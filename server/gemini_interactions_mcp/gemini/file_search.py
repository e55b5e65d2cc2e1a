"""File Search stores, their documents and indexing operations (media-files-tools section 6).

A document enters a store by a resumable upload straight into it, or by importing a Files API file;
both return an Operation to poll until `done`. Store names are global per API key: whoever shows them
to several users must keep its own record of who owns which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gemini_interactions_mcp.gemini.files import ChunkReader, ResumableUpload, UploadProgress, resource_path
from gemini_interactions_mcp.gemini.models.files import (
    Document,
    DocumentPage,
    FileSearchStore,
    FileSearchStorePage,
    Operation,
)
from gemini_interactions_mcp.gemini.units import MIB

if TYPE_CHECKING:
    from gemini_interactions_mcp.gemini.client import InteractionsClient

STORES = "fileSearchStores"
MAX_DOCUMENT_BYTES = 100 * MIB
"""File Search's limit per document."""


def _paging(page_size: int | None, page_token: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if page_size is not None:
        params["pageSize"] = str(page_size)
    if page_token:
        params["pageToken"] = page_token
    return params


class FileSearchAPI:
    """`/fileSearchStores`: stores, documents and the operations that index them."""

    def __init__(self, client: InteractionsClient, uploads: ResumableUpload | None = None) -> None:
        self._client = client
        self.uploads = uploads or ResumableUpload(client)

    async def create_store(
        self, display_name: str | None = None, embedding_model: str | None = None
    ) -> FileSearchStore:
        body = {k: v for k, v in (("displayName", display_name), ("embeddingModel", embedding_model)) if v}
        return FileSearchStore.model_validate(await self._client._json("POST", f"/{STORES}", json_body=body))

    async def list_stores(
        self, *, page_size: int | None = None, page_token: str | None = None
    ) -> FileSearchStorePage:
        data = await self._client._json("GET", f"/{STORES}", params=_paging(page_size, page_token))
        return FileSearchStorePage.model_validate(data)

    async def get_store(self, name: str) -> FileSearchStore:
        return FileSearchStore.model_validate(await self._client._json("GET", resource_path(name, STORES)))

    async def delete_store(self, name: str, *, force: bool = False) -> None:
        params = {"force": "true"} if force else None
        await self._client._json("DELETE", resource_path(name, STORES), params=params)

    async def upload_document(
        self,
        store: str,
        *,
        size: int,
        mime_type: str,
        read: ChunkReader,
        display_name: str,
        custom_metadata: Sequence[Mapping[str, Any]] | None = None,
        progress: UploadProgress | None = None,
    ) -> Operation:
        """Upload a document straight into the store; returns the indexing operation."""
        metadata: dict[str, Any] = {"displayName": display_name, "mimeType": mime_type}
        if custom_metadata:
            metadata["customMetadata"] = [dict(m) for m in custom_metadata]
        path = f"{resource_path(store, STORES)}:uploadToFileSearchStore"
        url = await self.uploads.start(
            path, size=size, mime_type=mime_type, metadata=metadata, file_name=display_name
        )
        body = await self.uploads.send(url, size=size, read=read, progress=progress)
        return Operation.model_validate(body)

    async def import_file(self, store: str, file_name: str) -> Operation:
        """Index a Files API file (`files/...`) into the store."""
        path = f"{resource_path(store, STORES)}:importFile"
        return Operation.model_validate(
            await self._client._json("POST", path, json_body={"fileName": file_name})
        )

    async def get_operation(self, name: str) -> Operation:
        return Operation.model_validate(await self._client._json("GET", resource_path(name, STORES)))

    async def list_documents(
        self, store: str, *, page_size: int | None = None, page_token: str | None = None
    ) -> DocumentPage:
        path = f"{resource_path(store, STORES)}/documents"
        return DocumentPage.model_validate(
            await self._client._json("GET", path, params=_paging(page_size, page_token))
        )

    async def get_document(self, name: str) -> Document:
        return Document.model_validate(await self._client._json("GET", resource_path(name, STORES)))

    async def delete_document(self, name: str, *, force: bool = True) -> None:
        params = {"force": "true"} if force else None
        await self._client._json("DELETE", resource_path(name, STORES), params=params)
