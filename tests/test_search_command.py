"""`rss-ingest search` as a user runs it, over a crawl of the fixture sites."""

import json

from tests.conftest import CrawlFeeds, Sites
from tests.helpers import rss_ingest


async def test_search_finds_crawled_articles_and_marks_copies(
    sites: Sites, crawl: CrawlFeeds, database_url: str
) -> None:
    await crawl(sites.url("sciencealert/feed.xml"))
    await crawl(sites.url("wire/feed.xml"))
    code, out, err = await rss_ingest(
        "search", '"geological map"', "Titan", "--json", "--database", database_url
    )
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    assert len(hits) == 2
    original, copy = sorted(hits, key=lambda hit: hit["id"])
    assert original["duplicate_of"] is None and copy["duplicate_of"] == original["id"]
    assert "[geological map]" in original["snippet"]

    code, out, _ = await rss_ingest(
        "search", "Titan", "--originals-only", "--database", database_url
    )
    assert code == 0
    assert out.startswith(f"#{original['id']} 2019-11-19 ")
    assert len(out.splitlines()) == 2  # the hit and its snippet


async def test_search_reports_bad_input_in_one_line(database_url: str) -> None:
    code, out, err = await rss_ingest("search", "x", "--limit", "0", "--database", database_url)
    assert code == 2 and out == ""
    assert err.strip() == "rss-ingest: search: --limit must be greater than 0"
