"""Clip and resolution options on a file reference: `talk.mp4#t=10,30&fps=2&res=low`.

The time part is the W3C media-fragment syntax (`#t=start,end` in seconds, either end optional); `fps`
sets the frame sampling and `res` the media resolution (`low`, `medium`, `high`, `ultra_high`), the
options the API offers on video blocks (and, for `res`, on image blocks). Written into the reference,
they cost no extra tool parameter, and each file of a call can have its own.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from gemini_interactions_mcp.services.errors import ServiceError

RESOLUTIONS = frozenset({"low", "medium", "high", "ultra_high"})
_SECONDS = re.compile(r"^\d+(\.\d+)?$")
_KEYS = frozenset({"t", "fps", "res"})


class MediaOptions(BaseModel):
    start: float | None = None
    end: float | None = None
    fps: float | None = None
    resolution: str | None = None

    def apply(self, block: dict[str, Any], ref: str) -> dict[str, Any]:
        """The block with these options, refused where the API does not offer them."""
        kind = block.get("type")
        clip = self.start is not None or self.end is not None or self.fps is not None
        if kind not in ("video", "image") or (clip and kind != "video"):
            raise ServiceError(
                f"{ref}: clip options (t, fps) apply to video, and res to video and images; "
                f"this file is sent as {kind}."
            )
        out = dict(block)
        if self.resolution:
            out["resolution"] = self.resolution
        if clip:
            processing: dict[str, Any] = {"type": "static"}
            if self.fps is not None:
                processing["fps"] = self.fps
            if self.start is not None:
                processing["start_offset"] = f"{self.start:g}s"
            if self.end is not None:
                processing["end_offset"] = f"{self.end:g}s"
            out["processing"] = processing
        return out


def split(ref: str) -> tuple[str, MediaOptions | None]:
    """The reference without its options, and the options (None when it has none: a `#` in a name or
    URL that is not an options fragment is left alone)."""
    base, sep, fragment = ref.rpartition("#")
    if not sep:
        return ref, None
    pairs = [part.partition("=") for part in fragment.split("&")]
    if not pairs or any(key not in _KEYS or not eq for key, eq, _ in pairs):
        return ref, None
    options = MediaOptions()
    for key, _, value in pairs:
        if key == "t":
            start, _, end = value.partition(",")
            options.start = _seconds(start, ref) if start else None
            options.end = _seconds(end, ref) if end else None
        elif key == "fps":
            options.fps = _seconds(value, ref)
            if not 0 < options.fps <= 24:
                raise ServiceError(f"{ref}: fps must be above 0 and at most 24.")
        elif value not in RESOLUTIONS:
            raise ServiceError(f"{ref}: res must be one of {', '.join(sorted(RESOLUTIONS))}.")
        else:
            options.resolution = value
    if options.start is not None and options.end is not None and options.end <= options.start:
        raise ServiceError(f"{ref}: the clip must end after it starts (t=start,end in seconds).")
    return base, options


def _seconds(value: str, ref: str) -> float:
    if not _SECONDS.match(value):
        raise ServiceError(f"{ref}: {value!r} is not a number of seconds.")
    return float(value)
