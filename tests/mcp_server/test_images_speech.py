"""generate_image and speak through MCP: what goes over the wire, and files that decode."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import AudioContent, ImageContent, TextResourceContents
from starlette.applications import Starlette

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator.media import top_colour
from tests.helpers.media import file_bytes, png_size, wav_info
from tests.helpers.results import data, text_of

from .conftest import requests_log

pytestmark = pytest.mark.anyio


async def image(client: Client, **arguments: Any) -> Any:
    return await client.call_tool("generate_image", arguments)


async def test_size_and_ratio_reach_the_wire_and_the_file(client: Client, emulator: Starlette) -> None:
    result = await image(client, prompt="a yellow field", aspect_ratio="16:9", image_size="512")
    [body] = [r["body"] for r in requests_log(emulator)]
    assert body["model"] == "gemini-3.1-flash-image"
    assert body["response_format"] == [
        {"type": "text"},
        {"type": "image", "aspect_ratio": "16:9", "image_size": "512"},
    ]
    (media,) = data(result)["media"]
    width, height = png_size(file_bytes(media["path"]))
    assert (width, height) == (media["width"], media["height"]) and abs(width / height - 16 / 9) < 0.05
    (preview,) = [b for b in result.content if isinstance(b, ImageContent)]
    assert preview.mime_type == "image/png" and base64.b64decode(preview.data) == file_bytes(media["path"])


async def test_editing_continues_the_conversation_on_the_wire(client: Client, emulator: Starlette) -> None:
    first = data(await image(client, prompt="a blue lake", image_size="512"))
    second = await image(
        client, prompt="make it darker", conversation=first["conversation"], image_size="512"
    )
    assert "Edited the previous image" in text_of(second) and "turn 2" in text_of(second)
    bodies = [r["body"] for r in requests_log(emulator)]
    assert bodies[1]["previous_interaction_id"] == first["interaction_id"]
    assert bodies[1]["input"] == "make it darker", "the first image stays server-side, nothing re-sent"
    before = top_colour(file_bytes(first["media"][0]["path"]))
    after = top_colour(file_bytes(data(second)["media"][0]["path"]))
    assert before is not None and after is not None and sum(after) < 0.75 * sum(before)
    third = data(
        await image(client, prompt="now lighter", conversation=first["conversation"], image_size="512")
    )
    assert (
        third["turn"] == 3
        and requests_log(emulator)[2]["body"]["previous_interaction_id"] == data(second)["interaction_id"]
    )


async def test_a_local_image_is_edited(client: Client, emulator: Starlette, settings: ServerSettings) -> None:
    source = settings.allow_dirs[0] / "photo.png"
    source.write_bytes(
        file_bytes(data(await image(client, prompt="a red roof", image_size="512"))["media"][0]["path"])
    )
    edited = await image(client, prompt="make it darker", files=[str(source)], image_size="512")
    assert "Edited your image" in text_of(edited)
    body = requests_log(emulator)[-1]["body"]
    assert body["input"][0]["content"][1]["type"] == "image"


async def test_deprecated_image_model_is_substituted_and_text_models_refused(
    client: Client, emulator: Starlette
) -> None:
    answer = await image(client, prompt="a cat", model="gemini-2.5-flash-image", image_size="512")
    result = data(answer)
    assert result["model"] == "gemini-3.1-flash-image"
    assert any("gemini-2.5-flash-image is deprecated" in n for n in result["notes"])
    assert "gemini-2.5-flash-image is deprecated" in text_of(answer), "the model reads it too"
    assert requests_log(emulator)[-1]["body"]["model"] == "gemini-3.1-flash-image"
    refused = await image(client, prompt="a cat", model="gemini-3.5-flash")
    assert refused.is_error and "does not make images" in text_of(refused)


async def test_speak_one_voice_with_a_style(client: Client, emulator: Starlette) -> None:
    result = await client.call_tool(
        "speak", {"text": "Have a wonderful day!", "voice": "Puck", "style": "cheerfully"}
    )
    [body] = [r["body"] for r in requests_log(emulator)]
    assert body["model"] == "gemini-3.1-flash-tts-preview" and body["response_format"] == {"type": "audio"}
    assert body["generation_config"] == {"speech_config": [{"voice": "Puck"}]}
    assert body["input"] == "Say cheerfully:\nHave a wonderful day!"
    (media,) = data(result)["media"]
    info = wav_info(file_bytes(media["path"]))
    assert (info.rate, info.channels, info.sample_width) == (24000, 1, 2) and info.seconds > 0.5
    assert Path(media["path"]).suffix == ".wav"
    (audio,) = [b for b in result.content if isinstance(b, AudioContent)]
    assert base64.b64decode(audio.data) == file_bytes(media["path"])


async def test_a_deprecated_speech_model_is_substituted_with_a_note(
    client: Client, emulator: Starlette
) -> None:
    result = await client.call_tool(
        "speak", {"text": "Hello there.", "model": "gemini-2.5-flash-preview-tts"}
    )
    assert data(result)["model"] == "gemini-3.1-flash-tts-preview"
    assert "gemini-2.5-flash-preview-tts is deprecated" in text_of(result)
    assert requests_log(emulator)[-1]["body"]["model"] == "gemini-3.1-flash-tts-preview"
    assert wav_info(file_bytes(data(result)["media"][0]["path"])).seconds > 0.1


async def test_speak_two_speakers(client: Client, emulator: Starlette) -> None:
    script = "Joe: How was the trip?\nJane: Long, but worth it."
    result = await client.call_tool(
        "speak", {"text": script, "speakers": {"Joe": "Kore", "Jane": "Puck"}, "language": "en-US"}
    )
    [body] = [r["body"] for r in requests_log(emulator)]
    assert body["generation_config"]["speech_config"] == [
        {"speaker": "Joe", "voice": "Kore", "language": "en-US"},
        {"speaker": "Jane", "voice": "Puck", "language": "en-US"},
    ]
    assert data(result)["voices"] == {"Joe": "Kore", "Jane": "Puck"}
    saved = file_bytes(data(result)["media"][0]["path"])
    assert wav_info(saved).seconds > 1
    # It streamed in pieces of at most a second: every piece is in the file, in order.
    record = emulator.state.emulator.store.interactions[data(result)["interaction_id"]]
    (audio,) = [b for step in record.timeline() for b in step.get("content") or [] if b["type"] == "audio"]
    assert saved[44:] == base64.b64decode(audio["data"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"voice": "Nobody"}, "gemini://voices"),
        ({"speakers": {"Ann": "Kore"}}, "Speaker 'Ann' has no line"),
        ({"speakers": {"A": "Kore", "B": "Puck", "C": "Leda"}}, "At most 2 speakers"),
        ({"voice": "Kore", "speakers": {"A": "Kore"}}, "not both"),
        ({"model": "gemini-3.5-flash"}, "does not speak"),
    ],
)
async def test_speak_refuses_clearly(
    client: Client, emulator: Starlette, arguments: dict[str, Any], message: str
) -> None:
    result = await client.call_tool("speak", {"text": "A: hi\nB: yo\nC: hey", **arguments})
    assert result.is_error and message in text_of(result)
    assert not requests_log(emulator), "refused before the wire"


async def test_voices_resource(client: Client) -> None:
    (contents,) = (await client.read_resource("gemini://voices")).contents
    assert isinstance(contents, TextResourceContents)
    assert contents.text.count("\n- ") == 30 and "Kore: firm" in contents.text


async def test_an_unknown_aspect_ratio_is_refused_clearly(client: Client, emulator: Starlette) -> None:
    result = await image(client, prompt="a cat", aspect_ratio="7:3")
    assert result.is_error and "use one of 1:1, 2:3" in text_of(result)
    assert not requests_log(emulator)
