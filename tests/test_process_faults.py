"""Faults of the process and its disk: kill -9 at random points, a full disk, no DNS.

Each runs the real `rss-ingest` as a subprocess against a real server on 127.0.0.1 and checks
the database afterwards as a user would, with sqlite3.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import ROOT
from tests.helpers import distinct_article_page, free_port, run_to_end, user_env

pytestmark = pytest.mark.fault
FEEDS = 60
ITEMS = 4
KILLS = 20


def page(request: web.Request) -> str:
    """A real article page, made distinct by a paragraph naming its feed and item."""
    feed, n = int(request.match_info["feed"]), int(request.match_info["n"])
    html = distinct_article_page(feed * ITEMS + n, f"http://{request.host}/d")
    marker = f"<p>This is story {n} of feed {feed}, told as no other story is told.</p>"
    return html.replace("</article>", marker + "</article>", 1)


@pytest.fixture
async def news() -> AsyncIterator[str]:
    """FEEDS feeds of ITEMS articles each; pages answer after 0.2 s, as a busy site does, so
    that a crawl takes long enough for every kill to fall mid-work."""

    async def feed(request: web.Request) -> web.Response:
        f = request.match_info["feed"]
        items = "".join(
            f"<item><title>Story {n}</title><link>http://{request.host}/{f}/{n}</link></item>"
            for n in range(ITEMS)
        )
        return web.Response(
            text=f"<rss version='2.0'><channel><title>F{f}</title>{items}</channel></rss>",
            content_type="application/rss+xml",
        )

    async def article(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.Response(text=page(request), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{feed:\\d+}.xml", feed)
    app.router.add_get("/{feed:\\d+}/{n:\\d+}", article)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


def write_config(folder: Path, base: str, database: str, **settings: object) -> Path:
    feeds = "".join(f'[[feeds]]\nurl = "{base}/{f}.xml"\n' for f in range(FEEDS))
    (folder / "feeds.toml").write_text(feeds)
    (folder / "rules.toml").write_text((ROOT / "config" / "rules.toml").read_text())
    lines = {
        "database_url": f'"{database}"',
        "tick_seconds": 0.5,
        "extract_workers": 1,
        "per_host_delay": 0.0,
        "per_host_concurrency": 4,
    } | {name: repr(value) for name, value in settings.items()}
    (folder / "settings.toml").write_text("".join(f"{k} = {v}\n" for k, v in lines.items()))
    return folder / "settings.toml"


def command(settings: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args, "--config", str(settings)]


def committed(database: Path) -> dict[tuple[str, int], tuple[object, ...]]:
    """Every stored article, by (feed's link, feed): its id, hash and body."""
    with sqlite3.connect(database) as db:
        (check,) = db.execute("pragma integrity_check").fetchone()
        assert check == "ok"
        try:
            found = db.execute("select source_url, feed_id, id, content_hash, body from articles")
            stored = found.fetchall()
        except sqlite3.OperationalError:  # killed before the first migration committed
            return {}
        twice = db.execute(
            "select source_url, feed_id from articles"
            " group by source_url, feed_id having count(*) > 1"
        ).fetchall()
    assert twice == [], f"stored twice: {twice}"
    return {(url, feed): rest for url, feed, *rest in stored}


def expected_urls(base: str) -> set[str]:
    return {f"{base}/{f}/{n}" for f in range(FEEDS) for n in range(ITEMS)}


async def test_kill_9_at_random_points_loses_nothing_and_stores_nothing_twice(
    news: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    database = tmp_path / "news.db"
    # few feeds at a time, so that polls finish (and commit) all through each run
    settings = write_config(tmp_path, news, f"sqlite:///{database}", feed_concurrency=4)
    rng = random.Random(20)
    before: dict[tuple[str, int], tuple[object, ...]] = {}
    counts = []
    for kill in range(KILLS):
        verb = ("crawl", "run")[kill % 2]  # the one-off crawl and the daemon, in turn
        process = await asyncio.create_subprocess_exec(
            *command(settings, verb),
            cwd=tmp_path,
            env=user_env(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        if process.returncode is None:
            process.kill()
        await process.wait()
        after = committed(database) if database.exists() else {}
        changed = [key for key, row in before.items() if after.get(key) != row]
        assert changed == [], f"kill {kill + 1}: committed rows lost or altered: {changed}"
        before = after
        counts.append(len(after))
    finished = await run_to_end(command(settings, "crawl"), cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    final = committed(database)
    lost = [key for key, row in before.items() if final.get(key) != row]
    missing = expected_urls(news) - {url for url, _ in final}
    record_property("fault", f"kill -9 at {KILLS} random points (crawl and daemon)")
    record_property("outcome", f"articles after each kill: {counts}; all {len(final)} after")
    record_property("rows_lost", len(lost) + len(missing))
    assert lost == []
    assert missing == set()
    assert sum(b > a for a, b in itertools.pairwise(counts)) >= 5  # kills fell all through the work
    assert counts[-1] < len(expected_urls(news))


def unshare_works(*flags: str) -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not unshare_works("-m"), reason="needs `unshare -m` (root) to mount a tmpfs")
async def test_a_full_disk_fails_polls_keeps_what_is_stored_and_the_next_crawl_completes(
    news: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """A 600 kB tmpfs fills mid-crawl; then it is made larger, as an operator would."""
    disk = tmp_path / "disk"
    disk.mkdir()
    settings = write_config(
        tmp_path, news, f"sqlite:///{disk / 'news.db'}", per_host_concurrency=16
    )
    crawl = " ".join(command(settings, "crawl"))
    script = f"""
        set -u
        mount -t tmpfs -o size=600k tmpfs {disk}
        {crawl} > {tmp_path}/full.out 2>&1; echo $? > {tmp_path}/full.rc
        mkdir {tmp_path}/full {tmp_path}/after
        cp {disk}/news.db* {tmp_path}/full/  # with its -wal: committed rows may be there only
        mount -o remount,size=64m {disk}
        {crawl} > {tmp_path}/after.out 2>&1; echo $? > {tmp_path}/after.rc
        cp {disk}/news.db* {tmp_path}/after/
    """
    assert (await run_to_end(["unshare", "-m", "sh", "-c", script])).returncode == 0
    full_output = (tmp_path / "full.out").read_text()
    stored_when_full = committed(tmp_path / "full" / "news.db")
    after = committed(tmp_path / "after" / "news.db")
    lost = [key for key, row in stored_when_full.items() if after.get(key) != row]
    missing = expected_urls(news) - {url for url, _ in after}
    record_property("fault", "disk full mid-crawl (600 kB tmpfs), then enlarged")
    record_property(
        "outcome",
        f"{len(stored_when_full)} stored before full; polls failed: database or disk is full; "
        f"all {len(after)} after",
    )
    record_property("rows_lost", len(lost) + len(missing))
    assert "database error: database or disk is full" in full_output
    assert "Traceback" not in full_output
    assert 0 < len(stored_when_full) < len(expected_urls(news))
    assert (tmp_path / "after.rc").read_text().strip() == "0", (tmp_path / "after.out").read_text()
    assert lost == []
    assert missing == set()


@pytest.mark.skipif(not unshare_works("-n"), reason="needs `unshare -n` (root): no real DNS here")
def test_a_name_that_does_not_resolve_is_recorded_as_a_dns_failure(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """In a network namespace of its own, with no way out, so no lookup leaves the machine."""
    feed = "http://no-such-host.invalid/feed.xml"
    database = tmp_path / "news.db"
    settings = write_config(tmp_path, "http://127.0.0.1:9", f"sqlite:///{database}")
    crawl = command(settings, "crawl", "--feed", feed)
    result = subprocess.run(
        ["unshare", "-n", *crawl], cwd=tmp_path, env=user_env(), capture_output=True, text=True
    )
    with sqlite3.connect(database) as db:
        errors = db.execute("select last_error from feeds where url = ?", (feed,)).fetchall()
    record_property("fault", "DNS lookup fails")
    record_property("outcome", str(errors[0][0]) if errors else result.stderr[-90:])
    record_property("rows_lost", 0)
    assert errors == [("DNS lookup failed",)], result.stderr
    assert "Traceback" not in result.stderr


class PrivatePostgres:
    """A PostgreSQL 15 cluster of the test's own, so that it can be stopped and started."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"

    async def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -h 127.0.0.1 -F"
        data, log = str(self.folder / "data"), str(self.folder / "log")
        pg_ctl = ["pg_ctl", "-D", data, "-w", "-o", options, "-l", log, *args]
        done = await run_to_end(["runuser", "-u", "postgres", "--", *pg_ctl])
        assert done.returncode == 0, done.stderr

    async def rows(self, sql: str) -> list[tuple[object, ...]]:
        connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()


def can_run_postgres() -> bool:
    tools = ("runuser", "initdb", "pg_ctl")
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in tools)


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    folder = Path(tempfile.mkdtemp(prefix="rss-ingest-pg-"))
    shutil.chown(folder, "postgres")
    server = PrivatePostgres(folder, free_port())
    initdb = ["initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync"]
    done = await run_to_end(["runuser", "-u", "postgres", "--", *initdb])
    assert done.returncode == 0, done.stderr
    await server.pg_ctl("start")
    yield server
    await server.pg_ctl("-m", "immediate", "stop")
    shutil.rmtree(folder)


ARTICLE_ROWS = "select source_url, feed_id, id, content_hash, body from articles"


@pytest.mark.skipif(not can_run_postgres(), reason="needs root and PostgreSQL's initdb/pg_ctl")
async def test_postgresql_restarted_mid_run_the_daemon_waits_and_loses_nothing(
    news: str,
    private_postgres: PrivatePostgres,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    settings = write_config(tmp_path, news, private_postgres.url, feed_concurrency=4)
    daemon = await asyncio.create_subprocess_exec(
        *command(settings, "run"),
        cwd=tmp_path,
        env=user_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )

    async def stored() -> dict[tuple[object, ...], tuple[object, ...]]:
        try:
            found = await private_postgres.rows(ARTICLE_ROWS)
        except asyncpg.UndefinedTableError:  # not migrated yet
            return {}
        return {tuple(row[:2]): tuple(row[2:]) for row in found}

    async def stored_at_least(
        count: int, seconds: float
    ) -> dict[tuple[object, ...], tuple[object, ...]]:
        deadline = asyncio.get_running_loop().time() + seconds
        while len(rows := await stored()) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{len(rows)} stored"
            assert daemon.returncode is None, "the daemon exited"
            await asyncio.sleep(0.2)
        return rows

    before = await stored_at_least(20, 60)
    await private_postgres.pg_ctl("-m", "fast", "stop")
    await asyncio.sleep(3)  # polls in flight and ticks meet a database that is not there
    await private_postgres.pg_ctl("start")
    after = await stored_at_least(len(expected_urls(news)), 120)
    daemon.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(daemon.communicate(), timeout=60)
    log = err.decode()
    twice = await private_postgres.rows(
        "select source_url, feed_id from articles group by 1, 2 having count(*) > 1"
    )
    lost = [key for key, row in before.items() if after.get(key) != row]
    missing = expected_urls(news) - {str(url) for url, _ in after}
    record_property("fault", "PostgreSQL stopped for 3 s mid-run, then started")
    record_property(
        "outcome",
        f"{len(before)} stored before; daemon logged the outage and went on; all {len(after)}",
    )
    record_property("rows_lost", len(lost) + len(missing))
    assert daemon.returncode == 0, log[-2000:]
    assert "cannot reach the database" in log
    assert "the database answers again" in log
    assert "Traceback" not in log, log[-3000:]
    assert (lost, missing, twice) == ([], set(), [])
