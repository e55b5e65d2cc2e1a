"""What an interaction may refer to besides its history, and the rules about it: Files API files
(by `uri`), the documents of File Search stores, and the files runs write into their sandbox.

The HTTP endpoints of these resources live in `files_api`, `file_search` and `env_files`; `service`
applies these rules when an interaction is created.
"""

from __future__ import annotations

import re
from typing import Any

from .emulator import Emulator
from .errors import bad_request
from .ids import call_id, signature
from .resources import JSON, DocumentRecord, FileRecord
from .store import EnvironmentRecord

_URI_FILE = re.compile(r"/files/([a-z0-9-]+)$")
_EXCLUSIVE_TOOLS = frozenset({"google_search", "url_context"})
DEFAULT_TOP_K = 3
_WORD = re.compile(r"[a-z0-9]{4,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def live_file(emu: Emulator, file_id: str) -> FileRecord | None:
    """The file, unless it never existed, was deleted or has expired (expired files are dropped)."""
    record = emu.resources.files.get(file_id)
    if record is not None and emu.wall() >= record.expires_wall:
        del emu.resources.files[file_id]
        return None
    return record


def file_state(emu: Emulator, record: FileRecord) -> str:
    return "ACTIVE" if emu.now() >= record.ready_at else "PROCESSING"


def check_references(emu: Emulator, steps: list[JSON]) -> None:
    """Refuse an interaction whose input names a Files API file that is missing, expired or still
    processing (media blocks with a `uri` of this emulator's `/files/{id}` form)."""
    for step in steps:
        for block in step.get("content") or []:
            uri = block.get("uri") if isinstance(block, dict) else None
            match = _URI_FILE.search(uri) if isinstance(uri, str) and "/files/" in uri else None
            if match is None:
                continue
            record = live_file(emu, match.group(1))
            if record is None:
                raise bad_request(
                    f"File files/{match.group(1)} was not found or has expired; upload it again."
                )
            if file_state(emu, record) != "ACTIVE":
                raise bad_request(
                    f"The File files/{record.id} is not in an ACTIVE state and usage is not allowed."
                )


def store_documents(emu: Emulator, store_name: str) -> list[DocumentRecord]:
    prefix = f"{store_name}/documents/"
    return [d for name, d in emu.resources.documents.items() if name.startswith(prefix)]


def document_state(emu: Emulator, doc: DocumentRecord) -> str:
    return "STATE_ACTIVE" if emu.now() >= doc.ready_at else "STATE_PENDING"


def _metadata_object(entries: list[JSON]) -> JSON:
    """A document's customMetadata entries as the citation's object (key -> value), the SDK's shape
    (the docs' sample shows the entry list; clients are told to accept both)."""
    out: JSON = {}
    for entry in entries:
        value = entry.get("stringValue", entry.get("numericValue"))
        if value is None:
            value = (entry.get("stringListValue") or {}).get("values")
        out[str(entry["key"])] = value
    return out


def documents_for(emu: Emulator, tools: list[JSON]) -> tuple[JSON, ...]:
    """The active documents of the stores the request's `file_search` tools name (checked to exist)."""
    searches = [t for t in tools if t.get("type") == "file_search"]
    if not searches:
        return ()
    if any(t.get("type") in _EXCLUSIVE_TOOLS for t in tools):
        raise bad_request("'file_search' cannot be combined with 'google_search' or 'url_context'.")
    found: list[JSON] = []
    for tool in searches:
        names = tool.get("file_search_store_names")
        if not isinstance(names, list) or not names:
            raise bad_request("'file_search_store_names' must list at least one store.")
        for name in names:
            store = emu.resources.stores.get(str(name))
            if store is None:
                raise bad_request(f"File search store '{name}' was not found.")
            found += [
                {
                    "name": d.name,
                    "display_name": d.display_name,
                    "text": d.text,
                    "metadata": _metadata_object(d.custom_metadata),
                }
                for d in store_documents(emu, store.name)
                if document_state(emu, d) == "STATE_ACTIVE"
            ]
    return tuple(found)


def record_written(emu: Emulator, env: EnvironmentRecord, written: Any) -> None:
    """Keep the files a run wrote (path -> text) in its environment."""
    if isinstance(written, dict):
        files = emu.resources.environment_files.setdefault(env.id, {})
        files.update({str(path): str(text).encode() for path, text in written.items()})


def search(documents: tuple[JSON, ...], question: str, top_k: int = DEFAULT_TOP_K) -> tuple[list[JSON], JSON]:
    """The `file_search_call`/`_result` steps and a text block citing the best-matching sentences."""
    words = set(_WORD.findall(question.lower()))
    scored: list[tuple[int, int, JSON, str]] = []
    for order, doc in enumerate(documents):
        for sentence in _SENTENCE.split(doc["text"]):
            hits = len(words & set(_WORD.findall(sentence.lower())))
            if hits and sentence.strip():
                scored.append((hits, -order, doc, sentence.strip()))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    call = call_id()
    steps: list[JSON] = [
        {"type": "file_search_call", "id": call, "signature": signature()},
        {"type": "file_search_result", "call_id": call, "signature": signature()},
    ]
    if not scored:
        text = f"File Search found nothing about that in {len(documents)} document(s)."
        return steps, {"type": "text", "text": text}
    text, annotations = "\nFrom your files:", []
    for _, _, doc, sentence in scored[:top_k]:
        text += f"\n- {doc['display_name']}: "
        start = len(text.encode())
        text += sentence
        citation: JSON = {
            "type": "file_citation",
            "file_name": doc["display_name"],
            "document_uri": doc["name"],
            "source": doc["name"],
            "start_index": start,
            "end_index": len(text.encode()),
        }
        if doc["metadata"]:
            citation["custom_metadata"] = doc["metadata"]
        annotations.append(citation)
    return steps, {"type": "text", "text": text, "annotations": annotations}


def top_k(tools: list[JSON]) -> int:
    for tool in tools:
        if tool.get("type") == "file_search" and isinstance(tool.get("top_k"), int) and tool["top_k"] > 0:
            return int(tool["top_k"])
    return DEFAULT_TOP_K
