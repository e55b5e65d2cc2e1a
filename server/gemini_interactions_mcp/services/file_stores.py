"""File Search stores: create, list, get, delete; add files or folders; list and delete documents.

Store names are global per API key, so ownership works as for agents: the local principal (stdio,
unauthenticated loopback) owns the key and sees every store; an HTTP principal sees the stores it
created, and anyone else's name reads exactly like an unknown one. Adding files is a background job
(polled like research) that uploads each file into the store and waits for it to be indexed, noting
each file's fate as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from pydantic import BaseModel

from gemini_interactions_mcp.downstream.paths import PathRefused
from gemini_interactions_mcp.downstream.tree import is_binary_file
from gemini_interactions_mcp.gemini import FileSearchAPI, GeminiError, NotFoundError, Operation
from gemini_interactions_mcp.gemini.file_search import MAX_DOCUMENT_BYTES
from gemini_interactions_mcp.gemini.units import cap_mb
from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.files import DOCUMENT_TYPES, FileLoader, guess_from_name, sniff
from gemini_interactions_mcp.services.jobs import JobService, Note
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.services.uploads import reader
from gemini_interactions_mcp.state import JobRecord, ResourceRecord, Store
from gemini_interactions_mcp.tool_names import ToolName

STORES = "fileSearchStores/"
MAX_FILES_PER_ADD = 500
INDEX_POLL = (0.5, 1.0, 2.0, 5.0)
INDEX_TIMEOUT_SECONDS = 900.0
STRUCTURED_TYPES = frozenset({"application/json", "application/xml", "application/zip", "application/x-yaml"})


class StorePage(BaseModel):
    stores: list[dict[str, Any]]
    next_page_token: str | None = None


class DocumentPage(BaseModel):
    documents: list[dict[str, Any]]
    next_page_token: str | None = None


@dataclass(frozen=True)
class Candidate:
    path: Path
    name: str
    size: int


def unknown_store(name: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No File Search store {name!r} for you. {ToolName.MANAGE_FILE_STORE} with action='list' shows yours."
    )


def store_name(name: str) -> str:
    """The full name of a store or document; one with an empty, `.` or `..` segment reads as unknown
    (the API client refuses to send it, so it must not reach it as a crash)."""
    name = name.strip()
    full = name if name.startswith(STORES) else STORES + name
    if any(part in ("", ".", "..") for part in full.split("/")[1:]):
        raise unknown_store(name)
    return full


def _mime(path: Path, name: str) -> str | None:
    """The type File Search indexes this file as, or None for what it cannot index (images, media,
    unknown binaries)."""
    with path.open("rb") as handle:
        head = handle.read(16)
    mime = sniff(head) or guess_from_name(name)
    if mime in DOCUMENT_TYPES or mime in STRUCTURED_TYPES or (mime or "").startswith("text/"):
        return mime
    if mime is None or not mime.startswith(("image/", "audio/", "video/")):
        return None if is_binary_file(path) else "text/plain"
    return None


def _dump(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = obj.model_dump(mode="json", exclude_none=True)
    return data


class FileStoreService:
    def __init__(self, *, store: Store, api: FileSearchAPI, jobs: JobService, files: FileLoader) -> None:
        self._store = store
        self._api = api
        self._jobs = jobs
        self._files = files

    # -- ownership -------------------------------------------------------------------------------

    async def _owned(self, owner: str, name: str) -> str:
        """The full store name, if the owner may use it (UnknownHandleError otherwise)."""
        full = store_name(name)
        if owner != LOCAL_PRINCIPAL and await self._store.get_resource(owner, "file_store", full) is None:
            raise unknown_store(name)
        return full

    async def usable(self, owner: str, names: Sequence[str]) -> list[str]:
        """The stores a turn may search (full names), each checked to be the owner's."""
        return [await self._owned(owner, name) for name in names]

    def _explained(self, exc: GeminiError, name: str, what: str) -> ServiceError:
        if isinstance(exc, NotFoundError):
            return unknown_store(name)
        return explain_upstream(exc, what=what)

    # -- stores ----------------------------------------------------------------------------------

    async def create(self, owner: str, display_name: str | None) -> dict[str, Any]:
        try:
            created = await self._api.create_store(display_name)
        except GeminiError as exc:
            raise explain_upstream(exc, what="creating the store") from None
        record = ResourceRecord(
            owner=owner,
            kind="file_store",
            id=created.name,
            data={"display_name": display_name},
            created=time.time(),
        )
        await self._store.put_resource(record)
        return _dump(created)

    async def page(self, owner: str, page_token: str | None) -> StorePage:
        if owner != LOCAL_PRINCIPAL:
            mine = await self._store.list_resources(owner, "file_store")
            return StorePage(stores=[{"name": r.id, **r.data} for r in mine])
        try:
            found = await self._api.list_stores(page_size=100, page_token=page_token)
        except GeminiError as exc:
            raise explain_upstream(exc, what="listing stores") from None
        return StorePage(
            stores=[_dump(s) for s in found.file_search_stores], next_page_token=found.next_page_token
        )

    async def get(self, owner: str, name: str) -> dict[str, Any]:
        full = await self._owned(owner, name)
        try:
            return _dump(await self._api.get_store(full))
        except GeminiError as exc:
            raise self._explained(exc, name, "reading the store") from None

    async def delete(self, owner: str, name: str) -> None:
        """Delete the store and its documents (the files they came from are untouched)."""
        full = await self._owned(owner, name)
        try:
            await self._api.delete_store(full, force=True)
        except GeminiError as exc:
            raise self._explained(exc, name, "deleting the store") from None
        await self._store.delete_resource(owner, "file_store", full)

    # -- documents -------------------------------------------------------------------------------

    async def documents(self, owner: str, name: str, page_token: str | None) -> DocumentPage:
        full = await self._owned(owner, name)
        try:
            found = await self._api.list_documents(full, page_size=100, page_token=page_token)
        except GeminiError as exc:
            raise self._explained(exc, name, "listing documents") from None
        return DocumentPage(
            documents=[_dump(d) for d in found.documents], next_page_token=found.next_page_token
        )

    async def delete_document(self, owner: str, document: str) -> None:
        parent, sep, _ = store_name(document).partition("/documents/")
        if not sep:
            raise ServiceError(f"{document!r} is not a document name (fileSearchStores/…/documents/…).")
        await self._owned(owner, parent)
        try:
            await self._api.delete_document(store_name(document))
        except NotFoundError:
            raise UnknownHandleError(f"No document {document!r} in that store.") from None
        except GeminiError as exc:
            raise explain_upstream(exc, what="deleting the document") from None

    # -- adding files ----------------------------------------------------------------------------

    async def add(self, owner: str, name: str, refs: Sequence[str], roots: list[Path] | None) -> JobRecord:
        """Start a job that puts the files into the store (folders walked with .gitignore honoured and
        hidden files left out)."""
        full = await self._owned(owner, name)
        if not refs:
            raise ServiceError("Give `files`: the files or folders to add.")
        candidates = await anyio.to_thread.run_sync(self._candidates, list(refs), roots)

        async def work(note: Note) -> tuple[str, str]:
            return await self._add_all(full, candidates, note)

        return await self._jobs.run_local(owner, "files", f"adding {len(candidates)} file(s) to {full}", work)

    def _candidates(self, refs: list[str], roots: list[Path] | None) -> list[Candidate]:
        confinement = self._files.confinement(roots)
        found: list[Candidate] = []
        for ref in refs:
            try:
                located = confinement.locate(ref, want="any")
                if located.path.is_dir():
                    entries = [
                        e
                        for e in self._files.walk(ref, located, confinement)
                        if not e.is_dir and not any(p.startswith(".") for p in Path(e.relative).parts)
                    ]
                    found += [Candidate(e.path, confinement.name_of(e.path), e.size) for e in entries]
                else:
                    found.append(Candidate(located.path, located.name, located.path.stat().st_size))
            except PathRefused as exc:
                raise ServiceError(str(exc)) from None
            except OSError as exc:
                raise ServiceError(f"{ref}: cannot be opened ({exc.strerror or 'error'}).") from None
        if not found:
            raise ServiceError("Those folders hold no files (.gitignore honoured).")
        if len(found) > MAX_FILES_PER_ADD:
            raise ServiceError(
                f"That is {len(found)} files, over {MAX_FILES_PER_ADD} per call: add fewer at a time."
            )
        return found

    async def _add_all(self, store: str, candidates: list[Candidate], note: Note) -> tuple[str, str]:
        lines: list[str] = []
        added = 0
        for candidate in candidates:
            outcome = await self._add_one(store, candidate, note)
            added += outcome.startswith("indexed")
            lines.append(f"- {candidate.name}: {outcome}")
        status = "completed" if added or not candidates else "failed"
        head = f"Added {added} of {len(candidates)} file(s) to {store}."
        return status, "\n".join([head, *lines])

    async def _add_one(self, store: str, candidate: Candidate, note: Note) -> str:
        """One file into the store, indexed; what became of it, in a few words."""
        if candidate.size > MAX_DOCUMENT_BYTES:
            outcome = f"skipped: over the {cap_mb(MAX_DOCUMENT_BYTES)} File Search limit"
        elif candidate.size == 0:
            outcome = "skipped: empty"
        else:
            mime = await anyio.to_thread.run_sync(_mime, candidate.path, candidate.name)
            if mime is None:
                outcome = "skipped: File Search indexes text and documents, not this kind of file"
            else:
                outcome = await self._index(store, candidate, mime, note)
        await note(f"{candidate.name}: {outcome}")
        return outcome

    async def _index(self, store: str, candidate: Candidate, mime: str, note: Note) -> str:
        try:
            operation = await self._api.upload_document(
                store,
                size=candidate.size,
                mime_type=mime,
                read=reader(candidate.path),
                display_name=candidate.name,
            )
            await note(f"{candidate.name}: uploaded, indexing")
            operation = await self._indexed(operation)
        except GeminiError as exc:
            return f"failed: {explain_upstream(exc, what='adding it')}"
        except ServiceError as exc:
            return f"failed: {exc}"
        if operation.error:
            return f"failed: {operation.error.get('message') or 'indexing failed'}"
        return f"indexed as {operation.document_name}"

    async def _indexed(self, operation: Operation) -> Operation:
        waited, attempt = 0.0, 0
        while not operation.done:
            if waited >= INDEX_TIMEOUT_SECONDS:
                raise ServiceError("indexing is taking too long; check the store's documents later")
            delay = INDEX_POLL[min(attempt, len(INDEX_POLL) - 1)]
            await anyio.sleep(delay)
            waited += delay
            attempt += 1
            operation = await self._api.get_operation(operation.name)
        return operation
