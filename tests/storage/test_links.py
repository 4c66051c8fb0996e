"""Known links, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from storage import articles as article_storage
from storage import links
from storage.store import Store
from tests.storage.helpers import NOW, article, new_feed


async def test_failed_links_are_retried_until_max_attempts(store: Store) -> None:
    feed_id = await new_feed(store)
    link = "https://a.example/broken"
    for attempt in range(1, 4):
        async with store.reading() as session:
            known = await links.known_links(session, feed_id, [link], max_attempts=3)
        assert known.skip == set(), attempt
        async with store.writing() as session:
            await links.record_article_failure(session, feed_id, link, "HTTP 500", NOW)
    async with store.reading() as session:
        known = await links.known_links(session, feed_id, [link], max_attempts=3)
        assert known.skip == {link}


async def test_a_link_stored_by_another_feed_under_another_spelling_is_known_elsewhere(
    store: Store,
) -> None:
    first = await new_feed(store, "https://one.example/rss")
    second = await new_feed(store, "https://two.example/rss")
    async with store.writing() as session:
        await article_storage.store_articles(
            session, first, [article("https://news.example/story", "A story.")]
        )
    spellings = ["https://www.news.example/story/?utm_source=rss", "https://m.news.example/story"]
    new = "https://news.example/other"
    async with store.reading() as session:
        (row_id,) = (await session.scalars(text("select id from articles"))).all()
        mine, theirs = await links.known_links_of(
            session, [(first, spellings), (second, [*spellings, new])], max_attempts=3
        )
    assert (mine.skip, mine.elsewhere) == (frozenset(spellings), {})
    assert (theirs.skip, theirs.elsewhere) == (frozenset(), dict.fromkeys(spellings, row_id))
