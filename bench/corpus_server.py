"""A stand-in for many news sites at once, for the throughput bench: real pages, slow answers.

Site s listens on its own loopback address (127.0.0.2, 127.0.0.3, ...), one port for all, so
the crawler sees as many hosts as there are sites. Feed f belongs to site f % sites and lists
`items` articles; article a is page a % (pages in the folder), N.html.gz, read from disk for
each request and served gzipped as news sites do. Every answer waits a random latency first.
Feeds and pages carry an ETag and answer If-None-Match with 304; robots.txt is 404.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from pipeline import eventloop

PAGES = web.AppKey("pages", tuple[Path, int])  # (folder, how many)
ITEMS = web.AppKey("items", int)  # articles per feed
LATENCY = web.AppKey("latency", tuple[float, float])
FIRST_ADDRESS = ipaddress.IPv4Address("127.0.0.2")
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def site_addresses(count: int) -> Iterator[str]:
    """Loopback addresses, skipping .0 and .255 (valid, but they look like network/broadcast)."""
    address = FIRST_ADDRESS
    while count:
        if address.packed[-1] not in (0, 255):
            yield str(address)
            count -= 1
        address += 1


def feed_xml(feed: int, base: str, items: int) -> bytes:
    entries = []
    for number in range(feed * items, (feed + 1) * items):
        published = format_datetime(EPOCH + timedelta(minutes=number))
        entries.append(
            f"<item><title>Story {number}</title><link>{base}/articles/{number}.html</link>"
            f'<guid isPermaLink="false">bench-{number}</guid><pubDate>{published}</pubDate>'
            f"<description>Summary of story {number}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {feed}</title><link>{base}/</link><description>bench</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def _answer(request: web.Request, body: bytes, etag: str, **headers: str) -> web.Response:
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, headers={"ETag": etag, **headers})


async def _feed(request: web.Request) -> web.Response:
    items = request.app[ITEMS]
    feed = int(request.match_info["feed"])
    base = f"http://{request.host}"
    body = feed_xml(feed, base, items)
    return _answer(request, body, f'"feed-{feed}"', **{"Content-Type": "application/rss+xml"})


async def _article(request: web.Request) -> web.Response:
    folder, count = request.app[PAGES]
    number = int(request.match_info["article"])
    return _answer(
        request,
        (folder / f"{number % count}.html.gz").read_bytes(),
        f'"article-{number}"',
        **{"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
    )


@web.middleware
async def _slow(request: web.Request, handler: Handler) -> web.StreamResponse:
    low, high = request.app[LATENCY]
    await asyncio.sleep(random.uniform(low, high))
    return await handler(request)


def build_app(pages: Path, items: int, latency: tuple[float, float]) -> web.Application:
    app = web.Application(middlewares=[_slow])
    app[PAGES] = (pages, len(list(pages.glob("*.html.gz"))))
    app[ITEMS] = items
    app[LATENCY] = latency
    app.router.add_get(r"/feeds/{feed:\d+}.xml", _feed)
    app.router.add_get(r"/articles/{article:\d+}.html", _article)
    return app


def feed_urls(feeds: int, sites: int, port: int) -> list[str]:
    addresses = list(site_addresses(sites))
    return [f"http://{addresses[feed % sites]}:{port}/feeds/{feed}.xml" for feed in range(feeds)]


async def serve(args: argparse.Namespace) -> None:
    latency = (args.latency_min_ms / 1000, args.latency_max_ms / 1000)
    runner = web.AppRunner(build_app(args.pages, args.items, latency), access_log=None)
    await runner.setup()
    for address in site_addresses(args.sites):
        await web.TCPSite(runner, address, args.port, backlog=1024).start()
    args.feeds_file.write_text(
        "".join(
            f'[[feeds]]\nurl = "{url}"\n' for url in feed_urls(args.feeds, args.sites, args.port)
        )
    )
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, required=True, help="folder of N.html.gz pages")
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--items", type=int, required=True, help="articles per feed")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--feeds-file", type=Path, required=True, help="feeds.toml to write")
    parser.add_argument("--latency-min-ms", type=float, default=20.0)
    parser.add_argument("--latency-max-ms", type=float, default=120.0)
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
