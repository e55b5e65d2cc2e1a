"""Text to speech: one call on a speech model, saved as a WAV file (no conversation: nothing to continue).

One voice, or up to two speakers whose names label the transcript's lines ("Joe: Hi"), each with its
own voice. A style ("cheerfully", "like a news anchor") is an instruction in front of the text, the way
the docs prompt these models. Only `{"type": "audio"}` is asked for: the 3.1 preview refuses a MIME type
in the response format, and answers raw PCM, which the media library wraps as WAV. A long text past the
deadline becomes a job; its audio is saved when it finishes and reached through poll_interaction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gemini_interactions_mcp.gemini import GeminiError, InteractionsClient
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.errors import ServiceError, explain_upstream
from gemini_interactions_mcp.services.heartbeats import Heartbeats, Progress
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.requests import SpeechRequest
from gemini_interactions_mcp.services.results import AnswerPart, SpeechResult
from gemini_interactions_mcp.services.turns import run_streamed_turn
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.services.voices import DEFAULT_VOICE, is_voice

MAX_SPEAKERS = 2


def speech_config(request: SpeechRequest) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The `speech_config` list and the voice of each speaker ("" for a single voice), checked."""
    speakers = request.speakers or {"": request.voice or DEFAULT_VOICE}
    if request.speakers and request.voice:
        raise ServiceError("Give `voice` (one speaker) or `speakers` (name -> voice), not both.")
    if len(speakers) > MAX_SPEAKERS:
        raise ServiceError(f"At most {MAX_SPEAKERS} speakers can talk in one call; split the script.")
    for name, voice in speakers.items():
        if not is_voice(voice):
            raise ServiceError(
                f"Unknown voice {voice!r}: read gemini://voices for the voices to choose from."
            )
        if name and not re.search(rf"^\s*{re.escape(name)}\s*:", request.text, re.MULTILINE):
            raise ServiceError(f"Speaker {name!r} has no line: write the script as lines '{name}: ...'.")
    config = [
        {
            **({"speaker": name} if name else {}),
            "voice": voice,
            **({"language": request.language} if request.language else {}),
        }
        for name, voice in speakers.items()
    ]
    return config, speakers


class SpeechService:
    def __init__(
        self,
        *,
        client: InteractionsClient,
        jobs: JobService,
        catalog: Catalog,
        media: MediaLibrary,
        heartbeats: Heartbeats,
        ledger: UsageLedger | None = None,
    ) -> None:
        self._ledger = ledger
        self._client = client
        self._heartbeats = heartbeats
        self._jobs = jobs
        self._catalog = catalog
        self._media = media

    async def speak(
        self,
        owner: str,
        request: SpeechRequest,
        progress: Progress,
        *,
        wait_seconds: float,
        roots: list[Path] | None = None,
    ) -> SpeechResult:
        speech_models = self._catalog.models_for("speech")
        resolution = self._catalog.resolve_model(request.model or speech_models[0])
        if self._catalog.output_of(resolution.id) not in (None, "speech"):
            raise ServiceError(
                f"{resolution.id} does not speak: use {' or '.join(speech_models)} (or omit `model`)."
            )
        config, voices = speech_config(request)
        text = f"Say {request.style.strip()}:\n{request.text}" if request.style else request.text
        body = {
            "model": resolution.id,
            "input": text,
            "response_format": {"type": "audio"},
            "generation_config": {"speech_config": config},
        }
        try:
            outcome = await run_streamed_turn(
                self._client,
                body,
                progress,
                label=resolution.id,
                deadline=wait_seconds,
                heartbeats=self._heartbeats,
            )
        except GeminiError as exc:
            raise explain_upstream(exc, what="speaking this text") from None
        notes = [resolution.note] if resolution.note else []
        if self._ledger is not None:
            await self._ledger.record(owner, resolution.id, outcome.usage)
        parts: list[AnswerPart] = []
        if outcome.status == "in_progress":
            await self._jobs.adopt_running(owner, "model", outcome.interaction_id, None, resolution.id)
        else:
            parts = await self._media.save_answer(
                owner, outcome.blocks, source=outcome.interaction_id, label=request.text, roots=roots
            )
            if not any(p.media for p in parts):
                notes.append("The model returned no audio; try again or shorten the text.")
        return SpeechResult(
            interaction_id=outcome.interaction_id,
            model=resolution.id,
            status=outcome.status,
            voices=voices,
            usage=outcome.usage,
            notes=notes + outcome.notes,
            media=[p.media for p in parts if p.media is not None],
            parts=parts,
        )
