"""Large inputs go through the Files API: uploaded once in chunks, referenced by uri, reused, resumed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig, RetryPolicy
from tests.helpers.media import file_bytes
from tests.helpers.results import data, text_of

pytestmark = pytest.mark.anyio
MIB = 1024 * 1024
SIZE = 30 * MIB
FAST_RETRIES = RetryPolicy(max_attempts=2, initial_delay=0.01, jitter=0.0)


@pytest.fixture
def big_pdf(settings: ServerSettings) -> Path:
    path = settings.allow_dirs[0] / "big.pdf"
    block = b"%PDF-1.7\n" + bytes(range(256)) * 4096
    with path.open("wb") as handle:
        for _ in range(SIZE // len(block)):
            handle.write(block)
        handle.write(b"\0" * (SIZE % len(block)))
    return path


@pytest.fixture
async def fast_client(emulator: Starlette, settings: ServerSettings) -> AsyncIterator[Client]:
    config = ClientConfig(base_url="http://emulator.local", api_key=None, retry=FAST_RETRIES)
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator), client_config=config)
    async with Client(server, raise_exceptions=True) as client:
        yield client


def uploads(emulator: Starlette) -> list[dict[str, Any]]:
    return [r for r in emulator.state.emulator.requests() if r["path"].startswith("/upload/")]


def creates(emulator: Starlette) -> list[dict[str, Any]]:
    log = emulator.state.emulator.requests()
    return [r["body"] for r in log if r["method"] == "POST" and r["path"].endswith("/interactions")]


async def test_a_30_mb_file_is_uploaded_once_and_reused(
    client: Client, emulator: Starlette, big_pdf: Path
) -> None:
    notes: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    first = await client.call_tool(
        "ask_gemini", {"prompt": "Summarise it.", "files": [str(big_pdf)]}, progress_callback=on_progress
    )
    assert not first.is_error, text_of(first)
    sent = uploads(emulator)
    start, *chunks = sent
    assert "upload_id" not in start["query"] and start["body"] == {"file": {"display_name": "big.pdf"}}
    assert [c["body"]["bytes"] for c in chunks] == [8 * MIB, 8 * MIB, 8 * MIB, 6 * MIB]
    [body] = creates(emulator)
    document = body["input"][0]["content"][1]
    assert document["type"] == "document" and document["mime_type"] == "application/pdf"
    assert "data" not in document and document["uri"].endswith("/files/" + document["uri"].rsplit("/", 1)[1])
    assert any("big.pdf" in n and "30.0 MB" in n for n in notes), "the upload reports progress"

    second = data(await client.call_tool("ask_gemini", {"prompt": "Again.", "files": [str(big_pdf)]}))
    assert second["status"] == "completed"
    assert len(uploads(emulator)) == len(sent), "no second upload"
    again = creates(emulator)[1]["input"][0]["content"][1]
    assert again["uri"] == document["uri"]
    file_reads = [
        r for r in emulator.state.emulator.requests() if r["method"] == "GET" and "/files/" in r["path"]
    ]
    assert len(file_reads) == 1, "one metadata check instead of 30 MB"


async def test_an_expired_upload_is_sent_again(client: Client, emulator: Starlette, big_pdf: Path) -> None:
    data(await client.call_tool("ask_gemini", {"prompt": "One.", "files": [str(big_pdf)]}))
    emu = emulator.state.emulator
    for record in emu.resources.files.values():
        record.expires_wall = emu.wall() - 1
    data(await client.call_tool("ask_gemini", {"prompt": "Two.", "files": [str(big_pdf)]}))
    starts = [r for r in uploads(emulator) if "upload_id" not in r["query"]]
    assert len(starts) == 2
    first, second = (b["input"][0]["content"][1]["uri"] for b in creates(emulator))
    assert first != second


async def test_an_interrupted_upload_resumes_where_it_stopped(
    fast_client: Client, emulator: Starlette, big_pdf: Path
) -> None:
    emulator.state.emulator.add_fault(
        {"kind": "error", "status": 503, "method": "POST", "path": "upload_id", "skip": 2, "count": 3}
    )
    stopped = await fast_client.call_tool("ask_gemini", {"prompt": "Read.", "files": [str(big_pdf)]})
    assert stopped.is_error and "stopped at 16.0 of 30.0 MB" in text_of(stopped)
    assert "goes on from there" in text_of(stopped) and not creates(emulator)
    before = len(uploads(emulator))
    done = data(await fast_client.call_tool("ask_gemini", {"prompt": "Read.", "files": [str(big_pdf)]}))
    assert done["status"] == "completed"
    resumed = uploads(emulator)[before:]
    assert [r["body"] for r in resumed] == [None, {"bytes": 8 * MIB}, {"bytes": 6 * MIB}], (
        "a query, then only the two chunks that had not arrived: no new session, nothing resent"
    )
    (stored,) = emulator.state.emulator.resources.files.values()
    assert stored.data == file_bytes(big_pdf)


async def test_over_the_upload_cap_is_refused(
    emulator: Starlette, settings: ServerSettings, big_pdf: Path
) -> None:
    capped = settings.model_copy(update={"max_upload_mb": 25.0})
    async with Client(build_server(capped, transport=httpx2.ASGITransport(app=emulator))) as client:
        result = await client.call_tool("ask_gemini", {"prompt": "x", "files": [str(big_pdf)]})
    assert result.is_error and "over the 25 MB limit per file" in text_of(result)
    assert not uploads(emulator)


MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(2000)


async def test_clip_options_reach_the_wire_inline_and_uploaded(
    emulator: Starlette, settings: ServerSettings
) -> None:
    (settings.allow_dirs[0] / "talk.mp4").write_bytes(MP4)
    (settings.allow_dirs[0] / "notes#1.txt").write_text("A hash in a name.")
    small_cap = settings.model_copy(update={"max_file_mb": 0.001})
    for config in (settings, small_cap):
        async with Client(build_server(config, transport=httpx2.ASGITransport(app=emulator))) as client:
            result = await client.call_tool(
                "ask_gemini",
                {"prompt": "Summarise.", "files": ["talk.mp4#t=10,30&fps=2&res=low", "notes#1.txt"]},
            )
            assert not result.is_error, text_of(result)
    inline, uploaded = (body["input"][0]["content"] for body in creates(emulator))
    for video in (inline[1], uploaded[1]):
        assert video["type"] == "video" and video["resolution"] == "low"
        assert video["processing"] == {"type": "static", "fps": 2, "start_offset": "10s", "end_offset": "30s"}
    assert "data" in inline[1] and "uri" in uploaded[1], "the same options on an uploaded video"
    assert inline[2]["text"].endswith("A hash in a name.")


async def test_clip_options_on_a_document_are_refused(client: Client, settings: ServerSettings) -> None:
    (settings.allow_dirs[0] / "a.pdf").write_bytes(b"%PDF-1.7\n")
    result = await client.call_tool("ask_gemini", {"prompt": "x", "files": ["a.pdf#t=1,2"]})
    assert result.is_error and "apply to video" in text_of(result)
