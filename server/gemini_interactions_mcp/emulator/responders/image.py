"""Image models (Nano Banana): text and PNG images, sized by `response_format` (section 3).

The picture's colour comes from the prompt ("a red kite" is red); an edit starts from the newest image
of the conversation or of the input, so "make it darker" on turn 2 visibly darkens turn 1's image, and
the answer text says which image was edited. `[[images N]]` in the prompt asks for N images at once.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from .. import media
from ..errors import bad_request
from ..ids import signature
from ..plan import JSON, Run, sequential
from ..text import newest_user_text, parse_think, tokens
from .common import TurnContext, input_tokens, usage

IMAGE_MODELS = frozenset(
    {
        "gemini-3-pro-image",
        "gemini-3-pro-image-preview",
        "gemini-3.1-flash-image",
        "gemini-3.1-flash-image-preview",
        "gemini-3.1-flash-lite-image",
        "gemini-2.5-flash-image",
        "nano-banana-pro-preview",
        "gemini-nano-banana-2.1",
    }
)
TOKENS_PER_IMAGE = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
_COUNT = re.compile(r"\[\[images\s+(\d+)\s*\]\]", re.IGNORECASE)
_DARKER = re.compile(r"\b(darker|darken|night|dusk)\b", re.IGNORECASE)
_LIGHTER = re.compile(r"\b(lighter|brighter|lighten|brighten)\b", re.IGNORECASE)


def respond(ctx: TurnContext) -> Run:
    """A thought, then the answer: a line of text (unless only images were asked for) and the images."""
    req = ctx.request
    think, prompt = parse_think(newest_user_text(req.input_steps))
    count_match = _COUNT.search(prompt)
    count = min(4, max(1, int(count_match.group(1)))) if count_match else 1
    prompt = _COUNT.sub("", prompt).strip()
    aspect_ratio, image_size, want_text = _format(req.response_format, req.generation_config)
    width, height = media.dimensions(aspect_ratio, image_size)
    source, where = _source_image(ctx)
    colour = _colour(prompt, source)
    content: list[JSON] = []
    if want_text:
        verb = f"Edited {where}" if source is not None else "Generated"
        text = (
            f"[{req.name}] {verb}: {count} image(s) of {width}x{height} ({aspect_ratio}, {image_size}) "
            f'for "{prompt}". This is turn {ctx.turn} of our conversation.'
        )
        content.append({"type": "text", "text": text})
    for i in range(count):
        content.append(
            media.image_block(media.picture(width, height, colour, f"{prompt}|{width}x{height}|{i}"))
        )
    thought: JSON = {"type": "thought", "signature": signature()}
    if req.generation_config.get("thinking_summaries") == "auto":
        summary = f"**Composing the image**\n\nPlanning a {aspect_ratio} picture of: {prompt[:80]}"
        thought["summary"] = [{"type": "text", "text": summary}]
    steps = [thought, {"type": "model_output", "content": content}]
    image_tokens = TOKENS_PER_IMAGE[image_size] * count
    text_tokens = sum(tokens(b.get("text", "")) for b in content)
    run_usage = usage(input_tokens(ctx), text_tokens + image_tokens, 120)
    run_usage["output_tokens_by_modality"] = [
        {"modality": "text", "tokens": text_tokens},
        {"modality": "image", "tokens": image_tokens},
    ]
    duration = think if think is not None else ctx.config.model_seconds
    return Run(sequential(steps, duration), duration, "completed", run_usage)


def _format(response_format: Any, generation_config: JSON) -> tuple[str, str, bool]:
    """Aspect ratio, size class and whether text is wanted, from `response_format` (or the deprecated
    `generation_config.image_config`), validated like the service does."""
    items = response_format if isinstance(response_format, list) else [response_format]
    items = [i for i in items if isinstance(i, dict)]
    image = next((i for i in items if i.get("type") == "image"), None)
    legacy = generation_config.get("image_config") or {}
    spec = image if image is not None else legacy
    aspect_ratio = spec.get("aspect_ratio") or "1:1"
    image_size = spec.get("image_size") or "1K"
    if aspect_ratio not in media.ASPECT_RATIOS:
        raise bad_request(
            f"The value '{aspect_ratio}' is not supported for 'aspect_ratio'. "
            f"Supported: {', '.join(media.ASPECT_RATIOS)}."
        )
    if image_size not in media.IMAGE_SIZES:
        raise bad_request(
            f"The value '{image_size}' is not supported for 'image_size'. Supported: 512, 1K, 2K, 4K."
        )
    mime = (image or {}).get("mime_type")
    if mime is not None and mime not in ("image/jpeg", "image/png"):
        raise bad_request(f"The value '{mime}' is not supported for 'mime_type' at 'response_format'.")
    want_text = not items or any(i.get("type") == "text" for i in items)
    return aspect_ratio, image_size, want_text


def _source_image(ctx: TurnContext) -> tuple[bytes | None, str]:
    """The image an edit starts from: the newest one in this turn's input, else in the conversation."""
    newest_first = (
        (reversed(ctx.request.input_steps), "your image"),
        (ctx.history.newest_first(), "the previous image"),
    )
    for steps, where in newest_first:
        for step in steps:
            for block in reversed(step.get("content") or []):
                if isinstance(block, dict) and block.get("type") == "image":
                    try:
                        return base64.b64decode(block.get("data") or "", validate=True), where
                    except (binascii.Error, ValueError):
                        return b"", where
    return None, ""


def _colour(prompt: str, source: bytes | None) -> media.RGB:
    base = media.top_colour(source) if source else None
    if base is None or media.named_colour(prompt) is not None:
        return media.prompt_colour(prompt)
    if _DARKER.search(prompt):
        return media.scale(base, 0.6)
    if _LIGHTER.search(prompt):
        return media.scale(base, 1.4)
    return base
