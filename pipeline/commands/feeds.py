"""feeds add, remove, list, import-opml, export-opml."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pipeline.commands import EXIT_OK, EXIT_USAGE
from pipeline.commands.context import Context, open_store
from pipeline.crawl import utc_now
from pipeline.feedlist import FeedSource, check_feed_url, read_opml, write_opml
from pipeline.settings import ConfigError
from storage import queries


async def feeds_add(context: Context) -> int:
    url = check_feed_url(context.args.url)
    store = await open_store(context)
    async with store.writing() as session:
        changed = await queries.activate_feed(session, url, context.args.title, utc_now())
    await store.engine.dispose()
    print(f"added {url}" if changed else f"{url} is already in the feed list")
    return EXIT_OK


async def feeds_remove(context: Context) -> int:
    url = context.args.url.strip()
    store = await open_store(context)
    async with store.writing() as session:
        removed = await queries.deactivate_feed(session, url, "removed by user")
    await store.engine.dispose()
    if not removed:
        print(f"rss-ingest: {url} is not an active feed", file=sys.stderr)
        return EXIT_USAGE
    print(f"removed {url}; its stored articles are kept")
    return EXIT_OK


async def feeds_list(context: Context) -> int:
    store = await open_store(context)
    async with store.reading() as session:
        feeds = await queries.list_feeds(session, include_inactive=not context.args.active)
        counts = await queries.article_counts(session)
    await store.engine.dispose()
    for feed in feeds:
        state = "active" if feed.active else f"inactive ({feed.inactive_reason})"
        status = feed.last_status if feed.last_status is not None else "-"
        line = (
            f"{feed.url}\t{feed.title or '-'}\t{state}\tarticles={counts.get(feed.id, 0)}"
            f"\tlast_status={status}\terrors={feed.error_count}"
        )
        print(line + (f"\tlast_error={feed.last_error}" if feed.last_error else ""))
    return EXIT_OK


async def feeds_import_opml(context: Context) -> int:
    path = Path(context.args.file)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    sources = read_opml(content, str(path))
    store = await open_store(context)
    async with store.writing() as session:
        added = await queries.insert_new_feeds(
            session, [(s.url, s.title) for s in sources], utc_now()
        )
    await store.engine.dispose()
    print(f"imported {added} new feeds from {path} ({len(sources) - added} already known)")
    return EXIT_OK


async def feeds_export_opml(context: Context) -> int:
    store = await open_store(context)
    async with store.reading() as session:
        feeds = await queries.list_feeds(session)
    await store.engine.dispose()
    opml = write_opml(FeedSource(f.url, f.title, f.site_url) for f in feeds)
    if context.args.output in (None, "-"):
        sys.stdout.write(opml)
    else:
        try:
            await asyncio.to_thread(Path(context.args.output).write_text, opml, "utf-8")
        except OSError as error:
            raise ConfigError(f"cannot write {context.args.output}: {error.strerror}") from None
    return EXIT_OK
