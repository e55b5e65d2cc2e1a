"""The Files, File Search and sandbox-file clients against the in-process emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.gemini import (
    FilesAPI,
    FileSearchAPI,
    InteractionsClient,
    SandboxFilesAPI,
    TransportError,
    UploadInterruptedError,
)
from gemini_interactions_mcp.gemini.files import resource_path
from gemini_interactions_mcp.gemini.sandbox import CHUNK_BYTES

from .conftest import Clock, Emu, mock_client

pytestmark = pytest.mark.anyio
DATA = bytes(range(256)) * 40  # 10,240 bytes: five chunks of 2,048


def reader(data: bytes) -> Any:
    async def read(offset: int, size: int) -> bytes:
        return data[offset : offset + size]

    return read


async def upload_requests(emu: Emu) -> list[dict[str, Any]]:
    return [r for r in await emu.requests() if r["path"].startswith("/upload/")]


async def test_upload_in_chunks_with_progress(client: InteractionsClient, emu: Emu) -> None:
    files = FilesAPI(client, chunk_bytes=2048)
    seen: list[tuple[int, int]] = []

    async def progress(sent: int, total: int) -> None:
        seen.append((sent, total))

    uploaded = await files.upload(
        size=len(DATA),
        mime_type="application/pdf",
        read=reader(DATA),
        display_name="doc.pdf",
        progress=progress,
    )
    assert uploaded.name.startswith("files/") and uploaded.size_bytes == len(DATA)
    assert uploaded.state == "ACTIVE" and uploaded.display_name == "doc.pdf" and uploaded.uri
    assert seen == [(2048 * i, len(DATA)) for i in range(1, 6)]
    chunks = [r for r in await upload_requests(emu) if "upload_id" in r["query"]]
    assert [r["body"] for r in chunks] == [{"bytes": 2048}] * 5
    assert (await files.get(uploaded.name)).sha256_hash == uploaded.sha256_hash
    page = await files.list(page_size=10)
    assert [f.name for f in page.files] == [uploaded.name]
    await files.delete(uploaded.name)
    assert (await files.list()).files == []


async def test_a_failed_chunk_resumes_from_what_arrived(client: InteractionsClient, emu: Emu) -> None:
    files = FilesAPI(client, chunk_bytes=2048)
    url = await files.uploads.start("/files", size=len(DATA), mime_type="text/plain", metadata={"file": {}})
    await emu.clear_requests()
    await emu.fault(kind="error", status=500, method="POST", path="/upload/", count=1)
    body = await files.uploads.send(url, size=len(DATA), read=reader(DATA))
    assert body["file"]["sizeBytes"] == str(len(DATA))
    bodies = [r["body"] for r in await upload_requests(emu)]
    assert bodies == [{"bytes": 2048}, None] + [{"bytes": 2048}] * 5, "failed chunk, query, then on"


async def test_interrupted_upload_resumes_later_without_resending(
    client: InteractionsClient, emu: Emu
) -> None:
    files = FilesAPI(client, chunk_bytes=2048)
    sent = 0

    async def stop_after_two_chunks(offset: int, size: int) -> bytes:
        nonlocal sent
        if offset >= 4096:
            await emu.fault(kind="error", status=503, method="POST", path="/upload/", count=50)
        sent += size
        return DATA[offset : offset + size]

    with pytest.raises(UploadInterruptedError) as caught:
        await files.upload(size=len(DATA), mime_type="text/plain", read=stop_after_two_chunks)
    interrupted = caught.value
    assert interrupted.received == 4096 and interrupted.total == len(DATA)
    await emu.admin.delete("/_emulator/faults")
    resumed = await files.upload(
        size=len(DATA), mime_type="text/plain", read=reader(DATA), resume_url=interrupted.upload_url
    )
    assert resumed.size_bytes == len(DATA)
    app_files = (await emu.admin.get("/v1beta/files")).json()["files"]
    assert len(app_files) == 1, "one file, not a second upload"


async def test_file_search_store_lifecycle(client: InteractionsClient) -> None:
    stores = FileSearchAPI(client)
    store = await stores.create_store("Handbook")
    operation = await stores.upload_document(
        store.name,
        size=len(b"Holidays are 25 days a year."),
        mime_type="text/plain",
        read=reader(b"Holidays are 25 days a year."),
        display_name="hr.txt",
        custom_metadata=[{"key": "team", "stringValue": "HR"}],
    )
    with anyio.fail_after(5):
        while not operation.done:
            await anyio.sleep(0.05)
            operation = await stores.get_operation(operation.name)
    assert operation.document_name and operation.document_name.startswith(f"{store.name}/documents/")
    docs = await stores.list_documents(store.name)
    assert [(d.display_name, d.state) for d in docs.documents] == [("hr.txt", "STATE_ACTIVE")]
    assert docs.documents[0].custom_metadata == [{"key": "team", "stringValue": "HR"}]
    listed = await stores.list_stores()
    assert [s.name for s in listed.file_search_stores] == [store.name]
    assert (await stores.get_store(store.name)).active_documents_count == 1
    await stores.delete_document(operation.document_name)
    await stores.delete_store(store.name)
    assert (await stores.list_stores()).file_search_stores == []


async def test_sandbox_files(client: InteractionsClient) -> None:
    env = {"type": "remote", "sources": [{"type": "inline", "content": "hi", "target": "/workspace/a.txt"}]}
    run = await client.create(
        {"agent": "antigravity-preview-05-2026", "input": "go", "environment": env, "background": True}
    )
    assert run.environment_id
    sandbox = SandboxFilesAPI(client)
    listing = await sandbox.list(run.environment_id, "/workspace", recursive=True)
    assert "workspace/a.txt" in [f.path for f in listing.files]
    assert {f.type for f in listing.files} == {"file", "directory"}
    chunks = [c async for c in sandbox.download(f"environments/{run.environment_id}", "/workspace/a.txt")]
    assert b"".join(chunks) == b"hi"


async def test_a_sandbox_file_arrives_in_bounded_chunks(clock: Clock) -> None:
    """A file is handed over as it arrives, never whole; with the JSON Accept of a plain call, and asked
    for uncompressed (a compressed piece would be decoded whole, up to a thousand times its size)."""
    body = bytes(range(256)) * (CHUNK_BYTES // 256 * 3 + 1)
    seen: list[httpx2.Request] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, content=body, headers={"content-type": "application/octet-stream"})

    async with mock_client(serve, clock) as client:
        chunks = [c async for c in SandboxFilesAPI(client).download("env_1", "workspace/big.bin")]
    assert b"".join(chunks) == body and len(chunks) == 4 and max(map(len, chunks)) == CHUNK_BYTES
    assert seen[0].headers["accept"] == "application/json" and seen[0].url.params["alt"] == "media"
    assert seen[0].headers["accept-encoding"] == "identity"


async def test_a_download_cut_part_way_is_an_error(clock: Clock) -> None:
    async def cut() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")

    async with mock_client(lambda request: httpx2.Response(200, content=cut()), clock) as client:
        with pytest.raises(TransportError, match=r"workspace/a\.bin"):
            async for _ in SandboxFilesAPI(client).download("env_1", "workspace/a.bin"):
                pass


def test_resource_paths_are_quoted_and_stay_inside_their_collection() -> None:
    assert resource_path("files/abc", "files") == "/files/abc"
    assert resource_path("abc", "files") == "/files/abc"
    assert (
        resource_path("fileSearchStores/s/documents/d", "fileSearchStores")
        == "/fileSearchStores/s/documents/d"
    )
    assert resource_path("a b?c", "files") == "/files/a%20b%3Fc"
    for bad in ("../agents", "files/..", "a//b", ""):
        with pytest.raises(ValueError, match="resource name"):
            resource_path(bad, "files")


def test_file_citation_metadata_parses_as_object_or_entry_list() -> None:
    from gemini_interactions_mcp.gemini import Interaction

    for metadata in ({"author": "Ada"}, [{"key": "author", "string_value": "Ada"}]):
        citation = {"type": "file_citation", "file_name": "a.txt", "custom_metadata": metadata}
        block = {"type": "text", "text": "x", "annotations": [citation]}
        parsed = Interaction.model_validate(
            {"id": "v1_x", "steps": [{"type": "model_output", "content": [block]}]}
        )
        assert parsed.wire()["steps"][0]["content"][0]["annotations"][0]["custom_metadata"] == metadata
