"""`rss-ingest status` counts, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from storage import articles as article_storage
from storage import queries, status
from storage.queries import PollOutcome
from storage.store import Store
from tests.storage.helpers import NOW, article, new_feed


async def test_status_counts_feeds_articles_days_and_errors(store: Store) -> None:
    feed_id = await new_feed(store, "https://a.example/rss")
    failing_id = await new_feed(store, "https://b.example/rss")
    await new_feed(store, "https://c.example/rss")
    yesterday = NOW - timedelta(days=1)
    batch = [
        replace(article("https://a.example/1", "One story."), fetched_at=yesterday),
        article("https://a.example/2", "Another story."),
        article("https://a.example/copy", "another STORY."),
        replace(article("https://a.example/old", "An old story."), fetched_at=NOW - timedelta(30)),
    ]
    async with store.writing() as session:
        await article_storage.store_articles(session, feed_id, batch)
        later = NOW + timedelta(hours=2)
        failed = PollOutcome(NOW, 503, error="HTTP 503", next_poll_at=later)
        await queries.record_poll(session, failing_id, failed)
        await queries.deactivate_feed(session, "https://c.example/rss", "gone (HTTP 410)")

    async with store.reading() as session:
        report = await status.status_report(session, NOW + timedelta(hours=1))

    assert (report.active, report.inactive, report.due, report.failing) == (2, 1, 1, 1)
    assert (report.articles, report.originals) == (4, 3)
    assert report.per_day == [(str(yesterday.date()), 1), (str(NOW.date()), 2)]
    assert report.inactive_feeds == [("https://c.example/rss", "gone (HTTP 410)")]
    assert report.last_errors == [("https://b.example/rss", "HTTP 503", NOW)]
