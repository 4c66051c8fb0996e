"""What a publisher's server sees: bounded concurrency, spaced requests, robots.txt obeyed."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from sqlalchemy import text

from pipeline.politeness import HostGate, HostPaused
from storage.store import Store
from tests.conftest import CrawlFeeds, Sites
from tests.helpers import distinct_article_page

ARTICLES = 8
LINKS = [f"/page/{n}" for n in range(ARTICLES)] + ["/private/secret", "/private/other"]


class Load:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.starts: list[float] = []


@pytest.fixture
def load() -> Load:
    return Load()


@pytest.fixture
def app(app: web.Application, load: Load) -> web.Application:

    async def feed(request: web.Request) -> web.Response:
        items = "".join(f"<item><link>http://{request.host}{link}</link></item>" for link in LINKS)
        return web.Response(
            text=f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>",
            content_type="text/xml",
        )

    async def article(request: web.Request) -> web.Response:
        load.starts.append(asyncio.get_running_loop().time())
        load.now += 1
        load.peak = max(load.peak, load.now)
        await asyncio.sleep(0.1)
        load.now -= 1
        # each page a different article, so that none is a copy of another
        body = distinct_article_page(LINKS.index(request.path), f"http://{request.host}/d")
        return web.Response(text=body, content_type="text/html")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /private/\n")

    app.router.add_get("/news.xml", feed)
    app.router.add_get("/page/{n}", article)
    app.router.add_get("/private/{name}", article)
    app.router.add_get("/robots.txt", robots)
    return app


async def test_per_host_concurrency_is_what_the_server_sees(
    sites: Sites, load: Load, crawl: CrawlFeeds, store: Store
) -> None:
    summary = await crawl(sites.url("news.xml"), per_host_concurrency=2, concurrency=20)
    assert summary.count("new") == ARTICLES
    assert load.peak == 2


async def test_a_poll_fetches_and_extracts_at_most_pages_per_feed_pages_at_once(
    sites: Sites, load: Load, crawl: CrawlFeeds
) -> None:
    """Fetched pages wait for the pool in memory: the bound keeps them few, however many new."""
    summary = await crawl(
        sites.url("news.xml"), per_host_concurrency=8, concurrency=20, pages_per_feed=3
    )
    assert summary.count("new") == ARTICLES
    assert load.peak == 3


async def test_requests_to_one_host_are_spaced_by_the_minimum_delay(
    sites: Sites, load: Load, crawl: CrawlFeeds
) -> None:
    await crawl(sites.url("news.xml"), per_host_concurrency=4, per_host_delay=0.2)
    gaps = [later - earlier for earlier, later in zip(load.starts, load.starts[1:], strict=False)]
    assert len(gaps) == ARTICLES - 1
    assert min(gaps) >= 0.19


async def test_robots_txt_disallow_is_obeyed_and_recorded(
    sites: Sites, load: Load, crawl: CrawlFeeds, store: Store
) -> None:
    await crawl(sites.url("news.xml"), max_article_attempts=3)
    assert not any("private" in path for path in sites.requests)
    async with store.reading() as session:
        failures = (
            await session.execute(text("select url, reason, attempts from article_failures"))
        ).all()
    assert sorted(failures) == [
        (sites.url("private/other"), "disallowed by robots.txt", 3),
        (sites.url("private/secret"), "disallowed by robots.txt", 3),
    ]
    assert sites.requests.count("/robots.txt") == 1


async def test_robots_txt_can_be_switched_off(sites: Sites, crawl: CrawlFeeds) -> None:
    summary = await crawl(sites.url("news.xml"), respect_robots_txt=False)
    assert summary.count("new") == ARTICLES + 2
    assert "/robots.txt" not in sites.requests


async def test_a_pause_past_the_longest_wait_fails_at_once_and_a_shorter_one_is_waited() -> None:
    gate = HostGate(min_delay=0.0, max_wait=1.0, per_host=2)
    loop = asyncio.get_running_loop()
    gate.back_off("far.example", 30)
    began = loop.time()
    with pytest.raises(HostPaused) as paused:
        async with gate.turn("far.example"):
            pass
    assert 29 < paused.value.seconds <= 30
    assert loop.time() - began < 0.5
    gate.back_off("near.example", 0.2)
    began = loop.time()
    async with gate.turn("near.example"):
        assert loop.time() - began >= 0.19
    async with gate.turn("other.example"):
        assert loop.time() - began < 0.5
