"""Whole crawls against real HTTP servers on 127.0.0.1, stored in a real SQLite database."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

from pipeline.article import build_signed_article
from pipeline.crawl import WORKER_DIED, Crawler, utc_now
from pipeline.pool import ExtractionPool
from pipeline.pool_calls import run_calls
from pipeline.rules import RuleSet
from pipeline.settings import Settings
from storage import database, migrate, queries
from storage.store import Store
from tests.conftest import FIXTURES, CrawlFeeds, Sites, seed_paragraphs, seed_parts
from tests.helpers import query
from tests.stories import TRUTH


def rss(base: str, links: list[str], guids: list[str] | None = None) -> str:
    items = "".join(
        f"<item><title>Item {n}</title><link>{escape(base + link)}</link>"
        f"<guid isPermaLink='false'>{escape((guids or links)[n])}</guid></item>"
        for n, link in enumerate(links)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>{items}</channel></rss>"
    )


GREEK_TITLE = "Ελληνικά νέα"
GREEK_ITEM = "Άρθρο για την Αθήνα"  # noqa: RUF001 - Greek letters, on purpose
GREEK_FEED = (
    f'<?xml version="1.0"?><rss version="2.0"><channel><title>{GREEK_TITLE}</title>'
    f"<item><title>{GREEK_ITEM}</title>"
    "<link>{base}/presstv/Detail/2022/01/01/674433.html</link></item></channel></rss>"
)


def base_of(request: web.Request) -> str:
    return f"http://{request.host}"


@pytest.fixture
def app(app: web.Application) -> web.Application:
    """The fixture sites plus the broken servers a crawler meets."""

    async def html_instead_of_feed(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body><h1>Welcome</h1></body></html>", content_type="text/html"
        )

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * 8, content_type="application/octet-stream")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text="too late")

    async def mixed_feed(request: web.Request) -> web.Response:
        links = ["/doc.pdf", "/missing.html", "/presstv/Detail/2022/01/01/674433.html"]
        return web.Response(text=rss(base_of(request), links), content_type="application/rss+xml")

    async def pdf(request: web.Request) -> web.Response:
        return web.Response(
            body=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", content_type="application/pdf"
        )

    async def no_etag_feed(request: web.Request) -> web.Response:
        feed = (FIXTURES / "sites" / "presstv" / "rss.xml").read_text()
        body = feed.replace("{{BASE}}", base_of(request) + "/presstv")
        return web.Response(text=body, content_type="application/rss+xml")

    async def bozo_feed(request: web.Request) -> web.Response:
        # feedparser's own corrupted-ampersand test feed, pointed at a real page
        feed = (FIXTURES / "feeds" / "illformed-rss-corrupted-ampersands.xml").read_text()
        page = base_of(request) + "/presstv/Detail/2022/01/01/674433.html?a=1&amp;b=2"
        return web.Response(
            text=feed.replace("http://link/get?a=1&amp;b=2", page), content_type="text/xml"
        )

    async def greek_feed(request: web.Request) -> web.Response:
        # The encoding is named only by the HTTP header, not by the document.
        return web.Response(
            body=GREEK_FEED.format(base=base_of(request)).encode("iso-8859-7"),
            headers={"Content-Type": "text/xml; charset=iso-8859-7"},
        )

    for path, handler in {
        "/greek/feed.xml": greek_feed,
        "/html-page": html_instead_of_feed,
        "/garbage": garbage,
        "/slow": slow,
        "/mixed/feed.xml": mixed_feed,
        "/doc.pdf": pdf,
        "/noetag/feed.xml": no_etag_feed,
        "/bozo/feed.xml": bozo_feed,
    }.items():
        app.router.add_get(path, handler)
    return app


async def test_seed_article_is_stored_clean(sites: Sites, store: Store, crawl: CrawlFeeds) -> None:
    summary = await crawl(sites.url("presstv/rss.xml"))
    assert summary.count("new") == 1
    ((url, source_url, title, published, body, words, guid),) = await query(
        store, "select url, source_url, title, published_at, body, word_count, guid from articles"
    )
    paragraphs = str(body).split("\n\n")
    assert paragraphs == seed_paragraphs()
    parts = seed_parts()
    for boilerplate in (
        parts["footer"],
        parts["links"],
        parts["breadcrumb"],
        parts["caption"],
        parts["title"],
    ):
        assert boilerplate not in str(body)
    assert "alternate addresses" not in str(body)
    assert "Photo by AFP" not in str(body)
    for related in ("Related News", "Preparations under way in Kerman", "PMU holds parade"):
        assert related not in str(body)
    assert str(url).startswith("https://www.presstv.ir/Detail/2022/01/01/674433/")
    assert source_url == sites.url("presstv/Detail/2022/01/01/674433.html")  # utm_* gone
    assert title == parts["title"]
    assert published == "2022-01-01 13:35:00"
    assert words == len(str(body).split())
    assert guid == "674433"


async def test_second_crawl_adds_nothing_and_fetches_no_article(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    feeds = [
        sites.url(f"{site}/feed.xml") for site in ("aljazeera", "sciencealert", "thehill", "mirror")
    ]
    feeds += [sites.url("presstv/rss.xml"), sites.url("noetag/feed.xml")]
    first = await crawl(*feeds)
    # 6 benchmark pages, the seed, 3 mirror copies, and the no-ETag feed's own URL copy of
    # the seed (it lists the seed's link)
    assert (first.count("new"), first.count("duplicate")) == (7, 4)
    stored = await query(store, "select * from articles order by id")
    sites.requests.clear()

    second = await crawl(*feeds)
    assert (second.count("new"), second.count("duplicate")) == (0, 0)
    assert second.count("unchanged") == len(feeds)  # 304s, and same bytes for the no-ETag feed
    assert await query(store, "select * from articles order by id") == stored
    assert sorted(sites.requests) == sorted("/" + feed.split("/", 3)[3] for feed in feeds)


async def test_duplicates_are_linked_to_their_original(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    await crawl(sites.url("presstv/rss.xml"))
    summary = await crawl(sites.url("mirror/feed.xml"))
    assert (summary.count("new"), summary.count("duplicate"), summary.count("already_stored")) == (
        0,
        3,
        1,
    )
    rows = await query(
        store, "select id, source_url, duplicate_of, duplicate_kind from articles order by id"
    )
    original = rows[0][0]
    assert [(str(src).rsplit("/", 2)[-2:], dup, kind) for _, src, dup, kind in rows[1:]] == [
        (["mirror", "iraq-rally.html"], original, "exact"),  # same body, another site
        (["amp", "iraq-rally.html"], original, "url"),  # canonical is the copy above
        (["mirror", "iraq-rally-corrected.html"], original, "guid"),  # same feed GUID
    ]


async def test_failing_feeds_are_recorded_and_the_crawl_goes_on(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    failing = {
        sites.url("nowhere.xml"): "HTTP 404 Not Found",
        sites.url("html-page"): "not a feed: got an HTML page",
        sites.url("garbage"): "not an RSS or Atom feed",
        sites.url("slow"): "timed out after 1 s",
        "http://127.0.0.1:9/feed.xml": "cannot connect",
    }
    summary = await crawl(sites.url("presstv/rss.xml"), *failing, total_timeout=1.0)
    assert len(summary.failed_feeds) == 5
    assert summary.count("new") == 1
    errors = dict(await query(store, "select url, last_error from feeds where error_count = 1"))
    assert set(errors) == set(failing)
    for url, reason in failing.items():
        assert str(errors[url]).startswith(reason), (url, errors[url])
    ok = await query(
        store, "select last_status, last_error, error_count from feeds where url like '%presstv%'"
    )
    assert ok == [(200, None, 0)]


async def test_feeds_on_private_addresses_are_refused_by_default(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    feed = sites.url("presstv/rss.xml")
    summary = await crawl(feed, allow_private_addresses=False)
    (report,) = summary.failed_feeds
    assert report.error == "refused: 127.0.0.1 is a loopback address"
    assert sites.requests == []
    assert await query(store, "select count(*) from articles") == [(0,)]
    assert await query(store, "select last_error from feeds") == [(report.error,)]


async def test_a_feed_whose_encoding_only_http_names_is_read_in_it(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    summary = await crawl(sites.url("greek/feed.xml"))
    assert summary.count("new") == 1
    assert await query(store, "select title from feeds") == [(GREEK_TITLE,)]
    assert await query(store, "select title from articles") == [(GREEK_ITEM,)]


async def test_bad_article_pages_are_recorded_and_retried(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    feed = sites.url("mixed/feed.xml")
    summary = await crawl(feed)
    assert (summary.count("new"), summary.count("failed")) == (1, 2)
    failures = dict(await query(store, "select url, reason from article_failures"))
    assert failures == {
        sites.url("doc.pdf"): "not an HTML page (application/pdf)",
        sites.url("missing.html"): "HTTP 404 Not Found",
    }
    await crawl(feed, max_article_attempts=2)  # the feed's bytes did not change: no retry yet
    attempts = await query(store, "select attempts from article_failures")
    assert attempts == [(1,), (1,)]


async def test_a_malformed_feed_is_still_used(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    summary = await crawl(sites.url("bozo/feed.xml"))
    assert summary.failed_feeds == []
    assert summary.count("new") == 1


async def test_real_pages_keep_their_text(sites: Sites, store: Store, crawl: CrawlFeeds) -> None:
    await crawl(
        *(sites.url(f"{site}/feed.xml") for site in ("aljazeera", "sciencealert", "thehill"))
    )
    bodies = dict(await query(store, "select url, body from articles"))
    assert len(bodies) == len(TRUTH) == 6
    for item in TRUTH.values():
        expected = set(item["articleBody"].split())
        got = set(str(bodies[item["url"]]).split())
        assert len(expected & got) / len(expected) > 0.9, item["url"]
    assert all(Path(k).suffix == ".html" for k in TRUTH)


@pytest.mark.fault
async def test_a_locked_database_fails_the_polls_not_the_crawl_and_loses_nothing(
    record_property: Callable[[str, object], None],
    sites: Sites,
    settings: Settings,
    rules: RuleSet,
    pool: Executor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 300)  # not 30 s, for the test
    path = tmp_path / "locked.db"
    engine = database.create_engine(f"sqlite:///{path}")
    await migrate.upgrade(engine)
    store = Store(engine)
    urls = [sites.url("presstv/rss.xml"), sites.url("mirror/feed.xml")]
    async with store.writing() as session:
        await queries.insert_new_feeds(session, [(url, None) for url in urls], utc_now())
    async with store.reading() as session:
        feeds = await queries.feeds_by_url(session, urls)
    other_writer = sqlite3.connect(path)
    other_writer.execute("BEGIN IMMEDIATE")  # an analyst's long write, say
    try:
        async with Crawler(settings, rules, store, pool) as crawler:
            locked = await crawler.crawl(feeds)
    finally:
        other_writer.rollback()
        other_writer.close()
    assert [r.error for r in locked.reports] == ["database error: database is locked"] * 2
    assert await query(store, "select count(*), max(last_polled_at) from feeds") == [(2, None)]
    async with Crawler(settings, rules, store, pool) as crawler:
        after = await crawler.crawl(feeds)
    assert not after.failed_feeds
    stored = await query(store, "select count(*), count(distinct url || feed_id) from articles")
    expected = after.count("new") + after.count("duplicate")
    record_property("fault", "SQLite locked by another writer past the busy timeout")
    record_property("outcome", f"polls failed: {locked.reports[0].error}; all stored after")
    record_property("rows_lost", expected - int(str(stored[0][1])))
    assert stored[0][0] == stored[0][1] == expected > 0
    await engine.dispose()


class KillsWorkersAtFirstPage(Executor):
    """The extraction pool, whose workers are killed (as the OOM killer would kill them) as
    soon as the first page is sent to them."""

    def __init__(self, pool: ExtractionPool, workers: set[int]) -> None:
        self.pool = pool
        self.workers = workers

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self.pool.submit(fn, *args, **kwargs)
        if self.workers and fn is run_calls and any(f is build_signed_article for f, _ in args[0]):
            for pid in self.workers:
                os.kill(pid, signal.SIGKILL)
            self.workers = set()
        return future


@pytest.mark.fault
async def test_a_killed_pool_worker_fails_its_pages_and_the_crawl_goes_on_on_a_new_pool(
    record_property: Callable[[str, object], None],
    sites: Sites,
    store: Store,
    settings: Settings,
    rules: RuleSet,
) -> None:
    urls = [sites.url(f"{site}/feed.xml") for site in ("aljazeera", "sciencealert", "thehill")]
    async with store.writing() as session:
        await queries.insert_new_feeds(session, [(url, None) for url in urls], utc_now())
    async with store.reading() as session:
        feeds = await queries.feeds_by_url(session, urls)
    one_at_a_time = dataclasses.replace(settings, feed_concurrency=1)
    others = {child.pid for child in multiprocessing.active_children()}
    with ExtractionPool(2) as pool:
        pool.submit(int).result(timeout=60)  # the workers are up
        workers = {child.pid for child in multiprocessing.active_children() if child.pid} - others
        killing = KillsWorkersAtFirstPage(pool, workers)
        async with Crawler(one_at_a_time, rules, store, killing) as crawler:
            first = await crawler.crawl(feeds)
        assert not killing.workers  # they were killed
        failures = await query(store, "select reason from article_failures")
        assert pool.restarts == 1
        assert first.failed_feeds == []
        assert first.count("failed") == len(failures) >= 1
        assert {reason for (reason,) in failures} == {WORKER_DIED}
        assert first.count("new") + first.count("duplicate") + len(failures) == 6
        async with Crawler(one_at_a_time, rules, store, pool) as crawler:
            second = await crawler.crawl(feeds)
    assert second.count("failed") == 0
    stored = await query(store, "select count(*), count(distinct url) from articles")
    assert stored == [(6, 6)]
    assert await query(store, "select count(*) from article_failures") == [(0,)]
    record_property("fault", "the pool's workers killed (SIGKILL) with a page in the pool")
    record_property("outcome", f"{len(failures)} page(s) failed, stored by the next crawl")
    record_property("rows_lost", 6 - int(str(stored[0][0])))
