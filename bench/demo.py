"""`make demo`: serve the bundled sample news sites on 127.0.0.1, crawl them, show the rows.

Works with no internet. The crawl runs the real `rss-ingest crawl` command; the database is
data/demo.db, so the demo never touches data/rss-ingest.db.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

from aiohttp import web

from bench.fixture_server import build_app, site_feeds

DATABASE = Path("data/demo.db")
QUERY = """
select a.id, f.title as feed, a.published_at, a.word_count as words,
       coalesce(a.duplicate_kind || ' of #' || a.duplicate_of, '') as duplicate,
       a.title, substr(replace(a.body, char(10), ' '), 1, 70) as body
from articles a join feeds f on f.id = a.feed_id
order by a.id
"""


async def crawl_local_sites() -> int:
    runner = web.AppRunner(build_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    feeds = site_feeds(f"http://127.0.0.1:{port}")
    print(f"serving {len(feeds)} sample sites on http://127.0.0.1:{port}", flush=True)
    arguments = ["-m", "pipeline", "crawl", "--database", f"sqlite:///{DATABASE}"]
    for feed in feeds:
        arguments += ["--feed", feed]
    try:
        # The sample sites are on 127.0.0.1, which the fetcher refuses unless told otherwise.
        env = os.environ | {"RSS_INGEST_ALLOW_PRIVATE_ADDRESSES": "1"}
        process = await asyncio.create_subprocess_exec(sys.executable, *arguments, env=env)
        return await process.wait()
    finally:
        await runner.cleanup()


def show_rows() -> None:
    print(f"\n$ sqlite3 {DATABASE} '<query>'   (the query is in bench/demo.py)")
    with sqlite3.connect(DATABASE) as connection:
        cursor = connection.execute(QUERY)
        names = [column[0] for column in cursor.description]
        print(" | ".join(names))
        for row in cursor:
            print(" | ".join("" if value is None else str(value) for value in row))


def main() -> int:
    DATABASE.unlink(missing_ok=True)
    status = asyncio.run(crawl_local_sites())
    if status == 0:
        show_rows()
    return status


if __name__ == "__main__":
    sys.exit(main())
