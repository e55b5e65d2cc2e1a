"""State of the non-interaction resources: Files, upload sessions, File Search stores, sandbox files.

Like interactions, these records keep the moment they were made and derive their state on read
(a file is PROCESSING until its processing time has passed, an operation is done once indexing has),
so no background task is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class UploadSession:
    """A resumable upload in progress (section 5.2): what was announced and what arrived so far."""

    id: str
    target: str
    """"files" or the File Search store id the upload goes into."""
    total: int
    mime_type: str
    metadata: JSON
    received: bytearray = field(default_factory=bytearray)
    bytes_posted: int = 0
    """Every byte of every chunk request, resent ones included (what a test checks for resumption)."""
    finished: bool = False


@dataclass
class FileRecord:
    id: str
    display_name: str | None
    mime_type: str
    data: bytes
    sha256: str
    created_wall: float
    created: float
    ready_at: float
    """Monotonic time at which PROCESSING becomes ACTIVE."""
    expires_wall: float
    uri: str


@dataclass
class DocumentRecord:
    name: str
    """fileSearchStores/{store}/documents/{id}."""
    display_name: str
    mime_type: str
    text: str
    size: int
    custom_metadata: list[JSON]
    created_wall: float
    ready_at: float


@dataclass
class StoreRecord:
    name: str
    display_name: str | None
    embedding_model: str
    created_wall: float


@dataclass
class OperationRecord:
    name: str
    done_at: float
    response: JSON


@dataclass
class Resources:
    """Everything besides interactions, agents and environments; `clear` is part of a reset."""

    uploads: dict[str, UploadSession] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    stores: dict[str, StoreRecord] = field(default_factory=dict)
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    operations: dict[str, OperationRecord] = field(default_factory=dict)
    environment_files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """Environment id -> path (relative to the sandbox root, e.g. workspace/notes.txt) -> content."""
    environment_listed_sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    """Environment id -> path -> the size its listing shows instead of the true one (a test hook)."""

    def clear(self) -> None:
        for table in (
            self.uploads,
            self.files,
            self.stores,
            self.documents,
            self.operations,
            self.environment_files,
            self.environment_listed_sizes,
        ):
            table.clear()
