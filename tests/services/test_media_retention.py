"""Saved media past the retention: the records go; files go only from the server's own folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.services.errors import UnknownHandleError
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.state import MemoryStore, Store
from gemini_interactions_mcp.wiring import prune_periodically
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio

DAY = 86_400.0
RETENTION_DAYS = 55


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user data directory the server's own media folder is in."""
    monkeypatch.setattr("gemini_interactions_mcp.services.media.user_data_dir", lambda: tmp_path / "data")
    return tmp_path / "data"


async def save(library: MediaLibrary, store: Store, *, days_old: float = 0, name: str | None = None) -> str:
    """Save a file, recorded as made `days_old` days ago; its id."""
    saved = await library.save("alice", b"csv", "text/csv", kind="file", source="env", label="t", name=name)
    record = await store.get_resource("alice", "media", saved.id)
    assert record is not None
    await store.put_resource(record.model_copy(update={"created": record.created - days_old * DAY}))
    return saved.id


async def file_of(store: Store, media_id: str) -> Path:
    record = await store.get_resource("alice", "media", media_id)
    assert record is not None
    return Path(record.data["file"])


async def test_the_hourly_prune_deletes_old_media_and_their_files_in_the_servers_folder(
    data_dir: Path,
) -> None:
    store = MemoryStore()
    library = MediaLibrary(store, output_dir=None, allowed_dirs=[], show_paths=False)  # as over HTTP
    old = await save(library, store, days_old=RETENTION_DAYS + 1)
    recent = await save(library, store, days_old=RETENTION_DAYS - 1)
    old_file, recent_file = await file_of(store, old), await file_of(store, recent)
    assert old_file.parent == library.private_folder() and old_file.exists()

    async def old_file_gone() -> bool:
        return not old_file.exists()

    async with anyio.create_task_group() as group:
        group.start_soon(prune_periodically, store, library, RETENTION_DAYS)
        await async_wait_until(old_file_gone, what="the old file deleted")
        group.cancel_scope.cancel()
    for read in (library.read, library.get):
        with pytest.raises(UnknownHandleError, match="No media"):
            await read("alice", old)
    assert (await library.read("alice", recent))[0] == b"csv" and recent_file.exists()


@pytest.mark.parametrize("where", ["--output-dir", "gemini-output"])
async def test_a_file_in_a_users_folder_stays_when_its_record_goes(
    data_dir: Path, tmp_path: Path, where: str
) -> None:
    store = MemoryStore()
    chosen = data_dir / "gemini-interactions-mcp" / "media" if where == "--output-dir" else None
    library = MediaLibrary(store, output_dir=chosen, allowed_dirs=[tmp_path / "repo"], show_paths=True)
    old = await save(library, store, days_old=RETENTION_DAYS + 1)
    file = await file_of(store, old)
    assert await library.prune(created_before=time.time() - RETENTION_DAYS * DAY) == (1, 0)
    assert file.read_bytes() == b"csv", "even an --output-dir inside the server's folder is the user's"
    with pytest.raises(UnknownHandleError):
        await library.read("alice", old)


@pytest.mark.parametrize("dir_fd", [True, False], ids=["relative opens", "no relative opens"])
async def test_a_link_in_the_servers_folder_is_not_followed_and_a_missing_file_is_fine(
    data_dir: Path, tmp_path: Path, dir_fd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not dir_fd:  # as on Windows
        monkeypatch.setattr(os, "supports_dir_fd", set())
    store = MemoryStore()
    library = MediaLibrary(store, output_dir=None, allowed_dirs=[], show_paths=False)
    linked = await save(library, store, days_old=RETENTION_DAYS + 1, name="run/report.csv")
    gone = await save(library, store, days_old=RETENTION_DAYS + 1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "report.csv").write_bytes(b"mine")
    run = (await file_of(store, linked)).parent
    (run / "report.csv").unlink()
    run.rmdir()
    run.symlink_to(elsewhere)  # the folder replaced by a link out
    (await file_of(store, gone)).unlink()
    assert await library.prune(created_before=time.time() - RETENTION_DAYS * DAY) == (2, 0)
    assert (elsewhere / "report.csv").read_bytes() == b"mine"
