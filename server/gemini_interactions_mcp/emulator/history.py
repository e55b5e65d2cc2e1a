"""The earlier turns of a `previous_interaction_id` chain, shared between turns instead of copied.

A continued turn needs the whole chain: its usage counts the tokens of everything the model reads, and
the responders recall facts the user stated, name the call a result answers, or edit the newest image.
Copying the chain and reading all of it again made every turn cost more than the one before (a long
conversation's turn cost twice a new one's). A `History` is a persistent list of turns, newest first,
that carries the running figures (text size, facts), so extending it costs the size of one turn and
branches (two turns continuing the same interaction) share everything they have in common.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .plan import JSON
from .text import content_texts, facts, text_chars, user_texts


@dataclass(frozen=True, eq=False, slots=True)
class History:
    """Steps of the earlier turns, with figures over all of them."""

    steps: tuple[JSON, ...] = ()
    """What the newest turn added: its input, then its whole output."""
    earlier: History | None = None
    text_chars: int = 0
    """Characters of text the model reads in all these steps (see `text.step_texts`)."""
    facts: Mapping[str, str] = field(default_factory=dict)
    """Every "my X is Y" the user stated in these turns, later statements winning."""
    calls: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The newest turn's `function_call` ids, each with its `name` (the first step's, for a repeated id)."""

    def then(self, steps: Sequence[JSON]) -> History:
        """This history followed by one more turn's steps (the cost is that turn's size)."""
        stated = facts(user_texts(steps))
        calls: dict[str, Any] = {}
        for step in steps:
            if step.get("type") == "function_call" and isinstance(call := step.get("id"), str):
                calls.setdefault(call, step.get("name"))
        return History(
            steps=tuple(steps),
            earlier=self,
            text_chars=self.text_chars + text_chars(steps),
            facts={**self.facts, **stated} if stated else self.facts,
            calls=calls,
        )

    def newest_first(self) -> Iterator[JSON]:
        """The steps from the newest back: a search for the latest of something stops early."""
        for turn in self._turns():
            yield from reversed(turn.steps)

    def has_call(self, call_id: str) -> bool:
        """Whether the model made a `function_call` with this id in any earlier turn."""
        return any(call_id in turn.calls for turn in self._turns())

    def call_name(self, call_id: str) -> str | None:
        """The function name of the newest `function_call` with this id (None if unknown or unnamed)."""
        for turn in self._turns():
            if call_id in turn.calls:
                name = turn.calls[call_id]
                return name if isinstance(name, str) else None
        return None

    def newest_user_text(self) -> str | None:
        """The last text block of the newest `user_input` step that has text (None if there is none)."""
        for step in self.newest_first():
            if step.get("type") == "user_input" and (texts := content_texts(step.get("content"))):
                return texts[-1]
        return None

    def _turns(self) -> Iterator[History]:
        """Newest turn first; the empty root carries no steps."""
        node: History | None = self
        while node is not None and node.earlier is not None:
            yield node
            node = node.earlier


EMPTY = History()
"""The history of a new conversation."""
