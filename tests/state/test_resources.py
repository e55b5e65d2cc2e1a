"""Owned resources (media, uploads, File Search stores, environments): per owner, expiring, on both
backends."""

from __future__ import annotations

import time

import pytest

from gemini_interactions_mcp.state import ResourceRecord, Store

pytestmark = pytest.mark.anyio


def record(owner: str, rid: str, **extra: object) -> ResourceRecord:
    return ResourceRecord.model_validate(
        {"owner": owner, "kind": "media", "id": rid, "created": time.time(), **extra}
    )


async def test_records_are_per_owner(store: Store) -> None:
    await store.put_resource(record("alice", "m1", data={"path": "/a.png"}))
    got = await store.get_resource("alice", "media", "m1")
    assert got is not None and got.data == {"path": "/a.png"}
    assert await store.get_resource("bob", "media", "m1") is None, "someone else's id is unknown"
    assert await store.get_resource("alice", "upload", "m1") is None, "kinds are separate"
    await store.put_resource(record("bob", "m1", data={"path": "/b.png"}))
    assert (await store.get_resource("alice", "media", "m1")).data == {"path": "/a.png"}  # type: ignore[union-attr]
    assert not await store.delete_resource("alice", "media", "nope")
    assert await store.delete_resource("alice", "media", "m1")
    assert await store.get_resource("alice", "media", "m1") is None
    assert (await store.get_resource("bob", "media", "m1")) is not None


async def test_replace_list_and_expiry(store: Store) -> None:
    now = time.time()
    await store.put_resource(record("alice", "old", created=now - 10))
    await store.put_resource(record("alice", "new", created=now))
    await store.put_resource(record("alice", "gone", created=now - 5, expires=now - 1))
    await store.put_resource(record("alice", "new", created=now, data={"v": 2}))
    listed = await store.list_resources("alice", "media")
    assert [r.id for r in listed] == ["old", "new"] and listed[1].data == {"v": 2}
    assert await store.get_resource("alice", "media", "gone") is None
    assert await store.list_resources("bob", "media") == []
