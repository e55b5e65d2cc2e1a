"""Owned resources (media, uploads, File Search stores, environments): per owner, expiring, pruned by
age, on every backend."""

from __future__ import annotations

import time

import pytest

from gemini_interactions_mcp.state import ResourceRecord, Store, redis_store

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


async def test_prune_drops_every_owners_old_records_of_one_kind(store: Store) -> None:
    await store.put_resource(record("alice", "a-old", created=10.0, data={"file": "/a"}))
    await store.put_resource(record("bob:x", "b-old", created=20.0))  # a colon in an owner is no separator
    await store.put_resource(record("alice", "a-new", created=30.0))
    await store.put_resource(record("alice", "at-cut", created=25.0))  # "before" is strict
    await store.put_resource(record("alice", "upload", created=1.0, kind="upload"))
    await store.put_resource(record("bob:x", "replaced", created=5.0))
    await store.put_resource(record("bob:x", "replaced", created=40.0))  # its new time counts
    pruned = await store.prune_resources("media", created_before=25.0)
    assert [(r.owner, r.id, r.data) for r in pruned] == [
        ("alice", "a-old", {"file": "/a"}),
        ("bob:x", "b-old", {}),
    ]
    assert [r.id for r in await store.list_resources("alice", "media")] == ["at-cut", "a-new"]
    assert [r.id for r in await store.list_resources("bob:x", "media")] == ["replaced"]
    assert await store.get_resource("alice", "media", "a-old") is None
    assert await store.get_resource("alice", "upload", "upload") is not None, "other kinds are left alone"
    assert await store.prune_resources("media", created_before=25.0) == [], "a second prune finds nothing"


async def test_prune_goes_past_one_batch(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_store, "PRUNE_BATCH", 2)  # Redis deletes in batches; the others in one go
    for n in range(7):
        await store.put_resource(record("alice", f"m{n}", created=float(n)))
    pruned = await store.prune_resources("media", created_before=5.0)
    assert [r.id for r in pruned] == ["m0", "m1", "m2", "m3", "m4"]
    assert [r.id for r in await store.list_resources("alice", "media")] == ["m5", "m6"]
