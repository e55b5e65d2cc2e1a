"""Open unions: a known `type` parses into its model, any other into an Unknown model that keeps it all.

The API changed its schema in 2026 and will again. Every model allows extra fields (kept and
re-serialised verbatim), and every union falls back to an Unknown member instead of failing, so a new
step, content, delta, tool or event type passes through this client untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

UNKNOWN = "unknown"


class OpenModel(BaseModel):
    """Base of every wire model: unknown fields are kept, and dumps omit unset optionals."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object as it goes over the wire (snake_case, None fields omitted)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


def tag_by(field: str, known: Iterable[str], aliases: dict[str, str] | None = None) -> Callable[[Any], str]:
    """A pydantic callable discriminator: the value of `field` if known (or aliased), else UNKNOWN."""
    known_set = frozenset(known)
    alias_map = dict(aliases or {})

    def tag(value: Any) -> str:
        raw = value.get(field) if isinstance(value, dict) else getattr(value, field, None)
        if isinstance(raw, str):
            if raw in known_set:
                return raw
            if raw in alias_map:
                return alias_map[raw]
        return UNKNOWN

    return tag
