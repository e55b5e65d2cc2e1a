"""The `input` of a turn: the caller's text alone, or one user turn with the content of its files.

Files up to the inline cap travel in the request; bigger ones (up to the Files API's 2 GB) are uploaded
for their owner and referred to by `uri` (see FileUploader).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gemini_interactions_mcp.services import clips
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.files import FileInputError, FileLoader
from gemini_interactions_mcp.services.heartbeats import Progress
from gemini_interactions_mcp.services.transcript import TurnInput
from gemini_interactions_mcp.services.uploads import FileUploader


class TurnInputs:
    """Builds turn inputs for every kind of turn (model, research, agent), reading files one way."""

    def __init__(self, files: FileLoader, uploads: FileUploader | None = None) -> None:
        self._files = files
        self._uploads = uploads

    async def build(
        self,
        prompt: str,
        files: list[str],
        roots: list[Path] | None,
        *,
        owner: str | None = None,
        progress: Progress | None = None,
        notes: list[str] | None = None,
    ) -> TurnInput:
        """The input; with an `owner`, files too big to go inline are uploaded for that owner. A ref
        may carry clip options (`talk.mp4#t=10,30&fps=1&res=low`, see `clips`). What folders and globs
        brought (file count, token estimate) is added to `notes`."""
        if not files:
            return prompt
        upload = None
        if self._uploads is not None and owner is not None:
            upload = partial(self._uploads.block, owner, progress)
        refs, options = zip(*(clips.split(f) for f in files), strict=True)
        try:
            loaded = await self._files.load_files(list(refs), roots, upload=upload)
        except FileInputError as exc:
            raise ServiceError(str(exc)) from None
        blocks = [
            block if options[i] is None else options[i].apply(block, files[i])
            for block, i in zip(loaded.blocks, loaded.sources, strict=True)
        ]
        if notes is not None:
            notes += loaded.notes
        return [{"type": "user_input", "content": [{"type": "text", "text": prompt}, *blocks]}]
