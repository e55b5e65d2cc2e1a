"""FileUploader: uploads are remembered per owner, so one principal never reuses (or learns of) another's."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, FilesAPI, InteractionsClient
from gemini_interactions_mcp.services.uploads import FileUploader
from gemini_interactions_mcp.state import MemoryStore

pytestmark = pytest.mark.anyio


async def test_uploads_are_reused_per_owner_only(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig())
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(5000))
    config = ClientConfig(base_url="http://emulator.local", api_key=None)
    async with InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client:
        uploader = FileUploader(store=MemoryStore(), files=FilesAPI(client))
        alice = await uploader.block("alice", None, path, "report.pdf", 5009)
        again = await uploader.block("alice", None, path, "report.pdf", 5009)
        bob = await uploader.block("bob", None, path, "report.pdf", 5009)
    assert alice == again and alice["type"] == "document" and alice["mime_type"] == "application/pdf"
    assert bob["uri"] != alice["uri"], "bob's upload is his own"
    starts = [r for r in app.state.emulator.requests() if r["path"].startswith("/upload/") and not r["query"]]
    assert len(starts) == 2
