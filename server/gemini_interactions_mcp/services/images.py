"""Image generation and editing: a model turn on an image model, in a conversation like any other.

Editing is continuing the conversation ("make the sky darker"): the previous image stays in the
server-side history, so nothing is re-sent. `files` are images to edit or use as references. The API
has no image-count field, so there is no `count`: ask for several in the prompt and every image the
model returns is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gemini_interactions_mcp.services.ask import AskService
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.heartbeats import Progress
from gemini_interactions_mcp.services.requests import AskRequest, ImageRequest
from gemini_interactions_mcp.services.results import TurnResult

ASPECT_RATIOS = (
    "1:1",
    "2:3",
    "3:2",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "9:16",
    "16:9",
    "21:9",
    "1:4",
    "4:1",
    "1:8",
    "8:1",
)


def image_format(request: ImageRequest) -> list[dict[str, Any]]:
    """Text and image output; the image's shape only where the caller chose one (the model otherwise
    follows the reference images, or picks 1:1 at 1K)."""
    image: dict[str, Any] = {"type": "image"}
    if request.aspect_ratio:
        image["aspect_ratio"] = request.aspect_ratio
    if request.image_size:
        image["image_size"] = request.image_size
    return [{"type": "text"}, image]


class ImageService:
    def __init__(self, *, asks: AskService, catalog: Catalog) -> None:
        self._asks = asks
        self._catalog = catalog

    async def generate(
        self,
        owner: str,
        request: ImageRequest,
        progress: Progress,
        *,
        wait_seconds: float,
        roots: list[Path] | None = None,
    ) -> TurnResult:
        if request.aspect_ratio is not None and request.aspect_ratio not in ASPECT_RATIOS:
            offered = ", ".join(ASPECT_RATIOS)
            raise ServiceError(f"aspect_ratio {request.aspect_ratio!r} is not offered: use one of {offered}.")
        image_models = self._catalog.models_for("image")
        resolution = self._catalog.resolve_model(request.model or image_models[0])
        if self._catalog.output_of(resolution.id) not in (None, "image"):
            raise ServiceError(
                f"{resolution.id} does not make images: use {' or '.join(image_models)} (or omit `model`)."
            )
        ask = AskRequest(
            prompt=request.prompt,
            conversation=request.conversation,
            model=resolution.id,
            files=request.files,
            response_format=image_format(request),
        )
        result = await self._asks.ask(owner, ask, progress, wait_seconds=wait_seconds, roots=roots)
        notes = [resolution.note] if resolution.note else []
        if result.status == "completed" and not any(m.kind == "image" for m in result.media):
            notes.append("The model answered without an image; rephrase the prompt or ask again.")
        return result.model_copy(update={"notes": notes + result.notes})
