"""Adding files to a File Search store: what a folder may bring is settled before any job starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.file_stores import FileStoreService
from gemini_interactions_mcp.services.files import FileLoader
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.state import MemoryStore

pytestmark = pytest.mark.anyio


async def test_adding_a_huge_folder_stops_walking_with_a_hint(tmp_path: Path) -> None:
    for n in range(10):
        (tmp_path / f"doc-{n}.txt").write_text("text\n")
    unused = cast(Any, None)  # refused before the API or a job is needed
    service = FileStoreService(
        store=MemoryStore(), api=unused, jobs=unused, files=FileLoader([tmp_path], max_walked=4)
    )
    with pytest.raises(ServiceError, match=r"more than 4 files and folders.*subfolder"):
        await service.add(LOCAL_PRINCIPAL, "fileSearchStores/s", ["."], None)
