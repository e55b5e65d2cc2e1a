"""File inputs: roots, symlink and `..` escapes, caps, URL rules and the choice of content block."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from gemini_interactions_mcp.services.files import FileInputError, FileLoader, sniff

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
MAGIC = {
    "image/png": PNG,
    "image/jpeg": b"\xff\xd8\xff\xe0" + b"\x00" * 12,
    "image/gif": b"GIF89a" + b"\x00" * 10,
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "audio/wav": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    "application/pdf": b"%PDF-1.7\n\x00\xff",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "audio/ogg": b"OggS\x00\x02" + b"\x00" * 10,
    "audio/flac": b"fLaC\x00\x00\x00\x22",
    "video/mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
    "video/webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def loader(root: Path) -> FileLoader:
    return FileLoader([root], max_file_bytes=1000, max_total_bytes=1500)


async def load_one(loader: FileLoader, ref: str) -> dict[str, object]:
    (block,) = await loader.load([ref])
    return block


@pytest.mark.parametrize(("mime", "head"), MAGIC.items())
def test_sniff_recognises_magic_bytes(mime: str, head: bytes) -> None:
    assert sniff(head) == mime


@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("image/png", "image"),
        ("audio/flac", "audio"),
        ("video/webm", "video"),
        ("video/quicktime", "video"),
        ("application/pdf", "document"),
    ],
)
async def test_content_decides_the_block_even_under_a_wrong_name(
    loader: FileLoader, root: Path, mime: str, kind: str
) -> None:
    (root / "misnamed.txt").write_bytes(MAGIC[mime])
    block = await load_one(loader, "misnamed.txt")
    assert block == {"type": kind, "mime_type": mime, "data": base64.b64encode(MAGIC[mime]).decode()}


async def test_text_files_become_text_blocks_named_relative_to_the_root(
    loader: FileLoader, root: Path
) -> None:
    (root / "src").mkdir()
    (root / "src" / "app.ts").write_text("export const answer = 42; // ünïcode\n")
    block = await load_one(loader, str(root / "src" / "app.ts"))
    assert block == {"type": "text", "text": "[file src/app.ts]\nexport const answer = 42; // ünïcode\n"}


async def test_csv_is_a_document_not_text(loader: FileLoader, root: Path) -> None:
    (root / "table.csv").write_text("a,b\n1,2\n")
    block = await load_one(loader, "table.csv")
    assert (block["type"], block["mime_type"]) == ("document", "text/csv")


async def test_office_files_are_documents_by_extension(loader: FileLoader, root: Path) -> None:
    (root / "report.docx").write_bytes(b"PK\x03\x04\x14\x00\x06\x00\xff\xfe")
    block = await load_one(loader, "report.docx")
    assert block["type"] == "document"
    assert block["mime_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def test_binary_media_without_magic_falls_back_to_the_extension(loader: FileLoader, root: Path) -> None:
    (root / "clip.avi").write_bytes(b"\x00\x01\x02\xff")
    block = await load_one(loader, "clip.avi")
    assert block["type"] == "video"


async def test_unknown_binary_is_refused_naming_file_and_supported_kinds(
    loader: FileLoader, root: Path
) -> None:
    (root / "blob.bin").write_bytes(b"\x00\x01\x02\xff\xfe")
    with pytest.raises(
        FileInputError, match=r"blob\.bin is .*cannot take as input\. Supported: images, audio"
    ):
        await loader.load(["blob.bin"])
    (root / "archive.zip").write_bytes(b"PK\x03\x04\x00\xff")
    with pytest.raises(FileInputError, match=r"archive\.zip is application/zip"):
        await loader.load(["archive.zip"])


async def test_files_outside_the_roots_are_refused(loader: FileLoader, root: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    for ref in [str(tmp_path / "secret.txt"), "../secret.txt", "sub/../../secret.txt"]:
        with pytest.raises(FileInputError, match=rf"outside the folders .*{root.name}"):
            await loader.load([ref])


async def test_dotdot_that_stays_inside_is_fine(loader: FileLoader, root: Path) -> None:
    (root / "sub").mkdir()
    (root / "ok.txt").write_text("fine")
    assert (await load_one(loader, "sub/../ok.txt"))["type"] == "text"


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
async def test_symlinks_may_not_escape_but_may_stay_inside(
    loader: FileLoader, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    (root / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (root / "escape_dir").symlink_to(tmp_path, target_is_directory=True)
    for ref in ["escape.txt", "escape_dir/secret.txt"]:
        with pytest.raises(FileInputError, match="outside the folders"):
            await loader.load([ref])
    (root / "real.txt").write_text("inside")
    (root / "alias.txt").symlink_to(root / "real.txt")
    assert await load_one(loader, "alias.txt") == {"type": "text", "text": "[file real.txt]\ninside"}


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
async def test_a_symlinked_root_is_followed(tmp_path: Path, root: Path) -> None:
    (root / "a.txt").write_text("via link")
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    loader = FileLoader([tmp_path / "link"])
    assert (await load_one(loader, str(tmp_path / "link" / "a.txt")))["type"] == "text"


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
async def test_a_symlink_loop_is_a_clear_error(loader: FileLoader, root: Path) -> None:
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(FileInputError, match="loop"):
        await loader.load(["loop"])


async def test_missing_files_and_folders(loader: FileLoader, root: Path) -> None:
    with pytest.raises(
        FileInputError, match=rf"nope\.txt: no such file \(relative paths are read from .*{root.name}"
    ):
        await loader.load(["nope.txt"])
    (root / "dir").mkdir()
    with pytest.raises(FileInputError, match="dir holds no text file"):
        await loader.load(["dir"])


async def test_per_file_cap_names_the_size_and_the_limit(root: Path) -> None:
    loader = FileLoader([root], max_file_bytes=1024 * 1024)
    (root / "big.txt").write_bytes(b"a" * (1024 * 1024 * 3 // 2))
    with pytest.raises(FileInputError, match=r"big\.txt is 1\.5 MB, over the 1 MB limit per file"):
        await loader.load(["big.txt"])


async def test_total_cap_is_checked_before_reading(loader: FileLoader, root: Path) -> None:
    for name in ["a.txt", "b.txt"]:
        (root / name).write_text("x" * 900)
    with pytest.raises(FileInputError, match=r"b\.txt brings the total to 0\.0 MB.*Send fewer"):
        await loader.load(["a.txt", "b.txt"])
    assert len(await loader.load(["a.txt"])) == 1


async def test_client_roots_replace_the_allowed_folders(tmp_path: Path, root: Path) -> None:
    (root / "project").mkdir()
    (root / "project" / "in.txt").write_text("shared")
    (root / "private.txt").write_text("not shared")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.txt").write_text("client root")
    loader = FileLoader([root])
    # Relative paths are read from the first client root.
    assert await loader.load(["in.txt"], roots=[root / "project"]) == [
        {"type": "text", "text": "[file in.txt]\nshared"}
    ]
    with pytest.raises(FileInputError, match="outside the folders"):
        await loader.load([str(root / "private.txt")], roots=[root / "project"])
    # The client's roots are the boundary, even outside the server's defaults.
    assert (
        len(await loader.load([str(tmp_path / "elsewhere" / "other.txt")], roots=[tmp_path / "elsewhere"]))
        == 1
    )


async def test_blocks_keep_the_order_of_the_refs(loader: FileLoader, root: Path) -> None:
    (root / "a.png").write_bytes(PNG)
    (root / "b.md").write_text("# B")
    blocks = await loader.load(["a.png", "https://example.com/x.png", "b.md"])
    assert [b["type"] for b in blocks] == ["image", "image", "text"]
    assert "uri" in blocks[1] and "data" in blocks[0]


async def test_a_nul_byte_is_a_clear_refusal_not_a_crash(loader: FileLoader, root: Path) -> None:
    (root / "a.txt").write_text("fine")
    for ref in ["a.txt\x00.png", "https://example.com/x\x00.png"]:
        with pytest.raises(FileInputError, match="contains a NUL byte"):
            await loader.load(["a.txt", ref])


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
async def test_hidden_roots_never_appear_in_messages(root: Path, tmp_path: Path) -> None:
    """Over HTTP the caller learns paths relative to the allowed folder, never where it lives."""
    loader = FileLoader([root], show_roots=False)
    (tmp_path / "secret.txt").write_text("s3cret")
    (root / "loop").symlink_to(root / "loop")
    (root / "dir").mkdir()
    refusals = {
        "../secret.txt": "outside the folders",
        "nope.txt": "no such file (relative paths are read from the first allowed folder)",
        "loop": "a loop of symbolic links",
        "dir": "dir holds no text file",
    }
    for ref, expected in refusals.items():
        with pytest.raises(FileInputError) as caught:
            await loader.load([ref])
        assert expected in str(caught.value)
        assert str(tmp_path) not in str(caught.value)
    with pytest.raises(FileInputError) as caught:
        await FileLoader([], show_roots=False).load(["x.txt"])
    assert "--allow-dir" in str(caught.value) and str(tmp_path) not in str(caught.value)


@pytest.fixture
def project(root: Path) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('main')\n")
    (root / "src" / "pkg" / "util.py").write_text("x = 1\n")
    (root / "src" / "pkg" / "notes.md").write_text("# notes\n")
    (root / "src" / "pkg" / "icon.png").write_bytes(PNG)
    (root / "src" / "gen").mkdir()
    (root / "src" / "gen" / "big.py").write_text("y = 2\n")
    (root / ".gitignore").write_text("src/gen/\n")
    return root


async def test_a_glob_brings_matching_text_files_with_a_note(project: Path) -> None:
    loaded = await FileLoader([project]).load_files(["src/**/*.py"])
    names = [b["text"].split("\n")[0] for b in loaded.blocks]
    assert names == ["[file src/main.py]", "[file src/pkg/util.py]"]
    assert loaded.notes == ["src/**/*.py: 2 files, ~5 tokens (.gitignore honoured)."]


async def test_a_folder_brings_its_text_files_skipping_binaries_and_ignored(project: Path) -> None:
    loaded = await FileLoader([project]).load_files(["src", "https://example.com/a.png"])
    names = [b["text"].split("\n")[0] for b in loaded.blocks if b["type"] == "text"]
    assert names == ["[file src/main.py]", "[file src/pkg/notes.md]", "[file src/pkg/util.py]"]
    assert loaded.blocks[-1]["uri"] == "https://example.com/a.png"
    assert "3 files" in loaded.notes[0] and "skipped 1 binary" in loaded.notes[0]


async def test_expansions_obey_caps_and_say_how_to_narrow(project: Path) -> None:
    with pytest.raises(FileInputError, match=r"brings more than 2 files .*workspace"):
        await FileLoader([project], max_expanded_files=2).load(["src"])
    with pytest.raises(FileInputError, match=r"src/\*\*/\*\.rs matches no text file"):
        await FileLoader([project]).load(["src/**/*.rs"])
    (project / "src" / "huge.py").write_text("z" * 2000)
    loaded = await FileLoader([project], max_file_bytes=1000).load_files(["src/*.py"])
    assert len(loaded.blocks) == 1 and "1 over the size cap" in loaded.notes[0]


async def test_a_glob_over_a_huge_tree_stops_walking_with_a_hint(project: Path) -> None:
    """Matches found or not, the walk ends: a glob that matches nothing still had to look everywhere."""
    loader = FileLoader([project], max_walked=4)
    for ref in ["**/*.rs", "src"]:
        with pytest.raises(FileInputError, match=r"more than 4 files and folders.*subfolder"):
            await loader.load([ref])
    assert len((await FileLoader([project], max_walked=5).load_files(["src/**/*.py"])).blocks) == 2


async def test_globs_and_folders_stay_inside_the_roots(project: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("secret = 1\n")
    for ref in ["../*.py", f"{tmp_path}/*.py", "..", "src/../../*.py"]:
        with pytest.raises(FileInputError, match="outside the folders"):
            await FileLoader([project]).load([ref])


async def test_a_big_file_named_again_and_again_is_uploaded_once(root: Path) -> None:
    """Each upload hashes up to 2 GB first: naming one file a thousand times must not cost a thousand."""
    (root / "talk.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(2000))
    sent: list[str] = []

    async def upload(path: Path, name: str, size: int) -> dict[str, Any]:
        sent.append(name)
        return {"type": "video", "uri": f"files/{len(sent)}", "mime_type": "video/mp4"}

    loaded = await FileLoader([root], max_file_bytes=1000).load_files(
        ["talk.mp4", "./talk.mp4", "talk.mp4"], upload=upload
    )
    assert sent == ["talk.mp4"] and [b["uri"] for b in loaded.blocks] == ["files/1"] * 3


async def test_a_glob_that_does_not_compile_is_an_input_error(loader: FileLoader, root: Path) -> None:
    (root / "a.txt").write_text("a")
    with pytest.raises(FileInputError, match=r"\[z-a\]\.txt is not a glob this server can read"):
        await loader.load(["[z-a].txt"])
