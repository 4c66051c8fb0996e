"""Several `rss-ingest run` processes on one PostgreSQL database split the feeds by leases."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pipeline.daemon import dead_local_worker
from tests.conftest import ROOT
from tests.databases import postgres_url
from tests.helpers import distinct_article_page, start_daemon, stop_daemon, until

FEEDS = 200
postgres = postgres_url  # the fixture: a fresh PostgreSQL database
FEED_REQUESTS = web.AppKey("feed_requests", Counter[int])


@pytest.fixture
async def news() -> AsyncIterator[TestServer]:
    """200 feeds of one article each; a feed answers slowly, so that no worker can do it all."""
    app = web.Application()
    app[FEED_REQUESTS] = Counter()

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        request.app[FEED_REQUESTS][n] += 1
        await asyncio.sleep(0.2)
        link = f"http://{request.host}/article/{n}"
        body = f"<rss version='2.0'><channel><title>Feed {n}</title><item><link>{link}</link>"
        return web.Response(text=body + "</item></channel></rss>", content_type="text/xml")

    async def article(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        page = distinct_article_page(n, f"http://{request.host}/ledger")
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/feed/{n}.xml", feed)
    app.router.add_get("/article/{n}", article)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def worker_config(folder: Path, database: str, server: TestServer, lease: float) -> Path:
    feeds = "".join(
        f'[[feeds]]\nurl = "{server.make_url(f"/feed/{n}.xml")}"\n' for n in range(FEEDS)
    )
    (folder / "feeds.toml").write_text(feeds)
    (folder / "rules.toml").write_text((ROOT / "config" / "rules.toml").read_text())
    (folder / "settings.toml").write_text(
        f'database_url = "{database}"\ntick_seconds = 0.5\nextract_workers = 1\n'
        "feed_concurrency = 8\nper_host_concurrency = 16\nper_host_delay = 0.0\n"
        f"respect_robots_txt = false\nfeed_lease_seconds = {lease}\nshutdown_grace_seconds = 5\n"
    )
    return folder / "settings.toml"


async def fetch(database: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def polled(database: str) -> int:
    try:
        rows = await fetch(database, "select count(*) from feeds where last_polled_at is not null")
    except (asyncpg.UndefinedTableError, asyncpg.PostgresError):
        return 0
    return int(rows[0][0])


async def until_polled(database: str, count: int, seconds: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while await polled(database) < count:
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for polls"
        await asyncio.sleep(0.2)


async def assert_every_article_stored_once(database: str) -> None:
    (total,) = await fetch(database, "select count(*), count(distinct feed_id) from articles")
    assert tuple(total) == (FEEDS, FEEDS)
    twice = await fetch(
        database, "select feed_id, source_url from articles group by 1, 2 having count(*) > 1"
    )
    assert twice == []


async def test_three_workers_poll_every_feed_once_and_store_every_article_once(
    postgres: str, news: TestServer, tmp_path: Path
) -> None:
    settings = worker_config(tmp_path, postgres, news, lease=900)
    workers = [await start_daemon(settings) for _ in range(3)]
    try:
        await until_polled(postgres, FEEDS)
    finally:
        for worker in workers:
            code, err = await stop_daemon(worker)
            assert code == 0, err
    assert sorted(news.app[FEED_REQUESTS].values()) == [1] * FEEDS  # none polled twice
    await assert_every_article_stored_once(postgres)
    owners = await fetch(postgres, "select lease_owner, count(*) from feeds group by 1")
    assert len(owners) == 3  # each worker took a share
    assert await fetch(postgres, "select id from feeds where lease_expires_at is not null") == []


async def test_a_killed_workers_feeds_are_taken_over(
    postgres: str, news: TestServer, tmp_path: Path
) -> None:
    settings = worker_config(tmp_path, postgres, news, lease=3)
    workers = [await start_daemon(settings) for _ in range(3)]
    victim = workers[0]
    try:
        await until_polled(postgres, 40)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        # Read once it is dead: a lease read before the kill may have been released since.
        held = await fetch(
            postgres,
            f"select id from feeds where lease_owner like '%:{victim.pid}' "
            "and lease_expires_at is not null",
        )
        assert held, "the killed worker held no lease: nothing to take over"
        await until_polled(postgres, FEEDS)
    finally:
        for worker in workers[1:]:
            code, err = await stop_daemon(worker)
            assert code == 0, err
    taken_over = await fetch(
        postgres,
        "select lease_owner, lease_expires_at from feeds where id in ("
        + ",".join(str(row["id"]) for row in held)
        + ")",
    )
    assert all(not row["lease_owner"].endswith(f":{victim.pid}") for row in taken_over)
    assert all(row["lease_expires_at"] is None for row in taken_over)
    await assert_every_article_stored_once(postgres)


def test_only_dead_workers_of_this_host_are_released_at_start() -> None:
    alive = {10}.__contains__
    assert dead_local_worker("box:11", "box", alive)
    assert not dead_local_worker("box:10", "box", alive)
    assert not dead_local_worker("other:11", "box", alive)  # may be alive over there
    assert not dead_local_worker("my-name", "box", alive)  # a worker_name chosen by hand


async def test_a_restart_after_kill_9_polls_the_killed_daemons_feeds_at_once(
    news: TestServer, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'news.db'}"
    settings = worker_config(tmp_path, database, news, lease=900)
    process = await start_daemon(settings)
    await until(lambda: sum(news.app[FEED_REQUESTS].values()) >= 10)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    restarted = await start_daemon(settings)
    try:
        await until(lambda: len(news.app[FEED_REQUESTS]) == FEEDS, seconds=120)
    finally:
        code, err = await stop_daemon(restarted)
    assert code == 0, err
    assert "which no longer runs" in err
