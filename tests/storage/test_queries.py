from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from storage import articles as article_storage
from storage import links, queries
from storage.models import ArticleRow
from storage.queries import PollOutcome
from storage.store import Store
from tests.storage.helpers import NOW, article, new_feed


async def rows(store: Store) -> list[tuple[object, ...]]:
    async with store.reading() as session:
        result = await session.execute(
            select(
                ArticleRow.id, ArticleRow.url, ArticleRow.duplicate_of, ArticleRow.duplicate_kind
            ).order_by(ArticleRow.id)
        )
        return [tuple(row) for row in result]


async def test_store_articles_links_copies_to_originals_and_is_idempotent(store: Store) -> None:
    feed_id = await new_feed(store)
    batch = [
        article("https://a.example/1", "Original story text.", guid="g1"),
        article("https://b.example/copy", "original  story TEXT."),  # exact copy
        article("https://a.example/1-new-slug", "Changed text.", guid="g1"),  # same guid
        article("https://a.example/1", "x", source_url="https://a.example/amp/1"),  # url copy
    ]
    async with store.writing() as session:
        result = await article_storage.store_articles(session, feed_id, batch)
    assert (result.new, result.duplicate, result.already_stored) == (1, 3, 0)
    stored = await rows(store)
    original = stored[0][0]
    assert [(url, dup, kind) for _, url, dup, kind in stored] == [
        ("https://a.example/1", None, None),
        ("https://b.example/copy", original, "exact"),
        ("https://a.example/1-new-slug", original, "guid"),
        ("https://a.example/amp/1", original, "url"),
    ]
    async with store.writing() as session:
        again = await article_storage.store_articles(session, feed_id, batch)
    assert (again.new, again.duplicate, again.already_stored) == (0, 0, 4)
    assert await rows(store) == stored


async def test_copies_across_batches_point_at_the_first_original(store: Store) -> None:
    feed_id = await new_feed(store)
    async with store.writing() as session:
        await article_storage.store_articles(
            session, feed_id, [article("https://a/1", "Same body.")]
        )
    async with store.writing() as session:
        await article_storage.store_articles(
            session, feed_id, [article("https://b/1", "Same body.", guid="x")]
        )
    async with store.writing() as session:
        await article_storage.store_articles(
            session, feed_id, [article("https://c/1", "Other body.", guid="x")]
        )
    stored = await rows(store)
    assert [dup for _, _, dup, _ in stored] == [None, stored[0][0], stored[0][0]]


async def test_times_are_stored_in_utc_and_read_back_aware(store: Store) -> None:
    feed_id = await new_feed(store)
    async with store.writing() as session:
        await article_storage.store_articles(session, feed_id, [article("https://a/1", "Body.")])
    async with store.reading() as session:
        published = await session.scalar(select(ArticleRow.published_at))
        raw = await session.scalar(text("select cast(published_at as text) from articles"))
    assert published == datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
    assert str(raw).startswith("2024-05-01 06:00:00")


async def test_each_row_keeps_its_own_time_when_rows_share_others(store: Store) -> None:
    """Conversions are cached per value: rows of one write must not get each other's."""
    feed_id = await new_feed(store)
    published = [NOW - timedelta(hours=hours) for hours in range(5)]
    batch = [
        replace(article(f"https://a/{n}", f"Body {n}."), published_at=when)
        for n, when in enumerate(published)
    ]
    async with store.writing() as session:
        await article_storage.store_articles(session, feed_id, batch)
    async with store.reading() as session:
        stored = (await session.execute(select(ArticleRow.url, ArticleRow.published_at))).all()
    assert sorted(stored) == sorted((f"https://a/{n}", when) for n, when in enumerate(published))


async def test_a_naive_time_is_refused_even_when_its_aware_twin_was_stored(store: Store) -> None:
    feed_id = await new_feed(store)
    async with store.writing() as session:
        await article_storage.store_articles(session, feed_id, [article("https://a/1", "One.")])
    naive = replace(article("https://a/2", "Two."), fetched_at=NOW.replace(tzinfo=None))
    with pytest.raises(StatementError, match="naive datetime"):
        async with store.writing() as session:
            await article_storage.store_articles(session, feed_id, [naive])


async def test_poll_bookkeeping_counts_consecutive_errors(store: Store) -> None:
    feed_id = await new_feed(store)
    for _ in range(2):
        async with store.writing() as session:
            await queries.record_poll(session, feed_id, PollOutcome(NOW, 503, error="HTTP 503"))
    async with store.reading() as session:
        (feed,) = await queries.list_feeds(session)
    assert (feed.error_count, feed.last_status, feed.last_error) == (2, 503, "HTTP 503")
    ok = PollOutcome(NOW, 200, etag='"e"', body_hash="h", title="New title")
    async with store.writing() as session:
        await queries.record_poll(session, feed_id, ok)
    async with store.reading() as session:
        (feed,) = await queries.list_feeds(session)
    assert (feed.error_count, feed.last_error, feed.etag, feed.title) == (
        0,
        None,
        '"e"',
        "New title",
    )
    assert feed.last_polled_at == NOW


async def test_feeds_can_be_removed_and_added_back(store: Store) -> None:
    await new_feed(store, "https://x.example/rss")
    async with store.writing() as session:
        assert await queries.deactivate_feed(session, "https://x.example/rss", "removed by user")
        assert not await queries.deactivate_feed(session, "https://x.example/rss", "again")
    async with store.reading() as session:
        assert await queries.list_feeds(session) == []
        (inactive,) = await queries.list_feeds(session, include_inactive=True)
    assert inactive.inactive_reason == "removed by user"
    async with store.writing() as session:
        assert await queries.activate_feed(session, "https://x.example/rss", None, NOW)
    async with store.reading() as session:
        assert [f.url for f in await queries.list_feeds(session)] == ["https://x.example/rss"]


async def test_one_batch_stores_several_feeds_articles(store: Store) -> None:
    first = await new_feed(store, "https://one.example/rss")
    second = await new_feed(store, "https://two.example/rss")
    shared = "https://a.example/shared"
    listed = [
        (first, article(shared, "A story both feeds list.")),
        (second, article(shared, "A story both feeds list.")),  # the second feed's own copy
        (first, article(shared, "A story both feeds list.")),  # listed twice by one feed
        (second, article("https://b.example/own", "A story only the second feed has.")),
    ]
    async with store.writing() as session:
        result = await article_storage.store_batch(session, listed)
    assert (result.originals, result.copies, result.already_stored) == ((0, 3), (1,), 1)
    async with store.reading() as session:
        stored = await session.execute(
            select(ArticleRow.feed_id, ArticleRow.url, ArticleRow.duplicate_kind).order_by(
                ArticleRow.id
            )
        )
        assert sorted(tuple(row) for row in stored) == sorted(
            [
                (first, shared, None),
                (second, "https://b.example/own", None),
                (second, shared, "url"),
            ]
        )
        (one, two) = await links.known_links_of(
            session, [(first, [shared]), (second, [shared, "https://c.example/new"])], 3
        )
    assert (one.skip, one.elsewhere) == (frozenset({shared}), {})
    assert (two.skip, two.elsewhere) == (frozenset({shared}), {})


async def test_polls_of_different_shapes_are_recorded_in_one_go(store: Store) -> None:
    ids = [await new_feed(store, f"https://{name}.example/rss") for name in ("a", "b", "c")]
    later = NOW + timedelta(hours=1)
    polls = [
        (ids[0], PollOutcome(NOW, 200, etag='"a"', body_hash="ha", title="A", next_poll_at=later)),
        (ids[1], PollOutcome(NOW, 503, error="HTTP 503", next_poll_at=later)),
        (ids[2], PollOutcome(NOW, 304, next_poll_at=later, poll_interval_seconds=600)),
    ]
    async with store.writing() as session:
        await queries.record_polls(session, polls)
        await queries.record_polls(session, polls[1:2])
    async with store.reading() as session:
        feeds = {feed.id: feed for feed in await queries.list_feeds(session)}
    assert (feeds[ids[0]].etag, feeds[ids[0]].title, feeds[ids[0]].error_count) == ('"a"', "A", 0)
    assert (feeds[ids[1]].error_count, feeds[ids[1]].last_error) == (2, "HTTP 503")
    assert (feeds[ids[2]].last_status, feeds[ids[2]].etag) == (304, None)
    assert (feeds[ids[2]].next_poll_at, feeds[ids[2]].poll_interval_seconds) == (later, 600)
    assert all(feed.last_polled_at == NOW for feed in feeds.values())
