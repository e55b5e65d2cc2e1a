"""Saved media on disk: a result never writes over another file, nor through a link, nor out of its folder."""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.services import media
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.media import MAX_NAME_BYTES, MediaLibrary, TooLarge, portable
from gemini_interactions_mcp.state import MemoryStore

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["hard links", "no hard links"])
def library(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> MediaLibrary:
    """Files get their names by hard link, or (a file system without them) by a rename over a claimed
    name: both keep every guarantee below."""
    if request.param == "no hard links":

        def refuse(*args: object, **kwargs: object) -> None:
            raise PermissionError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", refuse)
    return MediaLibrary(MemoryStore(), output_dir=tmp_path / "out", allowed_dirs=[], show_paths=True)


async def save(library: MediaLibrary, data: bytes, name: str, owner: str = "alice") -> str:
    saved = await library.save(owner, data, "text/csv", kind="file", source="env", label=name, name=name)
    return saved.id


async def test_the_same_name_twice_keeps_both_files(library: MediaLibrary, tmp_path: Path) -> None:
    first = await save(library, b"run 1", "sandbox-e/report.csv")
    second = await save(library, b"run 2", "sandbox-e/report.csv")
    assert (await library.read("alice", first))[0] == b"run 1"
    assert (await library.read("alice", second))[0] == b"run 2"
    assert (await library.get("alice", second)).name == "sandbox-e/report-2.csv"
    assert sorted(p.name for p in (tmp_path / "out" / "sandbox-e").iterdir()) == [
        "report-2.csv",
        "report.csv",
    ]


async def test_results_saved_at_the_same_instant_each_get_a_file(library: MediaLibrary) -> None:
    ids: dict[bytes, str] = {}

    async def one(data: bytes) -> None:
        ids[data] = await save(library, data, "same.csv", owner=data.decode())

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(one, f"caller-{n}".encode())
    for data, media_id in ids.items():
        assert (await library.read(data.decode(), media_id))[0] == data


async def test_a_read_past_its_cap_is_refused_and_one_at_the_cap_is_whole(
    library: MediaLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resource read comes back whole in one message: a sandbox file of up to 100 MB is refused there,
    not loaded (the cap is lowered to 1 MiB here)."""
    monkeypatch.setattr(media, "MAX_READ_BYTES", 2**20)
    at_cap = await save(library, b"a" * 2**20, "at-cap.bin")
    over = await save(library, b"b" * (2**20 + 1), "over.bin")
    assert (await library.read("alice", at_cap))[0] == b"a" * 2**20
    with pytest.raises(
        ServiceError, match=r"gemini://media/m_\S+ is over the 1 MB a resource read returns; open it at /"
    ):
        await library.read("alice", over)


async def test_a_link_at_the_name_is_not_written_through(library: MediaLibrary, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").symlink_to(victim)
    media_id = await save(library, b"from the sandbox", "notes.txt")
    assert victim.read_bytes() == b"keep me"
    assert (await library.read("alice", media_id))[0] == b"from the sandbox"


async def test_a_stream_that_fails_or_overflows_leaves_no_file(library: MediaLibrary, tmp_path: Path) -> None:
    async def chunks(then: BaseException) -> AsyncIterator[bytes]:
        yield b"x" * 1000
        yield b"y" * 1000
        raise then

    with pytest.raises(ConnectionResetError):
        await library.save(
            "alice", chunks(ConnectionResetError()), "text/csv", kind="file", source="e", label="a"
        )
    with pytest.raises(TooLarge):
        await library.save(
            "alice", chunks(AssertionError()), "text/csv", kind="file", source="e", label="b", limit=1500
        )
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("name", ["../../escape.csv", "/tmp/escape.csv", "a/../../../escape.csv", "..", ""])
async def test_names_stay_inside_the_folder(library: MediaLibrary, tmp_path: Path, name: str) -> None:
    media_id = await save(library, b"x", name)
    assert saved_inside((await library.get("alice", media_id)).path or "", tmp_path / "out")


def saved_inside(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve()) and Path(path).read_bytes() == b"x"


@pytest.mark.parametrize(
    ("given", "made"),
    [
        ("C:evil.txt", "C_evil.txt"),  # on Windows, a drive-relative path out of the folder
        ("notes.txt:hidden", "notes.txt_hidden"),  # an NTFS stream
        ("NUL.txt", "_NUL.txt"),  # a device
        ("com1", "_com1"),
        ("invoice\u202etxt.exe", "invoice_txt.exe"),  # shown as 'invoiceexe.txt'
        ("line\nbreak\x00", "line_break_"),
        ("trailing. ", "trailing"),
        ("...", "_"),
        ("plain name (1).csv", "plain name (1).csv"),
    ],
)
def test_names_are_made_plain_file_names_everywhere(given: str, made: str) -> None:
    assert portable(given) == made


def test_long_names_are_cut_keeping_their_extension() -> None:
    for stem in ("x" * 300, "é" * 150):
        made = portable(stem + ".csv")
        assert len(made.encode()) <= MAX_NAME_BYTES and made.endswith(".csv") and made.startswith(stem[:50])


async def test_a_name_that_cannot_be_made_still_saves_the_file(library: MediaLibrary) -> None:
    """A sandbox file downloaded once, later a folder of the same name: the bytes are kept all the same."""
    first = await save(library, b"a file", "sandbox-e/notes")
    second = await save(library, b"inside", "sandbox-e/notes/today.txt")
    long = await save(library, b"long", "sandbox-e/" + "n" * 300 + ".txt")
    assert [(await library.read("alice", m))[0] for m in (first, second, long)] == [
        b"a file",
        b"inside",
        b"long",
    ]
    fallback = (await library.get("alice", second)).name
    assert "-sandbox-e-notes-today-txt-" in fallback and "/" not in fallback


async def test_a_linked_default_output_folder_is_not_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workspace may ship `gemini-output` as a link to anywhere: the files go to the server's own
    folder instead, and the result names where."""
    elsewhere, workspace, data_dir = tmp_path / "elsewhere", tmp_path / "repo", tmp_path / "data"
    elsewhere.mkdir()
    workspace.mkdir()
    (workspace / "gemini-output").symlink_to(elsewhere)
    monkeypatch.setattr("gemini_interactions_mcp.services.media.user_data_dir", lambda: data_dir)
    library = MediaLibrary(MemoryStore(), output_dir=None, allowed_dirs=[workspace], show_paths=True)
    saved = await library.save("alice", b"png", "image/png", kind="image", source="i", label="kite")
    assert list(elsewhere.iterdir()) == []
    assert (
        saved.path is not None and Path(saved.path).parent == data_dir / "gemini-interactions-mcp" / "media"
    )
    assert (await library.read("alice", saved.id))[0] == b"png"


async def test_an_output_dir_given_as_a_link_is_used(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "chosen").symlink_to(target)
    library = MediaLibrary(MemoryStore(), output_dir=tmp_path / "chosen", allowed_dirs=[], show_paths=True)
    await library.save("alice", b"png", "image/png", kind="image", source="i", label="kite")
    assert len(list(target.iterdir())) == 1
