"""Errors the store raises; callers turn them into messages for the model.

Every message is one line that says what happened and what to do: the tools layer shows it as is.
"""

from __future__ import annotations

from typing import ClassVar


class StoreError(Exception):
    """Base class of every error the state store raises on purpose."""


class NameTakenError(StoreError):
    """The owner already has a conversation with this name (names are unique per owner)."""

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(f"a conversation named {name!r} already exists for this owner")
        self.owner = owner
        self.name = name


class JobExistsError(StoreError):
    """A job for this interaction id is already recorded (an interaction has one owner)."""

    def __init__(self, interaction_id: str) -> None:
        super().__init__(f"job {interaction_id!r} is already recorded")
        self.interaction_id = interaction_id


class AgentTakenError(StoreError):
    """The agent id is already recorded as created by another principal."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} belongs to another principal")
        self.agent_id = agent_id


class SchemaVersionError(StoreError):
    """The state file was written by a newer release whose schema this one cannot read safely."""


class StoreUnavailableError(StoreError):
    """The store cannot serve this call (full disk, unwritable or damaged file, unreachable server).

    Nothing of the failed call was stored: each store operation is all or nothing, so the caller may
    simply try again once the cause is gone, and the server keeps running meanwhile.
    """

    what_happened: ClassVar[str] = "The server's state store is unavailable"
    """The failure in words that name no path or host (see `without_location`)."""


class StoreFullError(StoreUnavailableError):
    """The disk (or quota) holding the state file is full."""

    what_happened = "The disk holding the server's state is full"


class StoreReadOnlyError(StoreUnavailableError):
    """The state file, its write-ahead log or its folder cannot be written (read-only or immutable)."""

    what_happened = "The server's state file is not writable"


class StoreCorruptError(StoreUnavailableError):
    """The state file is damaged; the server refuses to start on it rather than make it worse."""

    what_happened = "The server's state file is damaged"


def without_location(error: StoreUnavailableError) -> StoreUnavailableError:
    """The same failure, told without the server's file paths or hosts.

    For callers on other machines (HTTP): the path or host means nothing to them and tells them about
    the server's machine, and what to fix is the operator's business. The operator's log keeps the full
    text (the store logs it when it tells a caller this version).
    """
    return type(error)(
        f"{error.what_happened}: nothing of this call was saved. Try again later; the server's log tells "
        "its operator what to fix."
    )


class LeaseBusyError(StoreError):
    """Someone else held the lease for longer than the caller was willing to wait."""
