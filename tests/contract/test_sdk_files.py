"""Files API, File Search stores and sandbox files through the official SDK, plus image/speech output."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from google.genai._interactions import BadRequestError

from .conftest import Served
from .sdk_checks import assert_declared, assert_known, poll

SDK_CHUNK = 8 * 1024 * 1024


def wait_operation(sdk: genai.Client, operation: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not operation.done:
        assert time.monotonic() < deadline, "operation never finished"
        time.sleep(0.05)
        operation = sdk.operations.get(operation)
    return operation


def test_files_upload_in_chunks_get_list_delete(sdk: genai.Client, served: Served) -> None:
    """A 9 MB upload goes in the SDK's 8 MiB chunks, lands whole, lists, and is gone after delete."""
    data = bytes(range(256)) * (9 * 1024 * 1024 // 256)
    uploaded = sdk.files.upload(
        file=io.BytesIO(data), config={"mime_type": "application/pdf", "display_name": "big"}
    )
    assert uploaded.name and uploaded.name.startswith("files/") and uploaded.size_bytes == len(data)
    assert uploaded.state == types.FileState.ACTIVE and uploaded.display_name == "big"
    assert uploaded.uri and uploaded.uri.endswith(uploaded.name) and uploaded.expiration_time
    (stored,) = served.emulator.resources.files.values()
    assert stored.data == data
    chunks = [r for r in served.requests() if "upload_id" in r["query"]]
    assert len(chunks) == 2, "two chunk requests: 8 MiB, then the rest with finalize"
    got = sdk.files.get(name=uploaded.name)
    assert got.sha256_hash == uploaded.sha256_hash and got.mime_type == "application/pdf"
    small = sdk.files.upload(file=io.BytesIO(b"hello"), config={"mime_type": "text/plain"})
    names = [f.name for f in sdk.files.list(config={"page_size": 1})]
    assert set(names) == {uploaded.name, small.name}, "paged through both"
    sdk.files.delete(name=uploaded.name)
    with pytest.raises(errors.ClientError) as caught:
        sdk.files.get(name=uploaded.name)
    assert caught.value.code == 404


def test_video_is_processing_then_active_and_refused_until_then(sdk: genai.Client, served: Served) -> None:
    served.emulator.configure(file_processing_seconds=0.5)
    video = sdk.files.upload(
        file=io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + bytes(64)), config={"mime_type": "video/mp4"}
    )
    assert video.state == types.FileState.PROCESSING
    block = {"type": "video", "uri": video.uri, "mime_type": "video/mp4"}
    with pytest.raises(BadRequestError, match="ACTIVE"):
        sdk.interactions.create(model="gemini-3.5-flash", input=[block, {"type": "text", "text": "describe"}])
    deadline = time.monotonic() + 5
    while sdk.files.get(name=video.name).state != types.FileState.ACTIVE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    done = sdk.interactions.create(
        model="gemini-3.5-flash", input=[block, {"type": "text", "text": "describe"}]
    )
    assert done.status == "completed"


def test_file_search_store_upload_import_search_and_delete(sdk: genai.Client, served: Served) -> None:
    store = sdk.file_search_stores.create(config={"display_name": "Team notes"})
    assert store.name and store.name.startswith("fileSearchStores/team-notes-")
    text = b"The launch is planned for March.\nThe budget for the launch is 40 thousand euros."
    operation = sdk.file_search_stores.upload_to_file_search_store(
        file=io.BytesIO(text),
        file_search_store_name=store.name,
        config={
            "mime_type": "text/plain",
            "display_name": "plan.txt",
            "custom_metadata": [{"key": "author", "string_value": "Ada"}],
        },
    )
    assert not operation.done
    operation = wait_operation(sdk, operation)
    assert operation.response and operation.response.document_name
    imported_file = sdk.files.upload(
        file=io.BytesIO(b"Unrelated memo about parking."),
        config={"mime_type": "text/plain", "display_name": "memo.txt"},
    )
    imported = wait_operation(
        sdk,
        sdk.file_search_stores.import_file(file_search_store_name=store.name, file_name=imported_file.name),
    )
    assert imported.done
    docs = list(sdk.file_search_stores.documents.list(parent=store.name))
    assert {d.display_name for d in docs} == {"plan.txt", "memo.txt"}
    assert all(d.state == types.DocumentState.STATE_ACTIVE for d in docs)
    refreshed = sdk.file_search_stores.get(name=store.name)
    assert refreshed.active_documents_count == 2

    answer = sdk.interactions.create(
        model="gemini-3.5-flash",
        input="What is the launch budget?",
        tools=[{"type": "file_search", "file_search_store_names": [store.name]}],
    )
    report = assert_known(answer, "file search answer")
    assert {"FileSearchCallStep", "FileSearchResultStep", "FileCitation"} <= report.types
    cited = [
        a
        for s in answer.steps or []
        for c in getattr(s, "content", None) or []
        for a in getattr(c, "annotations", None) or []
    ]
    assert (
        cited
        and cited[0].file_name == "plan.txt"
        and cited[0].document_uri == operation.response.document_name
    )
    assert "40 thousand euros" in (answer.output_text or "")

    with pytest.raises(errors.ClientError):
        sdk.file_search_stores.delete(name=store.name)
    sdk.file_search_stores.delete(name=store.name, config={"force": True})
    assert not list(sdk.file_search_stores.list())


def test_sandbox_files_list_and_download(sdk: genai.Client, served: Served) -> None:
    run = sdk.interactions.create(
        agent="antigravity-preview-05-2026",
        input="Count the lines",
        background=True,
        environment={
            "type": "remote",
            "sources": [{"type": "inline", "content": "a\nb\n", "target": "/workspace/data.txt"}],
        },
    )
    done = poll(sdk, run.id)
    env = done.environment_id
    assert env
    listing = sdk.environments.files.list(environment=env, path="workspace", recursive=True)
    assert_declared(listing, "environment files")
    paths = {f.path for f in listing.files or []}
    assert {"workspace/data.txt", "workspace/notes", "workspace/notes/turn-1.txt"} <= paths
    assert (
        sdk.environments.files.download(environment=env, path="workspace/notes/turn-1.txt")
        == b"Count the lines\n"
    )
    assert sdk.environments.files.download(environment=env, path="/workspace/data.txt") == b"a\nb\n"


def test_image_and_speech_outputs_parse_in_the_sdk(sdk: genai.Client) -> None:
    image = sdk.interactions.create(
        model="gemini-3.1-flash-image",
        input="a yellow sun",
        response_format={"type": "image", "aspect_ratio": "16:9", "image_size": "512"},
    )
    assert_known(image, "image answer")
    assert image.output_image is not None and image.output_image.mime_type == "image/png"
    speech = sdk.interactions.create(
        model="gemini-3.1-flash-tts-preview",
        input="Say hello",
        generation_config={"speech_config": [{"voice": "Kore"}]},
        response_format={"type": "audio"},
    )
    assert_known(speech, "speech answer")
    assert speech.output_audio is not None and speech.output_audio.sample_rate == 24000
