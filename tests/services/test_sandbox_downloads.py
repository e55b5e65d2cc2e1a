"""Sandbox downloads over real HTTP (the emulator on a loopback port): each file is written as it arrives,
cut at the cap whatever the listing claimed, and a file that fails part-way leaves nothing behind."""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.emulator.emulator import Emulator
from gemini_interactions_mcp.emulator.faults import Fault
from gemini_interactions_mcp.emulator.store import EnvironmentRecord
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient, SandboxFilesAPI
from gemini_interactions_mcp.gemini.sandbox import CHUNK_BYTES
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.services.sandbox import SandboxService
from gemini_interactions_mcp.state import MemoryStore

pytestmark = pytest.mark.anyio
ENV = "env_downloads"
CAP = 4 * CHUNK_BYTES


@pytest.fixture
def emulator() -> Starlette:
    return create_app(EmulatorConfig())


@pytest.fixture
def emu(emulator: Starlette) -> Emulator:
    """The emulator's state, with the sandbox the tests download from."""
    emu: Emulator = emulator.state.emulator
    emu.store.environments[ENV] = EnvironmentRecord(id=ENV, created_wall=time.time(), last_accessed_wall=0)
    return emu


@pytest.fixture
async def sandbox(emulator_url: str, tmp_path: Path) -> AsyncIterator[SandboxService]:
    async with InteractionsClient(ClientConfig(base_url=emulator_url, api_key=None)) as client:
        media = MediaLibrary(MemoryStore(), output_dir=tmp_path / "out", allowed_dirs=[], show_paths=True)
        yield SandboxService(store=MemoryStore(), api=SandboxFilesAPI(client), media=media)


def put(emu: Emulator, files: dict[str, bytes]) -> None:
    emu.resources.environment_files[ENV] = {f"workspace/{name}": data for name, data in files.items()}


def on_disk(tmp_path: Path) -> dict[str, bytes]:
    """Every file left in the output folder (temporary ones included), by name."""
    return {p.name: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}


def noise(size: int) -> bytes:
    return random.Random(size).randbytes(size)


async def test_a_file_larger_than_listed_is_cut_at_the_cap(
    sandbox: SandboxService, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gemini_interactions_mcp.services.sandbox.MAX_FILE_BYTES", CAP)
    put(emu, {"grows.bin": noise(64 * CAP), "small.txt": b"fits"})
    emu.resources.environment_listed_sizes[ENV] = {"workspace/grows.bin": 1000}
    saved, notes = await sandbox.download(LOCAL_PRINCIPAL, ENV, ["*"])
    assert [m.name for m in saved] == [f"sandbox-{ENV}/workspace/small.txt"]
    assert notes == ["workspace/grows.bin: not saved, over 0.25 MB when downloaded (listed as 1,000 bytes)."]
    assert on_disk(tmp_path) == {"small.txt": b"fits"}


async def test_a_file_is_saved_byte_for_byte_without_being_held_whole(
    sandbox: SandboxService, emu: Emulator, tmp_path: Path
) -> None:
    """Peak memory while downloading a 16 MiB file (emulator and client both in this process) stays
    under a quarter of it: the body is written out as it comes."""
    body = noise(16 * 1024 * 1024)
    put(emu, {"big.bin": body})
    tracemalloc.start()
    try:
        saved, notes = await sandbox.download(LOCAL_PRINCIPAL, ENV, ["big.bin"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert notes == [] and [m.size for m in saved] == [len(body)]
    assert on_disk(tmp_path) == {"big.bin": body}
    assert peak < len(body) // 4, f"peak {peak:,} bytes"


async def test_a_download_failing_part_way_leaves_nothing_and_the_rest_save(
    sandbox: SandboxService, emu: Emulator, tmp_path: Path
) -> None:
    put(emu, {"a.txt": b"first", "b.bin": noise(8 * CHUNK_BYTES), "c.txt": b"third"})
    emu.faults.add(Fault(kind="drop_stream", path="workspace/b.bin", after_events=3 * CHUNK_BYTES))
    saved, notes = await sandbox.download(LOCAL_PRINCIPAL, ENV, ["*"])
    assert [m.name.rsplit("/", 1)[1] for m in saved] == ["a.txt", "c.txt"]
    (note,) = notes
    assert note.startswith("workspace/b.bin: ") and "connection failed" in note
    assert on_disk(tmp_path) == {"a.txt": b"first", "c.txt": b"third"}
