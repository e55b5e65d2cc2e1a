"""Image and speech models, and Deep Research charts: valid media whose shape follows the request."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import media
from tests.helpers.media import b64, png_size

pytestmark = pytest.mark.anyio
IMAGE_MODEL = "gemini-3.1-flash-image"
TTS_MODEL = "gemini-3.1-flash-tts-preview"
RESEARCH = "deep-research-preview-04-2026"
SSE = Callable[[str], list[tuple[str, Any]]]


async def create(client: httpx2.AsyncClient, expect: int = 200, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1beta/interactions", json=body)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def blocks(interaction: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    out = [b for s in interaction["steps"] if s["type"] == "model_output" for b in s.get("content", [])]
    return [b for b in out if kind is None or b["type"] == kind]


@pytest.mark.parametrize(
    ("ratio", "size"), [("1:1", "512"), ("16:9", "1K"), ("9:16", "1K"), ("21:9", "512"), ("1:4", "1K")]
)
async def test_image_size_follows_aspect_ratio_and_size(
    client: httpx2.AsyncClient, ratio: str, size: str
) -> None:
    body = await create(
        client,
        model=IMAGE_MODEL,
        input="a red kite over the sea",
        response_format={"type": "image", "aspect_ratio": ratio, "image_size": size},
    )
    (image,) = blocks(body, "image")
    assert image["mime_type"] == "image/png"
    width, height = png_size(b64(image["data"]))
    w_part, h_part = (int(p) for p in ratio.split(":"))
    side = media.IMAGE_SIZES[size]
    assert abs(width / height - w_part / h_part) < 0.05 * (w_part / h_part)
    assert abs(math.sqrt(width * height) - side) < 0.03 * side
    assert width % 16 == 0 and height % 16 == 0
    assert [b["type"] for b in blocks(body)] == ["image"], "only an image was asked for"
    assert {"modality": "image", "tokens": 747 if size == "512" else 1120} in body["usage"][
        "output_tokens_by_modality"
    ]


async def test_image_defaults_text_then_image_and_colour_from_prompt(client: httpx2.AsyncClient) -> None:
    body = await create(client, model="gemini-3-pro-image", input="a red kite [[images 2]]")
    assert [s["type"] for s in body["steps"]] == ["thought", "model_output"]
    assert [b["type"] for b in blocks(body)] == ["text", "image", "image"]
    first, second = (b64(b["data"]) for b in blocks(body, "image"))
    assert png_size(first) == (1024, 1024) and first != second, "two distinct 1K images"
    colour = media.top_colour(first)
    assert colour is not None and colour[0] > 150 > colour[2], "a red prompt gives a red picture"
    assert len(first) > 1_000_000, "a 1K picture weighs what a real one does"


async def test_image_edit_chain_darkens_the_previous_image(client: httpx2.AsyncClient) -> None:
    fmt = {"type": "image", "image_size": "512"}
    first = await create(
        client, model=IMAGE_MODEL, input="a blue lake", response_format=[{"type": "text"}, fmt]
    )
    second = await create(
        client,
        model=IMAGE_MODEL,
        input="make it darker",
        previous_interaction_id=first["id"],
        response_format=[{"type": "text"}, fmt],
    )
    assert "Edited the previous image" in blocks(second, "text")[0]["text"]
    assert "turn 2" in blocks(second, "text")[0]["text"]
    before = media.top_colour(b64(blocks(first, "image")[0]["data"]))
    after = media.top_colour(b64(blocks(second, "image")[0]["data"]))
    assert before is not None and after is not None and sum(after) < 0.75 * sum(before)
    reference = blocks(first, "image")[0]
    third = await create(
        client,
        model=IMAGE_MODEL,
        input=[{"type": "text", "text": "make it lighter"}, reference],
        response_format=[{"type": "text"}, fmt],
    )
    assert "Edited your image" in blocks(third, "text")[0]["text"]


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "image", "aspect_ratio": "7:3"},
        {"type": "image", "image_size": "512px"},
        {"type": "image", "mime_type": "image/gif"},
    ],
)
async def test_image_format_errors(client: httpx2.AsyncClient, fmt: dict[str, Any]) -> None:
    error = await create(client, expect=400, model=IMAGE_MODEL, input="x", response_format=fmt)
    assert error["error"]["code"] == "invalid_request"


async def test_speech_is_raw_pcm_whose_length_follows_the_text(client: httpx2.AsyncClient) -> None:
    short = await create(client, model=TTS_MODEL, input="Hello there.", response_format={"type": "audio"})
    long = await create(
        client,
        model=TTS_MODEL,
        input="Hello there, this sentence is a good deal longer than the first one was.",
        generation_config={"speech_config": [{"voice": "Puck"}]},
    )
    (audio,) = blocks(short, "audio")
    assert (audio["mime_type"], audio["sample_rate"], audio["channels"]) == ("audio/l16", 24000, 1)
    pcm_short, pcm_long = b64(audio["data"]), b64(blocks(long, "audio")[0]["data"])
    assert len(pcm_short) % 2 == 0 and 0.3 < len(pcm_short) / 48000 < 3
    assert len(pcm_long) > 3 * len(pcm_short)
    assert {"modality": "audio", "tokens": round(len(pcm_long) / 48000 * 32)} in long["usage"][
        "output_tokens_by_modality"
    ]


async def test_two_speakers_sound_different(client: httpx2.AsyncClient) -> None:
    config = {"speech_config": [{"speaker": "Joe", "voice": "Kore"}, {"speaker": "Jane", "voice": "Puck"}]}
    joe = await create(client, model=TTS_MODEL, input="Joe: Hi", generation_config=config)
    jane = await create(client, model=TTS_MODEL, input="Jane: Hi", generation_config=config)
    assert b64(blocks(joe, "audio")[0]["data"]) != b64(blocks(jane, "audio")[0]["data"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"generation_config": {"speech_config": [{"voice": "Nobody"}]}}, "Nobody"),
        ({"generation_config": {"speech_config": [{"speaker": s, "voice": "Kore"} for s in "abc"]}}, "2"),
        ({"response_format": {"type": "audio", "mime_type": "audio/l16"}}, "mime_type"),
        ({"response_format": {"type": "text"}}, "audio"),
    ],
)
async def test_speech_errors(client: httpx2.AsyncClient, extra: dict[str, Any], message: str) -> None:
    error = await create(client, expect=400, model=TTS_MODEL, input="Hello", **extra)
    assert message in error["error"]["message"]


async def test_streamed_image_and_audio_arrive_as_deltas(client: httpx2.AsyncClient, sse: SSE) -> None:
    fmt = {"type": "image", "image_size": "512"}
    body = {"model": IMAGE_MODEL, "input": "a green field", "stream": True, "response_format": fmt}
    events = sse((await client.post("/v1beta/interactions", json=body)).text)
    images = [d["delta"] for e, d in events if e == "step.delta" and d["delta"]["type"] == "image"]
    assert len(images) == 1 and png_size(b64(images[0]["data"])) == (512, 512)
    text = "Streaming speech arrives in pieces of at most one second each, " * 3
    body = {"model": TTS_MODEL, "input": text, "stream": True}
    events = sse((await client.post("/v1beta/interactions", json=body)).text)
    pieces = [d for e, d in events if e == "step.delta" and d["delta"]["type"] == "audio"]
    assert len(pieces) > 2 and all(len(b64(p["delta"]["data"])) <= 48000 for p in pieces)
    assert {p["index"] for p in pieces} == {0}
    created = next(d for e, d in events if e == "interaction.created")
    done = (await client.get(f"/v1beta/interactions/{created['interaction']['id']}")).json()
    assert b"".join(b64(p["delta"]["data"]) for p in pieces) == b64(blocks(done, "audio")[0]["data"])


async def wait_done(client: httpx2.AsyncClient, interaction_id: str) -> dict[str, Any]:
    with anyio.fail_after(10):
        while True:
            body: dict[str, Any] = (await client.get(f"/v1beta/interactions/{interaction_id}")).json()
            if body["status"] != "in_progress":
                return body
            await anyio.sleep(0.05)


async def research(client: httpx2.AsyncClient, query: str, **config: Any) -> dict[str, Any]:
    started = await create(
        client,
        agent=RESEARCH,
        input=query,
        background=True,
        agent_config={"type": "deep-research", **config},
    )
    return await wait_done(client, started["id"])


async def test_research_with_charts_interleaves_text_and_charts(client: httpx2.AsyncClient) -> None:
    done = await research(client, "Bicycle sales since 2000, with charts", visualization="auto")
    (output,) = [s for s in done["steps"] if s["type"] == "model_output"]
    assert [b["type"] for b in output["content"]] == ["text", "image", "text", "image", "text"]
    for chart in blocks(done, "image"):
        assert chart["mime_type"] == "image/png" and png_size(b64(chart["data"])) == (640, 400)
    texts = blocks(done, "text")
    assert texts[0]["text"].startswith("# Research report") and "## Sources" in texts[2]["text"]
    for block in texts:
        for note in block.get("annotations", []):
            cited = block["text"].encode()[note["start_index"] : note["end_index"]].decode()
            assert cited.endswith("."), "citations are indexed within their own block"
    plain = await research(client, "Bicycle sales since 2000, with charts", visualization="off")
    assert [b["type"] for b in blocks(plain)] == ["text"]
    unasked = await research(client, "Bicycle sales since 2000")
    assert [b["type"] for b in blocks(unasked)] == ["text"], "visuals only when the question asks"
    assert blocks(plain)[0]["text"] == "".join(b["text"] for b in texts), "the same report, whole"


def test_top_colour_reads_back_what_picture_wrote() -> None:
    data = media.picture(32, 16, (10, 200, 30), "seed")
    colour = media.top_colour(data)
    assert colour is not None and all(0 <= c - e < 16 for c, e in zip(colour, (10, 200, 30), strict=True))
    assert media.top_colour(b"not a png") is None
    assert base64.b64decode(media.image_block(data)["data"]) == data
