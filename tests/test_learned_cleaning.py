"""Boilerplate learned across a site's articles, end to end: a site of 12 real article texts
sharing a byline block, a newsletter box and a legal footer whose dates and links vary."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from pipeline import neardup
from pipeline.crawl import Crawler, utc_now
from pipeline.pool_calls import run_calls
from pipeline.rules import RuleSet
from pipeline.settings import Settings
from storage import queries
from storage.store import Store
from tests.conftest import FIXTURES, CrawlFeeds, Sites
from tests.helpers import query, rss_ingest

LEDGER = FIXTURES / "sites" / "dailyledger"
TRUTH = json.loads((LEDGER / "ground-truth.json").read_text())
BOILERPLATE = ("By Daily Ledger Staff", "morning briefing every weekday", "All rights reserved")


@pytest.fixture
def app(app: web.Application) -> web.Application:
    async def ledger_part(request: web.Request) -> web.Response:
        """The ledger's feed with its items from `first` (counted from 0) up to `stop`."""
        feed = (
            (LEDGER / "feed.xml")
            .read_text()
            .replace("{{BASE}}", f"http://{request.host}/dailyledger")
        )
        head, *items = (item.rsplit("</item>", 1)[0] for item in feed.split("<item>"))
        first, stop = int(request.query["first"]), int(request.query["stop"])
        part = "".join(f"<item>{item}</item>" for item in items[first:stop])
        return web.Response(text=f"{head}{part}</channel></rss>", content_type="text/xml")

    app.router.add_get("/ledger-part.xml", ledger_part)
    return app


class CountsPoolCalls(Executor):
    """The pool, counting the calls sent to it by function name."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self.calls: Counter[str] = Counter()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if fn is run_calls:
            self.calls.update(function.__name__ for function, _ in args[0])
        return self.pool.submit(fn, *args, **kwargs)


async def bodies(store: Store) -> dict[str, tuple[str, str]]:
    async with store.reading() as session:
        rows = await session.execute(text("select source_url, body, raw_body from articles"))
        return {url.split("/", 3)[3]: (body, raw) for url, body, raw in rows}


def assert_clean(stored: dict[str, tuple[str, str]]) -> None:
    for key, item in TRUTH.items():
        body, raw = stored[key]
        for boilerplate in BOILERPLATE:
            assert boilerplate not in body, (key, boilerplate)
            assert boilerplate in raw, (key, boilerplate)  # extraction alone keeps it
        paragraphs = body.split("\n\n")
        for paragraph in item["articleBody"].split("\n"):
            assert paragraph in paragraphs, (key, paragraph[:60])


async def test_a_site_footer_is_learned_and_removed_in_one_crawl(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    summary = await crawl(sites.url("dailyledger/feed.xml"))
    assert summary.count("new") == 12
    assert_clean(await bodies(store))
    learned = await query(
        store,
        "select sample, article_count from site_paragraphs"
        " where article_count = 12 order by sample",
    )
    assert [sample[:16] for sample, _ in learned] == [
        "By Daily Ledger ",
        "Get the Daily Le",
        "© 2019 The Daily",
    ]


async def test_pages_signed_for_what_the_crawler_learned_need_no_second_trip_to_the_pool(
    sites: Sites, store: Store, settings: Settings, rules: RuleSet, pool: Executor
) -> None:
    urls = [
        sites.url("ledger-part.xml?first=0&stop=6"),
        sites.url("ledger-part.xml?first=6&stop=12"),
    ]
    async with store.writing() as session:
        await queries.insert_new_feeds(session, [(url, None) for url in urls], utc_now())
    async with store.reading() as session:
        feeds = await queries.feeds_by_url(session, urls)
    counting = CountsPoolCalls(pool)
    async with Crawler(settings, rules, store, counting) as crawler:
        # 6 articles of 20 sampled carry the footer: enough to learn it from this very batch,
        # after the pages were signed, so they are signed again.
        first = await crawler.poll(feeds[0])
        assert (first.new, counting.calls["finish_article"]) == (6, 6)
        second = await crawler.poll(feeds[1])
    assert second.new == 6
    assert counting.calls["build_signed_article"] == 12
    assert counting.calls["finish_article"] == 6  # none for the second poll's pages
    assert_clean(await bodies(store))
    rows = await query(
        store,
        "select body, signature from articles"
        " join near_duplicate_signatures on article_id = articles.id",
    )
    assert len(rows) == 12
    for body, signature in rows:
        assert signature == neardup.signature(body, settings.near_duplicate_min_words)


async def test_reclean_cleans_articles_stored_before_the_footer_was_learned(
    sites: Sites, store: Store, crawl: CrawlFeeds, database_url: str
) -> None:
    await crawl(sites.url("ledger-part.xml?first=0&stop=4"))  # 4 articles: too few to learn from
    early = await bodies(store)
    assert len(early) == 4
    assert all("morning briefing every weekday" in body for body, _ in early.values())
    await crawl(sites.url("dailyledger/feed.xml"))  # the rest: now it is learned
    # the full feed lists the first four again: its own URL copies of them, with their bodies
    async with store.reading() as session:
        footers = await session.scalar(
            text("select count(*) from articles where body like '%morning briefing every weekday%'")
        )
    assert footers == 8

    config = [
        "--database",
        database_url,
        "--config",
        str(Path(__file__).parent.parent / "config" / "settings.toml"),
    ]
    code, out, err = await rss_ingest("reclean", *config)
    assert code == 0, err
    assert out.strip() == "reclean: 16 articles examined, 8 bodies changed"
    assert_clean(await bodies(store))
    code, out, _ = await rss_ingest("reclean", *config)
    assert out.strip() == "reclean: 16 articles examined, 0 bodies changed"  # idempotent


async def test_extract_shows_what_was_learned_and_why(
    sites: Sites, store: Store, crawl: CrawlFeeds, database_url: str
) -> None:
    await crawl(sites.url("dailyledger/feed.xml"))
    page = sites.url("dailyledger/news/3.html")
    code, out, err = await rss_ingest("extract", page, "--json", "--database", database_url)
    assert code == 0, err
    document = json.loads(out)
    assert "morning briefing every weekday" in document["raw_text"]
    assert "morning briefing every weekday" not in document["body"]
    learned = [d for d in document["dropped"] if d["rule"].startswith("learned:")]
    assert len(learned) == 3
    code, out, _ = await rss_ingest("extract", page)  # no database: rules only, footer stays
    assert code == 0 and "morning briefing every weekday" in out
