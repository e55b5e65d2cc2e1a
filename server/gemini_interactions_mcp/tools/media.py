"""Media in tool results and as resources: previews the client can show, links to the saved files.

Every saved image or audio reaches the client three ways: an inline preview (ImageContent or
AudioContent, at most about 1 MB), a ResourceLink to `gemini://media/{id}` (the full file, readable by
its owner only), and its path in the structured content (stdio only). Base64 appears only inside the
preview blocks, never in text or structured content.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import AudioContent, ContentBlock, ImageContent, ResourceLink, TextContent

from gemini_interactions_mcp.services.previews import share
from gemini_interactions_mcp.services.results import AnswerPart, SavedMedia
from gemini_interactions_mcp.services.uris import MEDIA_LINK, MEDIA_URI_PREFIX, MEDIA_URI_TEMPLATE
from gemini_interactions_mcp.tools._common import AppContext, app_state, principal, read_resource
from gemini_interactions_mcp.tools._wiring import Wiring

if TYPE_CHECKING:
    from gemini_interactions_mcp.services.media import MediaLibrary


def describe(media: SavedMedia) -> str:
    """One line for the text of a result: what was saved, and where to find it."""
    shape = f"{media.width}x{media.height} " if media.width and media.height else ""
    length = f"{media.seconds:g} s " if media.seconds else ""
    where = media.path or media.uri
    return f"[{media.kind} {shape}{length}{media.mime_type}, {media.size:,} bytes: {where}]"


async def media_blocks(
    library: MediaLibrary, owner: str, media: SavedMedia, limit: int
) -> list[ContentBlock]:
    """The preview (when there can be one within `limit` bytes) and the link of one saved file."""
    blocks: list[ContentBlock] = []
    preview = await library.preview(owner, media, limit)
    if preview is not None:
        data = base64.b64encode(preview.data).decode("ascii")
        if media.kind == "image":
            blocks.append(ImageContent(type="image", data=data, mime_type=preview.mime_type))
        else:
            blocks.append(AudioContent(type="audio", data=data, mime_type=preview.mime_type))
    blocks.append(
        ResourceLink(
            type="resource_link",
            uri=media.uri,
            name=media.name,
            mime_type=media.mime_type,
            size=media.size,
        )
    )
    return blocks


async def answer_blocks(
    library: MediaLibrary, owner: str, parts: Sequence[AnswerPart], footer: Sequence[str] = ()
) -> list[ContentBlock]:
    """An answer's text and media in order; each media file is named in the text as well, for clients
    that show the model only text."""
    blocks: list[ContentBlock] = []
    text: list[str] = []
    limit = share(sum(1 for p in parts if p.media is not None))

    def flush() -> None:
        joined = "".join(text).strip("\n")
        if joined:
            blocks.append(TextContent(type="text", text=joined))
        text.clear()

    for part in parts:
        if part.media is None:
            text.append(part.text or "")
            continue
        text.append(f"\n{describe(part.media)}\n")
        flush()
        blocks += await media_blocks(library, owner, part.media, limit)
    text.append("\n\n" + "\n".join(footer) if footer else "")
    flush()
    return blocks


async def linked_media(library: MediaLibrary, owner: str, text: str | None) -> list[ContentBlock]:
    """Previews and links of the caller's media that a page of a report links to (charts, images)."""
    from gemini_interactions_mcp.services.errors import UnknownHandleError  # loaded with the services

    found: list[SavedMedia] = []
    for media_id in dict.fromkeys(MEDIA_LINK.findall(text or "")):
        try:
            found.append(await library.get(owner, media_id))
        except UnknownHandleError:
            continue
    limit = share(len(found))
    return [block for media in found for block in await media_blocks(library, owner, media, limit)]


class MediaTypes:
    """Middleware: a `gemini://media/` read carries the file's own MIME type.

    Resource templates declare one MIME type for all their resources; media files are PNG, JPEG, WAV,
    text downloaded from a sandbox and more, so the type recorded with the file replaces it.
    """

    async def __call__(self, ctx: ServerRequestContext[Wiring, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        uri = (ctx.params or {}).get("uri") if ctx.method == "resources/read" else None
        if not isinstance(uri, str) or not uri.startswith(MEDIA_URI_PREFIX) or not isinstance(result, dict):
            return result
        from gemini_interactions_mcp.services.errors import UnknownHandleError  # past the wiring gate

        library = ctx.lifespan_context.state.media
        try:
            media = await library.get(principal(), uri.removeprefix(MEDIA_URI_PREFIX))
        except UnknownHandleError:  # the read itself already answered; nothing to correct
            return result
        contents = [{**item, "mimeType": media.mime_type} for item in result.get("contents", [])]
        return {**result, "contents": contents}


def register(server: MCPServer[Any]) -> None:
    @server.resource(
        MEDIA_URI_TEMPLATE,
        name="media",
        description="An image or audio file one of your calls produced.",
        mime_type="application/octet-stream",
    )
    async def media_file(media_id: str, ctx: AppContext) -> bytes:
        data, _ = await read_resource(app_state(ctx).media.read(principal(), media_id))
        return data

    server.middleware.append(MediaTypes())
