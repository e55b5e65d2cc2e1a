"""Files API, File Search and sandbox-file resources (media-files-tools sections 5, 6 and 8).

Files and File Search are older proto-JSON APIs: their fields are camelCase on the wire (requests may
use either casing), int64 values arrive as strings. These models read both spellings and send camelCase.
Sandbox files belong to the Interactions-era API and are snake_case like the rest of this package.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from gemini_interactions_mcp.gemini.models._open import OpenModel


class ProtoModel(OpenModel):
    """A proto-JSON resource: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel)


class File(ProtoModel):
    """An uploaded file; reference it in a content block by `uri` once `state` is ACTIVE."""

    name: str = ""
    display_name: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    create_time: str | None = None
    update_time: str | None = None
    expiration_time: str | None = None
    sha256_hash: str | None = None
    uri: str | None = None
    download_uri: str | None = None
    state: str | None = None
    source: str | None = None
    error: dict[str, Any] | None = None


class FilePage(ProtoModel):
    files: list[File] = Field(default_factory=list)
    next_page_token: str | None = None


class FileSearchStore(ProtoModel):
    name: str = ""
    display_name: str | None = None
    create_time: str | None = None
    update_time: str | None = None
    active_documents_count: int | None = None
    pending_documents_count: int | None = None
    failed_documents_count: int | None = None
    size_bytes: int | None = None
    embedding_model: str | None = None


class FileSearchStorePage(ProtoModel):
    file_search_stores: list[FileSearchStore] = Field(default_factory=list)
    next_page_token: str | None = None


class Document(ProtoModel):
    """A document of a store; `state` is STATE_PENDING while it is indexed, then STATE_ACTIVE."""

    name: str = ""
    display_name: str | None = None
    state: str | None = None
    size_bytes: int | None = None
    mime_type: str | None = None
    create_time: str | None = None
    update_time: str | None = None
    custom_metadata: list[dict[str, Any]] | None = None


class DocumentPage(ProtoModel):
    documents: list[Document] = Field(default_factory=list)
    next_page_token: str | None = None


class Operation(ProtoModel):
    """A long-running operation (indexing a document); poll it by `name` until `done`."""

    name: str = ""
    done: bool = False
    metadata: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    response: dict[str, Any] | None = None

    @property
    def document_name(self) -> str | None:
        response = self.response or {}
        name = response.get("documentName", response.get("document_name"))
        return name if isinstance(name, str) else None


class EnvironmentFile(OpenModel):
    """A file or folder of a managed agent's sandbox; `path` is relative to the sandbox root."""

    name: str = ""
    path: str = ""
    type: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    created: str | None = None
    modified: str | None = None


class EnvironmentFilePage(OpenModel):
    files: list[EnvironmentFile] = Field(default_factory=list)
    next_page_token: str | None = None
