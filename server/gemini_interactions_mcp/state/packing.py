"""Records as compact bytes, for the stores that keep them in memory.

A pydantic record with its lists and dicts costs several times its JSON size in Python objects (a
finished research job held as a `JobRecord` took about 3.6 KB, its conversation 1.6 KB). Kept as
deflated JSON instead, they take about 0.7 KB and 0.2 KB: the deflate dictionary is the records' own
field names, so even a small record compresses well (a conversation: 392 bytes of JSON -> 186).
Unpacking validates, so every read returns a fresh, checked copy. Packed bytes never leave the process,
so the dictionary may change between releases.
"""

from __future__ import annotations

import zlib
from typing import TypeVar

from pydantic import BaseModel

from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    JobRecord,
    ProgressNote,
    Transcript,
    TranscriptTurn,
)

M = TypeVar("M", bound=BaseModel)

SMALL = 6
"""Deflate level of records written now and then and kept long (finished jobs: bench/memory.py)."""
FAST = 1
"""Deflate level of records written on every turn (conversations, packed as they leave the memory
store's recently written ones): with a full local copy (12 KB of prose), level 6 took 615 µs a write
and level 1 235 µs, for 8% more bytes (5.5 KB instead of 5.1 KB)."""
_USAGE = {"input_tokens": 0, "output_tokens": 0, "thought_tokens": 0, "total_tokens": 0}
_DICTIONARY = (
    JobRecord(
        interaction_id="v1_",
        owner="local",
        kind="research",
        conversation_id="conv_",
        status="completed",
        progress=[ProgressNote(seq=1, at=0, text="**")],
        citations=[{"title": "", "url": "https://"}],
        usage=_USAGE,
        created=0,
        updated=0,
        finished=0,
    ).model_dump_json()
    + ConversationRecord(
        id="conv_",
        owner="local",
        head="v1_",
        transcript=Transcript.of([TranscriptTurn(prompt="", answer="", files=[""])]),
        created=0,
        updated=0,
    ).stored_json()
).encode()


def pack(record: BaseModel, level: int = SMALL) -> bytes:
    return pack_json(record.model_dump_json(), level)


def unpack(model: type[M], packed: bytes) -> M:
    return model.model_validate_json(unpack_json(packed))


def pack_json(text: str, level: int = SMALL) -> bytes:
    """JSON text already made (a conversation's `stored_json`), packed."""
    deflate = zlib.compressobj(level, zdict=_DICTIONARY)
    return deflate.compress(text.encode()) + deflate.flush()


def unpack_json(packed: bytes) -> str:
    return zlib.decompressobj(zdict=_DICTIONARY).decompress(packed).decode()
