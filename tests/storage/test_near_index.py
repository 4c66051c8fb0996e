"""The near-duplicate index in the database: windowed lookups, pruning, on both databases."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from pipeline import neardup
from pipeline.dedup import content_hash
from pipeline.records import Article
from storage import articles as article_storage
from storage import near_index
from storage.store import Store
from tests.helpers import an_article
from tests.storage.helpers import new_feed
from tests.stories import TITAN

DAY = timedelta(days=1)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def signed(url: str, body: str, fetched_at: datetime) -> Article:
    article = an_article(body, url=url)
    return replace(
        article,
        fetched_at=fetched_at,
        content_hash=content_hash(body),
        signature=neardup.signature(body, 50),
    )


async def count(store: Store, table: str) -> int:
    async with store.reading() as session:
        return int(await session.scalar(text(f"select count(*) from {table}")) or 0)


async def test_a_near_copy_inside_the_window_is_linked_and_outside_is_not(store: Store) -> None:
    feed_id = await new_feed(store)
    updated = TITAN + "\n\nUpdate: the map was presented at a conference on Tuesday."
    async with store.writing() as session:
        await article_storage.store_articles(
            session, feed_id, [signed("https://a.example/1", TITAN, T0)]
        )
    assert await count(store, "near_duplicate_signatures") == 1
    assert await count(store, "near_duplicate_bands") == neardup.BANDS

    async with store.writing() as session:  # 15 days on, with a 14-day window
        late = await article_storage.store_articles(
            session,
            feed_id,
            [signed("https://a.example/late", updated, T0 + 15 * DAY)],
            near_since=T0 + DAY,
        )
    assert (late.new, late.duplicate) == (1, 0)
    async with store.writing() as session:  # within the window
        soon = await article_storage.store_articles(
            session,
            feed_id,
            [signed("https://b.example/soon", updated + " More.", T0 + 2 * DAY)],
            near_since=T0 - 12 * DAY,
        )
    assert (soon.new, soon.duplicate) == (0, 1)
    async with store.reading() as session:
        (link,) = (
            await session.execute(
                text(
                    "select c.duplicate_kind, o.url from articles c join articles o "
                    "on o.id = c.duplicate_of"
                )
            )
        ).all()
    assert link == ("near", "https://a.example/1")  # the first-seen of the two similar originals


async def test_pruning_forgets_what_is_older_than_the_window(store: Store) -> None:
    feed_id = await new_feed(store)
    bodies = [TITAN, TITAN.replace("Titan", "Enceladus") + " Other words entirely here."]
    async with store.writing() as session:
        for day, body in enumerate(bodies):
            await article_storage.store_articles(
                session,
                feed_id,
                [signed(f"https://a.example/{day}", body, T0 + day * DAY)],
                near_threshold=1.0,
            )
    assert await count(store, "near_duplicate_signatures") == 2
    async with store.writing() as session:
        await near_index.prune(session, T0 + DAY)
    assert await count(store, "near_duplicate_signatures") == 1
    assert await count(store, "near_duplicate_bands") == neardup.BANDS
    assert await count(store, "articles") == 2  # articles stay; only the index forgets
