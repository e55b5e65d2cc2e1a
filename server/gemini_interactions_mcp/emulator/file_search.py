"""File Search stores (media-files-tools section 6): stores, documents, long-running operations, search.

Documents enter a store by a resumable upload (`:uploadToFileSearchStore`) or by importing a Files API
file (`:importFile`); either returns an Operation that is done once indexing has taken
`indexing_seconds`, and the document turns from STATE_PENDING to STATE_ACTIVE at that moment. The
`file_search` tool then finds the sentences of active documents that share words with the question and
cites them with `file_citation` annotations.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import references, uploads
from .emulator import Emulator
from .guard import api, emulator_of
from .resources import JSON, DocumentRecord, OperationRecord, StoreRecord, UploadSession
from .routes_interactions import json_body
from .uploads import RpcError, camel, camel_key
from .views import rfc3339

DEFAULT_EMBEDDING_MODEL = "models/gemini-embedding-001"
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
"""File Search's limit per document. The client keeps its own (gemini/file_search.py): the emulator stands
in for upstream, imports nothing of the package, and must not take its limits from the code it tests."""
_ALNUM = string.ascii_lowercase + string.digits


def _slug(text: str | None, room: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:room].strip("-")
    suffix = "".join(secrets.choice(_ALNUM) for _ in range(12))
    return f"{slug}-{suffix}" if slug else suffix


def _store(emu: Emulator, store_id: str) -> StoreRecord:
    record = emu.resources.stores.get(f"fileSearchStores/{store_id}")
    if record is None:
        raise RpcError(404, f"File search store fileSearchStores/{store_id} was not found.")
    return record


def _store_for(emu: Emulator, request: Request, method: str) -> StoreRecord:
    """The store of a custom-method path (`fileSearchStores/{id}:{method}`)."""
    store_id, _, called = request.path_params["store"].partition(":")
    if called != method:
        raise RpcError(404, f"Unknown method '{called}' on fileSearchStores.")
    return _store(emu, store_id)


def store_resource(emu: Emulator, store: StoreRecord) -> JSON:
    docs = references.store_documents(emu, store.name)
    active = sum(1 for d in docs if references.document_state(emu, d) == "STATE_ACTIVE")
    body: JSON = {
        "name": store.name,
        "createTime": rfc3339(store.created_wall),
        "updateTime": rfc3339(store.created_wall),
        "activeDocumentsCount": str(active),
        "pendingDocumentsCount": str(len(docs) - active),
        "failedDocumentsCount": "0",
        "sizeBytes": str(sum(d.size for d in docs)),
        "embeddingModel": store.embedding_model,
    }
    if store.display_name:
        body["displayName"] = store.display_name
    return body


def document_resource(emu: Emulator, doc: DocumentRecord) -> JSON:
    body: JSON = {
        "name": doc.name,
        "displayName": doc.display_name,
        "state": references.document_state(emu, doc),
        "sizeBytes": str(doc.size),
        "mimeType": doc.mime_type,
        "createTime": rfc3339(doc.created_wall),
        "updateTime": rfc3339(doc.created_wall),
    }
    if doc.custom_metadata:
        body["customMetadata"] = doc.custom_metadata
    return body


def operation_resource(emu: Emulator, op: OperationRecord) -> JSON:
    body: JSON = {"name": op.name, "done": emu.now() >= op.done_at}
    if body["done"]:
        body["response"] = op.response
    return body


def _text_of(data: bytes) -> str:
    """The searchable text of a document: UTF-8 text as is; of other formats the printable runs."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return " ".join(re.findall(r"[\x20-\x7e]{4,}", data.decode("latin-1")))


def _metadata(raw: Any) -> list[JSON]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 20 or not all(isinstance(m, dict) and "key" in m for m in raw):
        raise RpcError(400, "customMetadata must be a list of at most 20 entries with a 'key'.")
    return [{camel_key(k): v for k, v in entry.items()} for entry in raw]


def _add_document(
    emu: Emulator, store: StoreRecord, display_name: str, mime: str, data: bytes, metadata: JSON, kind: str
) -> JSON:
    """Store the document (pending until indexed) and return its Operation."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RpcError(400, "A File Search document may be at most 100 MB.")
    now = emu.now()
    ready = now + emu.config.indexing_seconds
    name = f"{store.name}/documents/{_slug(display_name, 27)}"
    emu.resources.documents[name] = DocumentRecord(
        name=name,
        display_name=display_name,
        mime_type=mime,
        text=_text_of(data),
        size=len(data),
        custom_metadata=_metadata(camel(metadata, "custom_metadata")),
        created_wall=emu.wall(),
        ready_at=ready,
    )
    op_name = f"{store.name}/{kind}operations/{_slug(None, 0)}"
    op = OperationRecord(op_name, ready, {"parent": store.name, "documentName": name})
    emu.resources.operations[op_name] = op
    return operation_resource(emu, op)


@api
async def create_store(request: Request) -> Response:
    emu = emulator_of(request)
    body = json_body(await request.body()) or {}
    if not isinstance(body, dict):
        raise RpcError(400, "Invalid request body: expected a JSON object.")
    display = camel(body, "display_name")
    if display is not None and (not isinstance(display, str) or len(display) > 512):
        raise RpcError(400, "displayName must be a string of at most 512 characters.")
    store = StoreRecord(
        name=f"fileSearchStores/{_slug(display, 27)}",
        display_name=display,
        embedding_model=camel(body, "embedding_model") or DEFAULT_EMBEDDING_MODEL,
        created_wall=emu.wall(),
    )
    emu.resources.stores[store.name] = store
    return JSONResponse(store_resource(emu, store))


@api
async def list_stores(request: Request) -> Response:
    emu = emulator_of(request)
    stores = [store_resource(emu, s) for s in emu.resources.stores.values()]
    return JSONResponse(uploads.page(request, stores, "fileSearchStores"))


@api
async def get_store(request: Request) -> Response:
    emu = emulator_of(request)
    return JSONResponse(store_resource(emu, _store(emu, request.path_params["store"])))


@api
async def delete_store(request: Request) -> Response:
    emu = emulator_of(request)
    store = _store(emu, request.path_params["store"])
    docs = references.store_documents(emu, store.name)
    if docs and request.query_params.get("force", "").lower() not in ("true", "1"):
        raise RpcError(
            400, f"{store.name} is not empty ({len(docs)} documents); delete with force=true to remove them."
        )
    for doc in docs:
        del emu.resources.documents[doc.name]
    del emu.resources.stores[store.name]
    return JSONResponse({})


@api
async def store_method(request: Request) -> Response:
    """`POST /{v}/fileSearchStores/{id}:importFile`."""
    emu = emulator_of(request)
    store = _store_for(emu, request, "importFile")
    body = json_body(await request.body()) or {}
    file_name = str(camel(body, "file_name") or "")
    record = references.live_file(emu, file_name.removeprefix("files/"))
    if record is None:
        raise RpcError(404, f"File '{file_name}' was not found or has expired.")
    display = record.display_name or record.id
    return JSONResponse(_add_document(emu, store, display, record.mime_type, record.data, body, ""))


@api
async def upload_to_store(request: Request) -> Response:
    """`POST /upload/{v}/fileSearchStores/{id}:uploadToFileSearchStore` (resumable)."""
    emu = emulator_of(request)
    store = _store_for(emu, request, "uploadToFileSearchStore")
    if "upload_id" in request.query_params:

        def finish(session: UploadSession) -> JSON:
            display = camel(session.metadata, "display_name") or "document"
            data = bytes(session.received)
            return _add_document(emu, store, display, session.mime_type, data, session.metadata, "upload/")

        return await uploads.receive(request, emu, finish)
    body = json_body(await request.body()) or {}
    return uploads.start(request, emu, store.name, body if isinstance(body, dict) else {})


@api
async def get_operation(request: Request) -> Response:
    emu = emulator_of(request)
    name = request.url.path.split("/", 2)[2]
    op = emu.resources.operations.get(name)
    if op is None:
        raise RpcError(404, f"Operation {name} was not found.")
    return JSONResponse(operation_resource(emu, op))


@api
async def list_documents(request: Request) -> Response:
    emu = emulator_of(request)
    store = _store(emu, request.path_params["store"])
    docs = [document_resource(emu, d) for d in references.store_documents(emu, store.name)]
    return JSONResponse(uploads.page(request, docs, "documents"))


def _document(emu: Emulator, request: Request) -> DocumentRecord:
    store = _store(emu, request.path_params["store"])
    name = f"{store.name}/documents/{request.path_params['doc']}"
    doc = emu.resources.documents.get(name)
    if doc is None:
        raise RpcError(404, f"Document {name} was not found.")
    return doc


@api
async def get_document(request: Request) -> Response:
    emu = emulator_of(request)
    return JSONResponse(document_resource(emu, _document(emu, request)))


@api
async def delete_document(request: Request) -> Response:
    emu = emulator_of(request)
    del emu.resources.documents[_document(emu, request).name]
    return JSONResponse({})


# -- the file_search tool ---------------------------------------------------------------------------


ROUTES = [
    Route("/upload/{version}/fileSearchStores/{store}", upload_to_store, methods=["POST"]),
    Route("/{version}/fileSearchStores", create_store, methods=["POST"]),
    Route("/{version}/fileSearchStores", list_stores, methods=["GET"]),
    Route("/{version}/fileSearchStores/{store}", get_store, methods=["GET"]),
    Route("/{version}/fileSearchStores/{store}", delete_store, methods=["DELETE"]),
    Route("/{version}/fileSearchStores/{store}", store_method, methods=["POST"]),
    Route("/{version}/fileSearchStores/{store}/operations/{op}", get_operation, methods=["GET"]),
    Route("/{version}/fileSearchStores/{store}/upload/operations/{op}", get_operation, methods=["GET"]),
    Route("/{version}/fileSearchStores/{store}/documents", list_documents, methods=["GET"]),
    Route("/{version}/fileSearchStores/{store}/documents/{doc}", get_document, methods=["GET"]),
    Route("/{version}/fileSearchStores/{store}/documents/{doc}", delete_document, methods=["DELETE"]),
]
