"""`rss-ingest run` as a real subprocess: signals, restarts, nothing lost or stored twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import ROOT, Sites
from tests.helpers import (
    distinct_article_page,
    free_port,
    start_daemon,
    stop_daemon,
    until,
    user_env,
)

ARTICLES = 6
ARTICLE_REQUESTS = web.AppKey("article_requests", list[str])


@pytest.fixture
def app(app: web.Application) -> web.Application:
    app[ARTICLE_REQUESTS] = []

    async def feed(request: web.Request) -> web.Response:
        items = "".join(
            f"<item><link>http://{request.host}/slow/{n}</link></item>" for n in range(ARTICLES)
        )
        body = f"<rss version='2.0'><channel><title>Slow</title>{items}</channel></rss>"
        return web.Response(text=body, content_type="text/xml")

    async def slow_article(request: web.Request) -> web.Response:
        request.app[ARTICLE_REQUESTS].append(request.path)
        await asyncio.sleep(0.5)
        text = distinct_article_page(int(request.match_info["n"]), f"http://{request.host}/d")
        return web.Response(text=text, content_type="text/html")

    app.router.add_get("/slow.xml", feed)
    app.router.add_get("/slow/{n}", slow_article)
    return app


def config(folder: Path, feed: str, grace: float) -> Path:
    (folder / "feeds.toml").write_text(f'[[feeds]]\nurl = "{feed}"\n')
    (folder / "rules.toml").write_text((ROOT / "config" / "rules.toml").read_text())
    (folder / "settings.toml").write_text(
        f'database_url = "sqlite:///{folder / "news.db"}"\n'
        f"shutdown_grace_seconds = {grace}\ntick_seconds = 0.5\nextract_workers = 1\n"
        "per_host_delay = 0.0\nper_host_concurrency = 2\n"
    )
    return folder / "settings.toml"


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []


def article_count(database: Path) -> int:
    found = rows(database, "select count(*) from articles")
    return int(found[0][0]) if found else 0


async def test_sigterm_mid_poll_then_restart_stores_everything_once(
    sites: Sites, tmp_path: Path
) -> None:
    database = tmp_path / "news.db"
    settings = config(tmp_path, sites.url("slow.xml"), grace=0.2)
    process = await start_daemon(settings)
    await until(lambda: bool(sites.server.app[ARTICLE_REQUESTS]))
    code, err = await stop_daemon(process)
    assert code == 0, err
    assert "SIGTERM: finishing polls in flight" in err
    assert "abandoned 1 polls at shutdown" in err
    assert article_count(database) == 0  # the feed's transaction was rolled back, not half-written
    assert rows(database, "select last_polled_at from feeds") == [(None,)]

    settings = config(tmp_path, sites.url("slow.xml"), grace=30)
    process = await start_daemon(settings)
    await until(lambda: article_count(database) == ARTICLES)
    code, err = await stop_daemon(process)
    assert code == 0, err
    urls = rows(database, "select url from articles")
    assert len(urls) == len(set(urls)) == ARTICLES

    process = await start_daemon(settings)
    await asyncio.sleep(1.5)  # started and ticking; the feed is not due again yet
    process.kill()
    await process.wait()
    assert article_count(database) == ARTICLES
    assert rows(database, "pragma integrity_check") == [("ok",)]


async def test_sigterm_lets_polls_in_flight_finish(sites: Sites, tmp_path: Path) -> None:
    database = tmp_path / "news.db"
    process = await start_daemon(config(tmp_path, sites.url("slow.xml"), grace=30))
    await until(lambda: bool(sites.server.app[ARTICLE_REQUESTS]))
    code, err = await stop_daemon(process)
    assert code == 0, err
    assert article_count(database) == ARTICLES
    assert "daemon stopped" in err


def pool_workers() -> set[int]:
    """Pids of live multiprocessing processes on this machine: pool workers, fork servers."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"multiprocessing" in (proc / "cmdline").read_bytes():
                found.add(int(proc.name))
        except OSError:
            continue
    return found


async def test_a_second_signal_exits_at_once_leaving_no_workers(
    sites: Sites, tmp_path: Path
) -> None:
    before = pool_workers()
    process = await start_daemon(config(tmp_path, sites.url("slow.xml"), grace=30))
    await until(lambda: bool(sites.server.app[ARTICLE_REQUESTS]))
    process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.2)
    code, err = await stop_daemon(process, signal.SIGINT)
    assert code == 130
    assert "second SIGINT: exiting now" in err
    await until(lambda: pool_workers() <= before, seconds=5)


async def test_metrics_health_json_logs_and_status(sites: Sites, tmp_path: Path) -> None:
    import json

    import aiohttp

    port = free_port()
    settings = config(tmp_path, sites.url("slow.xml"), grace=30)
    settings.write_text(settings.read_text() + f'metrics_port = {port}\nlog_format = "json"\n')
    database = tmp_path / "news.db"
    process = await start_daemon(settings)
    await until(lambda: article_count(database) == ARTICLES)
    async with aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
        # the poll is counted just after its transaction commits
        for _ in range(100):
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
            if "rss_ingest_polls_total{" in metrics:
                break
            await asyncio.sleep(0.05)
    assert 'rss_ingest_polls_total{outcome="ok"} 1.0' in metrics
    assert 'rss_ingest_articles_total{outcome="new"} 6.0' in metrics
    assert "rss_ingest_poll_lag_seconds" in metrics
    assert "rss_ingest_event_loop_lag_seconds_count" in metrics
    assert "rss_ingest_due_feeds 0.0" in metrics
    assert "rss_ingest_pool_restarts_total 0.0" in metrics
    code, err = await stop_daemon(process)
    assert code == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    polled = [e for e in events if e["message"].startswith("polled ")]
    assert polled and polled[0]["feed"] == sites.url("slow.xml") and polled[0]["new"] == ARTICLES

    env = user_env()
    status = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipeline",
        "status",
        "--config",
        str(settings),
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await status.communicate()
    assert status.returncode == 0
    assert "feeds: 1 active (0 due now, 0 failing), 0 inactive" in out.decode()
    assert f"articles: {ARTICLES} stored, {ARTICLES} originals" in out.decode()
