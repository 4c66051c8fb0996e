"""What the storage tests share: a clock reading, an article as the pipeline hands it over
(its published time in a zone other than UTC), and a feed in the store."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from pipeline.records import Article
from storage import queries
from storage.store import Store
from tests.helpers import an_article

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TEHRAN = timezone(timedelta(hours=3, minutes=30))


def article(
    url: str, body: str, *, guid: str | None = None, source_url: str | None = None
) -> Article:
    return replace(
        an_article(body, url, site=""),
        source_url=source_url or url,
        guid=guid,
        published_at=datetime(2024, 5, 1, 9, 30, tzinfo=TEHRAN),
        fetched_at=NOW,
        raw_body="",
    )


async def new_feed(store: Store, url: str = "https://site.example/rss") -> int:
    async with store.writing() as session:
        await queries.insert_new_feeds(session, [(url, "Site")], NOW)
    async with store.reading() as session:
        (feed,) = await queries.feeds_by_url(session, [url])
    return feed.id
