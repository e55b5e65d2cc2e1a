"""The resumable upload protocol, file expiry, File Search rules and sandbox folders, on the raw wire."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio


async def start_upload(client: httpx2.AsyncClient, size: int, mime: str = "text/plain", **file: Any) -> str:
    response = await client.post(
        "/upload/v1beta/files",
        json={"file": file},
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-goog-upload-status"] == "active"
    return response.headers["x-goog-upload-url"]


async def send(
    client: httpx2.AsyncClient, url: str, command: str, offset: int, data: bytes
) -> httpx2.Response:
    headers = {"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)}
    return await client.post(url, content=data, headers=headers)


async def test_resumable_upload_resumes_from_the_queried_offset(
    client: httpx2.AsyncClient, emulator: Emulator
) -> None:
    url = await start_upload(client, 10, display_name="ten")
    assert (await send(client, url, "upload", 0, b"01234")).headers["x-goog-upload-status"] == "active"
    wrong = await send(client, url, "upload", 0, b"01234")
    assert wrong.status_code == 400 and wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "5 bytes have been received" in wrong.json()["error"]["message"]
    query = await client.post(url, headers={"X-Goog-Upload-Command": "query"})
    assert query.headers["x-goog-upload-size-received"] == "5"
    short = await send(client, url, "finalize", 5, b"")
    assert short.status_code == 400 and "received 5 of 10" in short.json()["error"]["message"]
    done = await send(client, url, "upload, finalize", 5, b"56789")
    assert done.headers["x-goog-upload-status"] == "final"
    file = done.json()["file"]
    assert file["sizeBytes"] == "10" and file["displayName"] == "ten" and file["state"] == "ACTIVE"
    (record,) = emulator.resources.files.values()
    assert record.data == b"0123456789"
    assert (await send(client, url, "upload", 10, b"x")).status_code == 404, "the session is gone"


async def test_upload_refusals(client: httpx2.AsyncClient) -> None:
    no_start = await client.post("/upload/v1beta/files", headers={"X-Goog-Upload-Protocol": "resumable"})
    assert no_start.status_code == 400
    url = await start_upload(client, 3)
    too_much = await send(client, url, "upload", 0, b"abcd")
    assert too_much.status_code == 400 and "announced" in too_much.json()["error"]["message"]
    cancelled = await client.post(url, headers={"X-Goog-Upload-Command": "cancel"})
    assert cancelled.headers["x-goog-upload-status"] == "cancelled"
    await send(client, await start_upload(client, 1, name="files/mine"), "upload, finalize", 0, b"x")
    taken = await client.post(
        "/upload/v1beta/files",
        json={"file": {"name": "files/mine"}},
        headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"},
    )
    assert taken.status_code == 409


async def test_files_expire_and_are_refused_after(client: httpx2.AsyncClient, emulator: Emulator) -> None:
    url = await start_upload(client, 4, mime="application/pdf")
    file = (await send(client, url, "upload, finalize", 0, b"%PDF")).json()["file"]
    block = {"type": "document", "uri": file["uri"], "mime_type": "application/pdf"}
    ok = await client.post("/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": [block]})
    assert ok.status_code == 200
    emulator.resources.files[file["name"].removeprefix("files/")].expires_wall = emulator.wall() - 1
    assert (await client.get(f"/v1beta/{file['name']}")).status_code == 404
    assert (await client.get("/v1beta/files")).json() == {"files": []}
    gone = await client.post("/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": [block]})
    assert gone.status_code == 400 and "upload it again" in gone.json()["error"]["message"]


async def test_file_search_rules(client: httpx2.AsyncClient) -> None:
    store = (await client.post("/v1beta/fileSearchStores", json={"displayName": "S"})).json()
    tools = [
        {"type": "file_search", "file_search_store_names": [store["name"]]},
        {"type": "google_search"},
    ]
    mixed = await client.post(
        "/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": "q", "tools": tools}
    )
    assert mixed.status_code == 400 and "cannot be combined" in mixed.text
    unknown = [{"type": "file_search", "file_search_store_names": ["fileSearchStores/nope"]}]
    missing = await client.post(
        "/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": "q", "tools": unknown}
    )
    assert missing.status_code == 400 and "nope" in missing.text
    empty = await client.post(
        "/v1beta/interactions",
        json={"model": "gemini-3.5-flash", "input": "anything at all?", "tools": tools[:1]},
    )
    assert "found nothing" in empty.text
    assert (await client.get(f"/v1beta/{store['name']}")).json()["activeDocumentsCount"] == "0"
    assert (await client.delete(f"/v1beta/{store['name']}")).status_code == 200, "empty: no force needed"


async def test_sandbox_folders(client: httpx2.AsyncClient) -> None:
    env = {"type": "remote", "sources": [{"type": "inline", "content": "x", "target": "/workspace/src/a.py"}]}
    run = await client.post(
        "/v1beta/interactions",
        json={"agent": "antigravity-preview-05-2026", "input": "go", "environment": env, "background": True},
    )
    env_id = run.json()["environment_id"]
    top = (await client.get(f"/v1beta/environments/{env_id}/files/workspace")).json()["files"]
    assert [(f["path"], f["type"]) for f in top] == [
        ("workspace/notes", "directory"),
        ("workspace/src", "directory"),
    ]
    deep = (await client.get(f"/v1beta/environments/{env_id}/files/workspace?recursive=true")).json()["files"]
    assert ("workspace/src/a.py", "file", "1") in [(f["path"], f["type"], f["size_bytes"]) for f in deep]
    folder = await client.get(f"/v1beta/environments/{env_id}/files/workspace/src?alt=media")
    assert folder.status_code == 404
    assert (await client.get(f"/v1beta/environments/{env_id}/files/nothing")).status_code == 404
    raw = await client.get(f"/v1beta/environments/{env_id}/files/workspace/src/a.py?alt=media")
    assert raw.content == b"x"
