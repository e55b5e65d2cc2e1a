"""Content blocks (section 4.3) and the annotations on text blocks (section 6.3), as open unions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by


class _Span(OpenModel):
    """Annotations cover a byte range of the text block: start inclusive, end exclusive."""

    start_index: int | None = None
    end_index: int | None = None


class UrlCitation(_Span):
    type: Literal["url_citation"] = "url_citation"
    url: str | None = None
    title: str | None = None


class FileCitation(_Span):
    type: Literal["file_citation"] = "file_citation"
    document_uri: str | None = None
    file_name: str | None = None
    source: str | None = None
    page_number: int | None = None
    media_id: str | None = None
    custom_metadata: dict[str, Any] | list[Any] | None = None
    """An object in the SDK's type, a list of key/value entries in the docs' sample: both are read."""


class PlaceCitation(_Span):
    type: Literal["place_citation"] = "place_citation"
    place_id: str | None = None
    name: str | None = None
    url: str | None = None
    review_snippets: list[dict[str, Any]] | None = None


class SpeechMetadata(_Span):
    type: Literal["speech_metadata"] = "speech_metadata"
    speaker: str | None = None
    style: str | None = None


class WordInfo(_Span):
    type: Literal["word_info"] = "word_info"
    text: str | None = None
    start_offset: str | float | None = None
    end_offset: str | float | None = None
    speaker: str | None = None


class UnknownAnnotation(OpenModel):
    """An annotation type this client does not know yet, kept whole."""

    type: str | None = None


ANNOTATION_TYPES = ("url_citation", "file_citation", "place_citation", "speech_metadata", "word_info")

Annotation = Annotated[
    Annotated[UrlCitation, Tag("url_citation")]
    | Annotated[FileCitation, Tag("file_citation")]
    | Annotated[PlaceCitation, Tag("place_citation")]
    | Annotated[SpeechMetadata, Tag("speech_metadata")]
    | Annotated[WordInfo, Tag("word_info")]
    | Annotated[UnknownAnnotation, Tag(UNKNOWN)],
    Discriminator(tag_by("type", ANNOTATION_TYPES)),
]


class TextContent(OpenModel):
    type: Literal["text"] = "text"
    text: str = ""
    annotations: list[Annotation] | None = None


class MediaContent(OpenModel):
    """Shared shape of media blocks: inline base64 `data` or a `uri` (Files API or https)."""

    data: str | None = None
    uri: str | None = None
    mime_type: str | None = None


class ImageContent(MediaContent):
    type: Literal["image"] = "image"
    resolution: str | None = None


class AudioContent(MediaContent):
    type: Literal["audio"] = "audio"
    sample_rate: int | None = None
    channels: int | None = None


class VideoContent(MediaContent):
    type: Literal["video"] = "video"
    resolution: str | None = None
    name: str | None = None
    processing: str | dict[str, Any] | None = None


class DocumentContent(MediaContent):
    type: Literal["document"] = "document"


class UnknownContent(OpenModel):
    """A content type this client does not know yet, kept whole."""

    type: str | None = None


CONTENT_TYPES = ("text", "image", "audio", "video", "document")

Content = Annotated[
    Annotated[TextContent, Tag("text")]
    | Annotated[ImageContent, Tag("image")]
    | Annotated[AudioContent, Tag("audio")]
    | Annotated[VideoContent, Tag("video")]
    | Annotated[DocumentContent, Tag("document")]
    | Annotated[UnknownContent, Tag(UNKNOWN)],
    Discriminator(tag_by("type", CONTENT_TYPES)),
]
