"""The `input` of a turn: the caller's text alone, or one user turn with the content of its files."""

from __future__ import annotations

from pathlib import Path

from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.files import FileInputError, FileLoader
from gemini_interactions_mcp.services.transcript import TurnInput


class TurnInputs:
    """Builds turn inputs for every kind of turn (model, research, agent), reading files one way."""

    def __init__(self, files: FileLoader) -> None:
        self._files = files

    async def build(self, prompt: str, files: list[str], roots: list[Path] | None) -> TurnInput:
        if not files:
            return prompt
        try:
            blocks = await self._files.load(files, roots)
        except FileInputError as exc:
            raise ServiceError(str(exc)) from None
        return [{"type": "user_input", "content": [{"type": "text", "text": prompt}, *blocks]}]
