"""Serve every feed of a folder on 127.0.0.1 and run the real `rss-ingest crawl` over them.

Run by tests/test_feed_corpus.py inside a network namespace of its own (`unshare -n`), where
only loopback is up: the feeds' article links (example.com, site.invalid, ...) fail at once
with a reason, and no request leaves the machine.

    python -m tests.corpus_crawl FEEDS_FOLDER SCRATCH_FOLDER
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from tests.helpers import free_port, user_env

ROOT = Path(__file__).resolve().parent.parent

# feedparser's test files name the HTTP headers to serve them with in a leading comment.
HEADER = re.compile(rb"^Header:\s*([\w-]+):\s*(.+?)\s*$", re.M)


def headers_of(feed: bytes) -> dict[str, str]:
    return {
        name.decode("ascii", "replace"): value.decode("latin-1")
        for name, value in HEADER.findall(feed[:2000])
        if name.lower() in (b"content-type", b"content-location", b"content-language")
    }


def build_app(folder: Path) -> web.Application:
    async def feed(request: web.Request) -> web.Response:
        path = folder / request.match_info["path"]
        if path.suffix != ".xml" or not path.is_file():  # robots.txt, say
            raise web.HTTPNotFound()
        body = path.read_bytes()
        headers = {"Content-Type": "application/xml"} | headers_of(body)
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{path:.+}", feed)
    return app


async def serve_and_crawl(folder: Path, port: int, settings: Path) -> int:
    runner = web.AppRunner(build_app(folder), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "crawl", "--config", str(settings), env=user_env()
        )
        return await process.wait()
    finally:
        await runner.cleanup()


def main(folder: Path, scratch: Path) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    port = free_port()  # nothing else runs in this network namespace
    feeds = sorted(path.relative_to(folder) for path in folder.rglob("*.xml"))
    (scratch / "feeds.toml").write_text(
        "".join(f'[[feeds]]\nurl = "http://127.0.0.1:{port}/{feed}"\n' for feed in feeds)
    )
    settings = scratch / "settings.toml"
    settings.write_text(
        f'database_url = "sqlite:///{scratch / "corpus.db"}"\nfeeds_file = "feeds.toml"\n'
        f'rules_file = "{ROOT / "config" / "rules.toml"}"\n'
        "per_host_delay = 0.0\nextract_workers = 1\ntotal_timeout = 5.0\n"
    )
    return asyncio.run(serve_and_crawl(folder, port, settings))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
