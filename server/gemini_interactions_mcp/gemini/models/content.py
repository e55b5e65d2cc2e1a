"""Content blocks (text, image, audio, video, document) and text annotations (section 4.3, 6.3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by


class UrlCitation(OpenModel):
    type: Literal["url_citation"] = "url_citation"
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class FileCitation(OpenModel):
    type: Literal["file_citation"] = "file_citation"
    document_uri: str | None = None
    file_name: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class PlaceCitation(OpenModel):
    type: Literal["place_citation"] = "place_citation"
    place_id: str | None = None
    name: str | None = None
    url: str | None = None


class UnknownAnnotation(OpenModel):
    type: str | None = None


Annotation = Annotated[
    Annotated[UrlCitation, Tag("url_citation")]
    | Annotated[FileCitation, Tag("file_citation")]
    | Annotated[PlaceCitation, Tag("place_citation")]
    | Annotated[UnknownAnnotation, Tag(UNKNOWN)],
    Discriminator(tag_by("type", ["url_citation", "file_citation", "place_citation"])),
]


class TextContent(OpenModel):
    type: Literal["text"] = "text"
    text: str = ""
    annotations: list[Annotation] | None = None


class MediaContent(OpenModel):
    """image, audio, video or document: inline base64 `data` or a `uri`."""

    type: Literal["image", "audio", "video", "document"]
    data: str | None = None
    uri: str | None = None
    mime_type: str | None = None


class UnknownContent(OpenModel):
    type: str | None = None


Content = Annotated[
    Annotated[TextContent, Tag("text")]
    | Annotated[MediaContent, Tag("media")]
    | Annotated[UnknownContent, Tag(UNKNOWN)],
    Discriminator(
        tag_by(
            "type",
            ["text"],
            aliases={"image": "media", "audio": "media", "video": "media", "document": "media"},
        )
    ),
]
