"""Output media through MCP: saved files, previews at most 1 MB, resource links readable by their owner."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ImageContent,
    ResourceLink,
    TextContent,
)
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.services.media import APP_FOLDER
from tests.helpers.media import file_bytes, image_size, png_size, saved_files, wav_info
from tests.helpers.principals import ALICE, BOB, connect, http_server
from tests.helpers.results import data
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio
IMAGE_MODEL = "gemini-3.1-flash-image"


def no_base64_outside_previews(result: CallToolResult) -> None:
    """Base64 appears only in preview blocks: never in text or structured content."""
    assert len(json.dumps(result.structured_content)) < 4000
    for block in result.content:
        if isinstance(block, TextContent):
            assert max((len(w) for w in block.text.split()), default=0) < 300, "no base64 in text"


async def read_blob(client: Client, uri: str) -> BlobResourceContents:
    (contents,) = (await client.read_resource(uri)).contents
    assert isinstance(contents, BlobResourceContents)
    return contents


async def test_an_image_answer_is_saved_previewed_and_linked(
    client: Client, settings: ServerSettings
) -> None:
    result = await client.call_tool("ask_gemini", {"prompt": "a red kite over the sea", "model": IMAGE_MODEL})
    kinds = [type(b).__name__ for b in result.content]
    assert kinds == ["TextContent", "ImageContent", "ResourceLink", "TextContent"], kinds
    intro, preview, link, footer = result.content
    assert isinstance(intro, TextContent) and "Generated: 1 image(s)" in intro.text
    (media,) = data(result)["media"]
    saved = Path(media["path"])
    assert saved.parent == settings.allow_dirs[0] / "gemini-output" and saved.suffix == ".png"
    original = file_bytes(saved)
    assert png_size(original) == (1024, 1024) and (media["width"], media["height"]) == (1024, 1024)
    assert media["size"] == len(original) > 1_000_000 and str(saved) in intro.text
    assert isinstance(preview, ImageContent) and preview.mime_type == "image/jpeg"
    shown = base64.b64decode(preview.data)
    assert len(shown) <= 700_000 and image_size(shown) == (1024, 1024), "re-encoded to fit"
    assert isinstance(link, ResourceLink) and link.uri == media["uri"] and link.mime_type == "image/png"
    assert isinstance(footer, TextContent) and "[conversation conv_" in footer.text
    no_base64_outside_previews(result)
    blob = await read_blob(client, media["uri"])
    assert blob.mime_type == "image/png" and base64.b64decode(blob.blob) == original


async def test_several_images_in_one_answer_are_all_kept(client: Client) -> None:
    result = await client.call_tool(
        "ask_gemini", {"prompt": "two blue dots [[images 2]]", "model": "gemini-3-pro-image"}
    )
    kinds = [type(b).__name__ for b in result.content]
    assert kinds == ["TextContent", "ImageContent", "ResourceLink"] * 2 + ["TextContent"], kinds
    first, second = data(result)["media"]
    assert first["uri"] != second["uri"]
    assert file_bytes(first["path"]) != file_bytes(second["path"])


async def test_speech_is_a_playable_wav(client: Client) -> None:
    result = await client.call_tool(
        "ask_gemini", {"prompt": "Hello from the speech model.", "model": "gemini-3.1-flash-tts-preview"}
    )
    (audio,) = [b for b in result.content if isinstance(b, AudioContent)]
    assert audio.mime_type == "audio/wav"
    info = wav_info(base64.b64decode(audio.data))
    assert (info.channels, info.rate, info.sample_width) == (1, 24000, 2) and 0.5 < info.seconds < 5
    (media,) = data(result)["media"]
    assert media["mime_type"] == "audio/wav" and media["seconds"] == pytest.approx(info.seconds, abs=0.01)
    blob = await read_blob(client, media["uri"])
    assert blob.mime_type == "audio/wav" and wav_info(base64.b64decode(blob.blob)) == info


async def test_unknown_media_is_invalid_params(client: Client) -> None:
    with pytest.raises(MCPError) as caught:
        await client.read_resource("gemini://media/m_nothing_here")
    assert caught.value.error.code == -32602


async def media_of(c: Client, prompt: str) -> dict[str, Any]:
    """Speech, whose file is small enough for any transport (an HTTP client may refuse a server-sent
    event over 1 MiB, which a large image's base64 exceeds)."""
    result = await c.call_tool("ask_gemini", {"prompt": prompt, "model": "gemini-3.1-flash-tts-preview"})
    (media,) = data(result)["media"]
    return dict(media)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_media_belong_to_their_owner_over_http(
    live_emulator: ServerThread,
    emulator: Starlette,
    tmp_path: Path,
    mode: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_home = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    with http_server(live_emulator.url, tmp_path) as server:
        async with connect(server, ALICE, mode) as alice:
            mine = await media_of(alice, "a green hill")
            assert "path" not in mine, "over HTTP files are served as resources only"
            assert (await read_blob(alice, mine["uri"])).mime_type == "audio/wav"
        async with connect(server, BOB, mode) as bob:
            errors = []
            for uri in (mine["uri"], "gemini://media/m_unknown"):
                with pytest.raises(MCPError) as caught:
                    await bob.read_resource(uri)
                errors.append((caught.value.error.code, caught.value.error.message.replace(uri[15:], "X")))
            assert errors[0] == errors[1], "someone else's media reads like unknown media"
    assert not saved_files(tmp_path, "**/*.wav"), "nothing written into the served folder over HTTP"
    (kept,) = saved_files(data_home, "**/*.wav")
    assert kept.parent == data_home / APP_FOLDER / "media", "kept in the user data folder"


async def test_the_output_dir_setting_decides_where_files_go(emulator: Starlette, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    settings = ServerSettings(state="memory", allow_dirs=(tmp_path,), output_dir=chosen)
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as client:
        result = await client.call_tool(
            "ask_gemini", {"prompt": "Hello.", "model": "gemini-3.1-flash-tts-preview"}
        )
    (media,) = data(result)["media"]
    assert Path(media["path"]).parent == chosen and saved_files(chosen) == [Path(media["path"])]
    assert not (tmp_path / "gemini-output").exists()
