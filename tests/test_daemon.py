"""The daemon's decisions against real servers on 127.0.0.1, with a controllable clock.

Ticks are called directly, so no test waits for the scheduler; the real `rss-ingest run`
with signals is in test_run_command.py.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pipeline.crawl import Crawler
from pipeline.daemon import Daemon
from pipeline.reports import FeedReport
from pipeline.rules import RuleSet
from pipeline.settings import Settings
from storage import queries
from storage.queries import FeedState
from storage.store import Store
from tests.conftest import Sites

START = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def rss(base: str, items: list[tuple[str, datetime]], extra: str = "") -> str:
    body = "".join(
        f"<item><title>{link}</title><link>{base}{link}</link>"
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
        for link, when in items
    )
    return f"<rss version='2.0'><channel><title>T</title>{extra}{body}</channel></rss>"


@pytest.fixture
def app(app: web.Application) -> web.Application:
    state = {"calls": 0}

    async def failing(request: web.Request) -> web.Response:
        raise web.HTTPInternalServerError()

    async def gone(request: web.Request) -> web.Response:
        raise web.HTTPGone()

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/presstv/rss.xml")

    async def busy(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "7200"})

    async def hourly_news(request: web.Request) -> web.Response:
        items = [(f"/none/{n}", START - timedelta(hours=2 * n)) for n in range(6)]
        return web.Response(text=rss(f"http://{request.host}", items), content_type="text/xml")

    async def with_ttl(request: web.Request) -> web.Response:
        items = [(f"/none/{n}", START - timedelta(hours=2 * n)) for n in range(6)]
        body = rss(f"http://{request.host}", items, extra="<ttl>180</ttl>")
        return web.Response(text=body, content_type="text/xml")

    async def flaky(request: web.Request) -> web.Response:
        state["calls"] += 1
        if state["calls"] == 1:
            raise web.HTTPBadGateway()
        return web.Response(text=rss(f"http://{request.host}", []), content_type="text/xml")

    for path, handler in {
        "/failing.xml": failing,
        "/gone.xml": gone,
        "/moved.xml": moved,
        "/busy.xml": busy,
        "/hourly.xml": hourly_news,
        "/ttl.xml": with_ttl,
        "/flaky.xml": flaky,
    }.items():
        app.router.add_get(path, handler)
    return app


MakeDaemon = Callable[..., Awaitable[Daemon]]


@pytest.fixture
async def make_daemon(
    store: Store, settings: Settings, rules: RuleSet, pool: Executor
) -> AsyncIterator[MakeDaemon]:
    crawlers: list[Crawler] = []

    async def make(
        *urls: str, clock: Clock, feeds_file: Path | None = None, **overrides: Any
    ) -> Daemon:
        daemon_settings = dataclasses.replace(settings, **overrides)
        crawler = Crawler(daemon_settings, rules, store, pool, clock, random.Random(7))
        await crawler.__aenter__()
        crawlers.append(crawler)
        async with store.writing() as session:
            await queries.insert_new_feeds(session, [(u, None) for u in urls], clock())
        return Daemon(daemon_settings, store, crawler, feeds_file, clock=clock)

    yield make
    for crawler in crawlers:
        await crawler.__aexit__(None, None, None)


async def feed(store: Store, url: str) -> FeedState:
    async with store.reading() as session:
        found = await queries.feeds_by_url(session, [url])
    assert found, url
    return found[0]


async def tick(daemon: Daemon) -> int:
    dispatched = await daemon.tick()
    await daemon.settle()
    return dispatched


async def test_failures_back_off_then_the_feed_is_made_inactive(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    clock = Clock()
    url = sites.url("failing.xml")
    daemon = await make_daemon(url, clock=clock, max_feed_failures=4)
    delays = []
    for _ in range(4):
        assert await tick(daemon) == 1
        state = await feed(store, url)
        assert state.next_poll_at is not None
        delays.append((state.next_poll_at - clock.now).total_seconds())
        assert await tick(daemon) == 0  # not due again yet
        clock.now = state.next_poll_at
    assert [round(d / 300) for d in delays[:3]] == [1, 2, 4]  # 5 min, doubling (±10% jitter)
    state = await feed(store, url)
    assert not state.active
    assert state.error_count == 4
    assert state.inactive_reason == "4 failed polls in a row; last: HTTP 500 Internal Server Error"
    clock.now += timedelta(days=30)
    assert await tick(daemon) == 0  # inactive feeds are not polled


async def test_a_success_resets_the_backoff(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    clock = Clock()
    url = sites.url("flaky.xml")
    daemon = await make_daemon(url, clock=clock)
    await tick(daemon)
    assert (await feed(store, url)).error_count == 1
    clock.now = (await feed(store, url)).next_poll_at or clock.now
    await tick(daemon)
    state = await feed(store, url)
    assert (state.error_count, state.last_error, state.last_status) == (0, None, 200)


async def test_410_gone_deactivates_at_once(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    daemon = await make_daemon(sites.url("gone.xml"), clock=Clock())
    await tick(daemon)
    state = await feed(store, sites.url("gone.xml"))
    assert not state.active
    assert state.inactive_reason == "the feed is gone (HTTP 410 Gone)"


async def test_permanent_redirect_updates_the_feed_url(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    daemon = await make_daemon(sites.url("moved.xml"), clock=Clock())
    await tick(daemon)
    async with store.reading() as session:
        urls = [f.url for f in await queries.list_feeds(session)]
    assert urls == [sites.url("presstv/rss.xml")]


async def test_retry_after_is_respected(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    clock = Clock()
    daemon = await make_daemon(sites.url("busy.xml"), clock=clock)
    await tick(daemon)
    state = await feed(store, sites.url("busy.xml"))
    assert state.next_poll_at is not None
    assert (state.next_poll_at - clock.now).total_seconds() >= 7200 * 0.9
    assert state.last_status == 503


@pytest.mark.parametrize(("path", "interval"), [("hourly.xml", 3600), ("ttl.xml", 10800)])
async def test_interval_adapts_to_the_feeds_rhythm_and_hints(
    sites: Sites, store: Store, make_daemon: MakeDaemon, path: str, interval: int
) -> None:
    clock = Clock()
    daemon = await make_daemon(sites.url(path), clock=clock)
    await tick(daemon)
    state = await feed(store, sites.url(path))
    assert state.poll_interval_seconds == interval
    assert state.next_poll_at is not None
    assert abs((state.next_poll_at - clock.now).total_seconds() - interval) <= interval * 0.1


async def test_not_modified_feed_is_not_parsed_or_refetched(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    clock = Clock()
    url = sites.url("presstv/rss.xml")
    daemon = await make_daemon(url, clock=clock)
    await tick(daemon)
    first = await feed(store, url)
    sites.requests.clear()
    clock.now = first.next_poll_at or clock.now
    await tick(daemon)
    again = await feed(store, url)
    assert again.last_status == 304
    assert sites.requests == ["/presstv/rss.xml"]
    assert again.poll_interval_seconds == first.poll_interval_seconds


async def test_a_restart_resumes_the_schedule_without_a_herd(
    sites: Sites, store: Store, make_daemon: MakeDaemon
) -> None:
    clock = Clock()
    urls = [sites.url(f"{site}/feed.xml") for site in ("aljazeera", "sciencealert", "thehill")]
    daemon = await make_daemon(*urls, clock=clock, feed_concurrency=2)
    assert await daemon.tick() == 2  # at most feed_concurrency at once
    await daemon.settle()  # the freed slots took the third
    states = [await feed(store, u) for u in urls]
    assert all(state.last_polled_at for state in states)

    restarted = await make_daemon(clock=clock)
    assert await tick(restarted) == 0  # nothing is due: no re-poll of every feed
    clock.now = min(state.next_poll_at or clock.now for state in states)
    assert await tick(restarted) == 1


async def test_feeds_file_changes_take_effect_at_the_next_tick(
    sites: Sites, store: Store, make_daemon: MakeDaemon, tmp_path: Path
) -> None:
    feeds_file = tmp_path / "feeds.toml"
    first, second = sites.url("presstv/rss.xml"), sites.url("thehill/feed.xml")
    feeds_file.write_text(f'[[feeds]]\nurl = "{first}"\n')
    clock = Clock()
    daemon = await make_daemon(clock=clock, feeds_file=feeds_file)
    assert await tick(daemon) == 1

    feeds_file.write_text(f'[[feeds]]\nurl = "{second}"\n')
    os.utime(feeds_file, (1, 1))  # a new mtime even within the same clock tick
    assert await tick(daemon) == 1
    assert (await feed(store, second)).last_polled_at is not None
    removed = await feed(store, first)
    assert (removed.active, removed.inactive_reason) == (
        False,
        "no longer listed in the feeds file",
    )

    feeds_file.write_text("[[feeds]\nbroken")
    os.utime(feeds_file, (2, 2))
    assert await tick(daemon) == 0  # a broken file is logged and ignored; nothing is lost
    assert (await feed(store, second)).active


class DatabaseFailingCrawler:
    """Every poll fails as in a database outage (the real outage: test_process_faults.py)."""

    async def poll(self, feed: FeedState) -> FeedReport:
        return FeedReport(feed.url, error="database error: gone", database_failed=True)


async def test_a_poll_the_database_failed_is_retried_soon_then_less_often(
    store: Store, settings: Settings
) -> None:
    clock = Clock()
    async with store.writing() as session:
        await queries.insert_new_feeds(session, [("http://127.0.0.1:9/feed.xml", None)], START)
    daemon = Daemon(settings, store, DatabaseFailingCrawler(), None, clock=clock)  # type: ignore[arg-type]
    dispatched = [await tick(daemon)]
    for seconds in (4, 1, 9, 1, 19, 1):  # given back after 5, then 10, then 20 s
        clock.now += timedelta(seconds=seconds)
        dispatched.append(await tick(daemon))
    assert dispatched == [1, 0, 1, 0, 1, 0, 1]
