"""Small builders shared by tests."""

from datetime import UTC, datetime

from pipeline.dedup import content_hash
from pipeline.records import Article


def an_article(body: str, url: str = "https://a.example/1", site: str = "a.example") -> Article:
    return Article(
        url=url,
        source_url=url,
        guid=None,
        title="T",
        author=None,
        published_at=None,
        fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
        language="en",
        summary=None,
        body=body,
        word_count=len(body.split()),
        content_hash=content_hash(body),
        raw_body=body,
        site=site,
    )
