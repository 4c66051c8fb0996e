"""Feed leases, on SQLite and on the real PostgreSQL. Several daemons at once:
tests/test_workers.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from storage import leases, migrate, queries
from storage.database import create_engine
from storage.models import FeedRow
from storage.store import Store
from tests.databases import postgres_url

postgres = postgres_url  # the fixture: a fresh PostgreSQL database

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


async def feeds(store: Store, count: int) -> list[int]:
    urls = [f"https://site{n}.example/rss" for n in range(count)]
    async with store.writing() as session:
        await queries.insert_new_feeds(session, [(url, None) for url in urls], NOW)
    async with store.reading() as session:
        return sorted(feed.id for feed in await queries.feeds_by_url(session, urls))


async def claim(store: Store, owner: str, limit: int, now: datetime = NOW) -> list[int]:
    async with store.writing() as session:
        claimed = await leases.claim_due_feeds(session, owner, now, now + LEASE, limit)
    return [feed.id for feed in claimed]


async def test_a_leased_feed_is_not_claimed_again_until_released_or_expired(store: Store) -> None:
    ids = await feeds(store, 5)

    first = await claim(store, "worker-a", 3)
    second = await claim(store, "worker-b", 5)

    assert sorted(first + second) == ids
    assert len(first) == 3
    assert await claim(store, "worker-c", 5) == []
    async with store.reading() as session:
        assert sorted(await leases.lease_holders(session, NOW)) == ["worker-a", "worker-b"]
        assert await leases.due_summary(session, NOW) == (0, None)

    async with store.writing() as session:
        await leases.release_leases(session, "worker-a", first[:1])
    assert await claim(store, "worker-c", 5) == first[:1]

    after_expiry = NOW + LEASE + timedelta(seconds=1)
    assert sorted(await claim(store, "worker-c", 5, after_expiry)) == ids


async def test_the_most_overdue_feeds_are_claimed_first(store: Store) -> None:
    never, late, later = await feeds(store, 3)
    async with store.writing() as session:
        for feed_id, due in ((late, NOW - timedelta(hours=2)), (later, NOW - timedelta(hours=1))):
            await session.execute(
                update(FeedRow).where(FeedRow.id == feed_id).values(next_poll_at=due)
            )
    assert await claim(store, "worker-a", 3) == [never, late, later]


async def test_concurrent_claims_skip_the_feeds_another_transaction_holds(
    postgres: str,
) -> None:
    """PostgreSQL only: on SQLite, the one writer makes a second claim wait for the first."""
    engine, other_engine = create_engine(postgres), create_engine(postgres)
    try:
        await migrate.upgrade(engine)
        store, other = Store(engine), Store(other_engine)
        ids = await feeds(store, 5)
        async with store.writing() as session:
            held = await leases.claim_due_feeds(session, "worker-a", NOW, NOW + LEASE, 3)
            # worker-a has not committed: without SKIP LOCKED worker-b would wait for it here
            # and then take the same rows.
            rest = await asyncio.wait_for(claim(other, "worker-b", 5), timeout=10)
        assert len(held) == 3
        assert sorted([feed.id for feed in held] + rest) == ids
    finally:
        await engine.dispose()
        await other_engine.dispose()
