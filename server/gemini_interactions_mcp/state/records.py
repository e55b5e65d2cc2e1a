"""The records the store keeps: plain pydantic data, no behaviour beyond small arithmetic.

Records are validated on the way in and out of the store, so a JSON column written by one process is
read back by another exactly as it was meant.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, TypeAdapter, field_validator
from pydantic_core import core_schema

CONVERSATION_ID_PREFIX = "conv_"
PREVIEW_CHARS = 120

JobKind = Literal["research", "model", "agent", "files"]
"""`files`: work this server does itself (adding files to a File Search store), not an upstream run."""
ResourceKind = Literal["media", "upload", "file_store", "environment"]
"""Things a principal owns besides conversations and jobs: saved media files, Files API uploads (by
content hash), File Search stores and sandbox environments."""

RECORD_CONFIG = ConfigDict(cache_strings="keys")
"""Parsing caches field names only: pydantic would otherwise keep every short value it parsed (each
conversation and interaction id) in its global string cache, up to 16,384 of them."""


def new_conversation_id() -> str:
    """An unguessable id (160 random bits): ids are handles, not secrets, but must not be enumerable."""
    return CONVERSATION_ID_PREFIX + secrets.token_urlsafe(20)


UsageCounts = dict[str, int | float]
"""One interaction's (or a sum's) usage: `Usage`'s keys, any subset; tokens are ints, `cost_usd` a float."""


class Usage(BaseModel):
    """Token totals and the estimated cost in USD; a conversation keeps the sum over its turns.

    `unpriced` counts the interactions whose cost could not be estimated (no known price), so a total
    cost is known to be a lower bound when it is not zero.
    """

    model_config = RECORD_CONFIG

    input_tokens: int = 0
    output_tokens: int = 0
    thought_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    tool_use_tokens: int = 0
    search_queries: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0

    def plus(self, other: Usage | Mapping[str, int | float]) -> Usage:
        """The sum of both; a mapping may carry any subset of the counters (others count as 0)."""
        extra = other.as_dict() if isinstance(other, Usage) else other
        return Usage.model_validate(
            {key: value + (extra.get(key) or 0) for key, value in self.as_dict().items()}
        )

    def as_dict(self) -> UsageCounts:
        return self.model_dump()

    @classmethod
    def of(cls, counts: Mapping[str, int | float]) -> Usage:
        """`counts` (any subset of the counters; the others count as 0) validated as `plus` validates
        a sum, for a store that adds them up itself."""
        return cls.model_validate({key: value or 0 for key, value in counts.items()})

    def counters(self) -> tuple[int | float, ...]:
        """The counters' values in `USAGE_COUNTERS` order (a pydantic model's `__dict__` holds its
        fields in declaration order: a fifth of the time of reading them by name)."""
        return tuple(self.__dict__.values())


USAGE_COUNTERS = tuple(Usage.model_fields)
"""Usage's counters in one fixed order (the SQLite usage table's columns, after `interactions`)."""


class DailyUsage(BaseModel):
    """One principal's use of one model (or agent) on one UTC day (`day` is YYYY-MM-DD)."""

    model_config = RECORD_CONFIG

    owner: str
    day: str
    model: str
    interactions: int = 0
    usage: Usage = Field(default_factory=Usage)

    @classmethod
    def of_counters(
        cls, owner: str, day: str, model: str, interactions: int, counters: Iterable[int | float]
    ) -> DailyUsage:
        """The row a store kept as its interactions and counters (`USAGE_COUNTERS` order)."""
        usage = Usage.model_validate(dict(zip(USAGE_COUNTERS, counters, strict=True)))
        return cls(owner=owner, day=day, model=model, interactions=interactions, usage=usage)


Counted = tuple[str, str, tuple[int | float, ...]]
"""One interaction's usage as a store adds it to its daily row: its day, its model, its counters."""


def counted(day: str, model: str, usage: UsageCounts) -> Counted:
    """Validated before a store changes anything, so a bad count fails the call with nothing written."""
    return day, model, Usage.of(usage).counters()


class UsageEntry(BaseModel):
    """One interaction's usage as the daily ledger counts it: on its UTC day (YYYY-MM-DD), for its model."""

    day: str
    model: str
    usage: UsageCounts


class TranscriptTurn(BaseModel):
    """One turn of a conversation's compact local copy: what was asked, what came back, which files."""

    model_config = RECORD_CONFIG

    prompt: str
    answer: str = ""
    files: list[str] = Field(default_factory=list)


_TURNS = TypeAdapter(list[TranscriptTurn])
_ELEMENT = json.JSONDecoder()
_TRANSCRIPT_KEY = ',"transcript":'
"""How the local copy begins in a stored conversation written by `stored_json` (always its last field).
Inside JSON strings a quote is escaped, so this text can only be a real key."""


class Transcript:
    """A conversation's local copy held as the JSON text of its list of turns, as every release stores
    it; the turns are parsed only when something reads them (a rebuilt thread, a recap).

    Every turn reads its conversation and writes it back with one more turn. As a list of turn models
    the copy was parsed, validated and dumped again each time: with a full copy (12,000 characters,
    about 100 short turns) some 200 µs a turn and a thousand objects for the garbage collector. Held as
    text, it goes in and out of the store as it is (`stored_json`, `ConversationRecord.from_stored`),
    and a new turn is a splice: only the turns dropped from the oldest end are parsed, to find where
    they end. The stored form is unchanged, so earlier releases read what this one writes.
    """

    __slots__ = ("json",)

    def __init__(self, json_text: str = "[]") -> None:
        self.json = json_text

    @classmethod
    def of(cls, turns: Iterable[TranscriptTurn]) -> Transcript:
        return cls(f"[{','.join(turn.model_dump_json() for turn in turns)}]")

    def turns(self) -> list[TranscriptTurn]:
        """The turns, parsed and validated now."""
        return _TURNS.validate_json(self.json)

    def plus(self, turn: TranscriptTurn, *, budget: int) -> Transcript:
        """The copy with `turn` at the end and its oldest turns dropped until its JSON text fits in
        `budget` characters; the new turn is kept whatever its size."""
        text = f"{self.json[:-1]}{',' if self else ''}{turn.model_dump_json()}]"
        start = 1
        while len(text) - start + 1 > budget:
            _, end = _ELEMENT.raw_decode(text, start)
            if text[end] != ",":
                break  # the newest turn
            start = end + 1
        return Transcript(f"[{text[start:]}" if start > 1 else text)

    def __len__(self) -> int:
        """The number of turns (parses them: for rare paths only)."""
        return len(self.turns())

    def __bool__(self) -> bool:
        return self.json != "[]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transcript) and other.json == self.json

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Transcript({self.json[:60]!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_turns = core_schema.no_info_after_validator_function(
            cls.of, handler.generate_schema(list[TranscriptTurn])
        )
        return core_schema.json_or_python_schema(
            json_schema=from_turns,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_turns]),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda transcript: json.loads(transcript.json)
            ),
        )


class ConversationRecord(BaseModel):
    """A caller-owned thread over a chain of upstream interactions.

    `settings` holds the interaction-scoped request fields (system_instruction, tools, generation_config,
    response_format, agent_config, ...) because the API does not carry them over `previous_interaction_id`:
    they are re-sent every turn. `transcript` is a compact, capped local copy of the turns, kept so the
    thread can be rebuilt when upstream has expired the chain; `head_is_job` says the head interaction
    was started as a background job (which may still be running).
    """

    model_config = RECORD_CONFIG

    id: str
    owner: str
    name: str | None = None
    model: str | None = None
    agent: str | None = None
    head: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    environment_id: str | None = None
    turns: int = 0
    usage: Usage = Field(default_factory=Usage)
    preview: str = ""
    transcript: Transcript = Field(default_factory=Transcript)
    head_is_job: bool = False
    created: float
    updated: float

    @field_validator("preview")
    @classmethod
    def _one_short_line(cls, preview: str) -> str:
        """Clip rather than reject: a long preview must never make a stored conversation unreadable."""
        flat = " ".join(preview.split())
        return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"

    def checked(self) -> ConversationRecord:
        """This record validated, as the stores write it (`model_copy(update=...)` skips validation;
        the stores never do).

        Its own fields are validated from their values, nested records given as plain data included;
        nested records that are already models (usage) or a Transcript were validated when they were
        made and are taken as they are. Dumping and validating the whole record instead re-checked
        every transcript turn on every write: about 200 µs for a conversation with a full local copy.
        The stores serialise the result at once, so it may share those nested values with `self`. The
        values come from `__dict__`, where a pydantic model keeps its fields (a key that is not one, which
        `model_copy(update=...)` may leave there, is ignored): reading them by name cost 1.4 µs more.
        """
        return ConversationRecord.model_validate(self.__dict__)

    @classmethod
    def from_stored(cls, data: str, **columns: Any) -> ConversationRecord:
        """A record stored as the JSON object `data` (`stored_json`) plus the fields a store keeps in
        columns of its own (SQLite, Redis), validated in one pass over the JSON text: the columns are
        written in front of `data`'s fields (which never hold them), and a local copy written last is
        cut off as it is, unparsed. (One written by an earlier release, elsewhere in the object, is
        parsed with the rest.) Parsing `data` into Python first and validating that took twice as long."""
        transcript = None
        cut = data.rfind(_TRANSCRIPT_KEY)
        if cut >= 0 and data.endswith("]}"):
            transcript = Transcript(data[cut + len(_TRANSCRIPT_KEY) : -1])
            data = data[:cut] + "}"
        if columns:
            fields = json.dumps(columns)
            data = f"{fields[:-1]},{data[1:]}" if data.strip() != "{}" else fields
        record = cls.model_validate_json(data)
        if transcript is not None:
            record.transcript = transcript
        return record

    def stored_json(self, *, exclude: frozenset[str] = frozenset()) -> str:
        """This record as the stores write it (less the `exclude`d fields): its local copy last, spliced
        in as the JSON text it is held as, not parsed and dumped again."""
        rest = self.model_dump_json(exclude={"transcript", *exclude})
        return f"{rest[:-1]}{',' if rest != '{}' else ''}{_TRANSCRIPT_KEY[1:]}{self.transcript.json}}}"


class ProgressNote(BaseModel):
    """One progress message of a job (a thought summary, a status change); `seq` counts from 1."""

    model_config = RECORD_CONFIG

    seq: int
    at: float
    text: str


class JobRecord(BaseModel):
    """A background upstream interaction, watched by the server and polled by its owner.

    `finished` is set by `Store.finish_job`: which upstream statuses end a job is the jobs service's
    rule, not the store's, so the store only knows "finished or not". `plan_offered` marks a research
    plan the owner has already been asked to approve (each plan is put to the user once).
    """

    model_config = RECORD_CONFIG

    interaction_id: str
    owner: str
    kind: JobKind
    conversation_id: str | None = None
    model: str | None = None
    agent: str | None = None
    label: str | None = None
    status: str = "in_progress"
    progress: list[ProgressNote] = Field(default_factory=list)
    progress_seen: int = 0
    output: str | None = None
    output_truncated: bool = False
    citations: list[dict[str, str]] = Field(default_factory=list)
    usage: UsageCounts = Field(default_factory=dict)
    environment_id: str | None = None
    error: str | None = None
    plan_offered: bool = False
    upstream_id: str | None = None
    """The interaction the job waits on now, once a function-calling loop went past `interaction_id`
    (which stays the handle its owner polls)."""
    upstream_notes_from: int = 0
    """How many progress notes came before `upstream_id`'s own: a watcher resumed after a restart
    replays that interaction's stream and stores its thoughts from there, none twice and none lost."""
    tool_rounds: int = 0
    """Rounds of function calls the server answered in this job's turn: those its caller answered
    before the turn was handed on, then those its watcher sent."""
    calls_started: str | None = None
    """The interaction whose function calls a watcher began to run (a later watcher that finds it still
    waiting knows they may have run already)."""
    created: float
    updated: float
    finished: float | None = None

    @property
    def is_finished(self) -> bool:
        return self.finished is not None


class ResourceRecord(BaseModel):
    """Something a principal owns that lives outside the store (a file on disk, an upstream resource).

    Keyed by owner, kind and id: another principal's record of the same id is a different record, and
    looking up someone else's id finds nothing. `data` holds what the kind needs (a media file's path
    and type, an upload's Files API name and uri); `expires` (epoch seconds) ends it, for uploads that
    the Files API deletes after 48 hours.
    """

    model_config = RECORD_CONFIG

    owner: str
    kind: ResourceKind
    id: str
    data: dict[str, Any] = Field(default_factory=dict)
    created: float
    expires: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now
