"""FileUploader: uploads remembered per owner (one principal never reuses, or learns of, another's) until
the file's last hour, and referenced only once the Files API made them ACTIVE."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, FilesAPI, InteractionsClient
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.uploads import FileUploader
from gemini_interactions_mcp.state import MemoryStore, ResourceRecord
from gemini_interactions_mcp.wiring import prune_periodically
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.7\n" + bytes(5000)


@asynccontextmanager
async def files_api(app: Starlette) -> AsyncIterator[FilesAPI]:
    config = ClientConfig(base_url="http://emulator.local", api_key=None)
    async with InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client:
        yield FilesAPI(client)


def upload_starts(app: Starlette) -> list[dict[str, Any]]:
    return [r for r in app.state.emulator.requests() if r["path"].startswith("/upload/") and not r["query"]]


async def blocks_for(app: Starlette, folder: Path, *owners: str) -> list[dict[str, Any]]:
    """The blocks of one PDF sent by each owner in turn, through one uploader."""
    path = folder / "report.pdf"
    path.write_bytes(PDF)
    async with files_api(app) as files:
        uploader = FileUploader(store=MemoryStore(), files=files)
        return [await uploader.block(owner, None, path, "report.pdf", len(PDF)) for owner in owners]


async def test_uploads_are_reused_per_owner_only(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig())
    alice, again, bob = await blocks_for(app, tmp_path, "alice", "alice", "bob")
    assert alice == again and alice["type"] == "document" and alice["mime_type"] == "application/pdf"
    assert bob["uri"] != alice["uri"], "bob's upload is his own"
    assert len(upload_starts(app)) == 2


async def test_an_upload_in_its_last_hour_is_not_reused(tmp_path: Path) -> None:
    """A conversation may go on for a while: a file about to expire upstream is sent again instead."""
    app = create_app(EmulatorConfig(file_ttl_seconds=1800))  # every upload lives 30 minutes
    first, second = await blocks_for(app, tmp_path, "alice", "alice")
    assert first["uri"] != second["uri"]
    assert len(upload_starts(app)) == 2


async def test_a_video_is_referenced_once_processing_made_it_active(tmp_path: Path) -> None:
    """Videos stay PROCESSING for a while after the upload, and a reference before ACTIVE is refused."""
    app = create_app(EmulatorConfig(file_processing_seconds=0.3))
    path = tmp_path / "talk.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(5000))
    async with files_api(app) as files:
        block = await FileUploader(store=MemoryStore(), files=files).block(
            "alice", None, path, "talk.mp4", 5012
        )
        (uploaded,) = (await files.list()).files
    assert block["type"] == "video" and block["uri"] == uploaded.uri and uploaded.state == "ACTIVE"
    gets = [r for r in app.state.emulator.requests() if r["method"] == "GET" and "/files/" in r["path"]]
    assert gets, "it asked until the file was ACTIVE"


async def test_a_file_that_grew_after_it_was_measured_is_remembered_by_what_was_sent(tmp_path: Path) -> None:
    """A recording still being written: the upload sends the bytes measured, so only those may name it;
    once the file is complete it is a different file, uploaded again rather than served truncated."""
    app = create_app(EmulatorConfig())
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF + b"the rest")
    async with files_api(app) as files:
        uploader = FileUploader(store=MemoryStore(), files=files)
        partial = await uploader.block("alice", None, path, "report.pdf", len(PDF))
        complete = await uploader.block("alice", None, path, "report.pdf", len(PDF) + 8)
    assert partial["uri"] != complete["uri"]
    assert len(upload_starts(app)) == 2


async def test_the_hourly_prune_forgets_uploads_the_files_api_has_deleted(tmp_path: Path) -> None:
    """Bytes never sent again are never looked up again: their records must not stay for ever."""
    store, now = MemoryStore(), time.time()
    for name, hours_old in (("gone", 49), ("kept", 47)):
        await store.put_resource(
            ResourceRecord(owner="alice", kind="upload", id=name, created=now - hours_old * 3600)
        )
    library = MediaLibrary(store, output_dir=tmp_path / "media", allowed_dirs=[], show_paths=False)

    async def forgotten() -> bool:
        return [r.id for r in await store.list_resources("alice", "upload")] == ["kept"]

    async with anyio.create_task_group() as group:
        group.start_soon(prune_periodically, store, library, 55)
        await async_wait_until(forgotten, what="the 49 h old upload forgotten")
        group.cancel_scope.cancel()
