"""The `rss-ingest` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from pipeline.crawl import Crawler, FeedReport, extraction_pool, utc_now
from pipeline.daemon import Daemon
from pipeline.feedlist import (
    FeedSource,
    check_feed_url,
    load_feed_list,
    read_opml,
    write_opml,
)
from pipeline.logs import configure_logging
from pipeline.metrics import Metrics
from pipeline.rules import RuleSet, load_rules
from pipeline.settings import ConfigError, LoadedSettings, Settings, load_settings
from storage import migrate, queries
from storage.database import DatabaseError, create_engine, redacted
from storage.store import Store

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SHOWN_FAILURES = 20


@dataclass(frozen=True, slots=True)
class Context:
    loaded: LoadedSettings
    args: argparse.Namespace

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def database_url(self) -> str:
        url: str = self.args.database or self.settings.database_url
        return url


async def open_store(context: Context) -> Store:
    """Connect and bring the schema up to date; a clear DatabaseError if either fails."""
    url = context.database_url
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    except (OSError, SQLAlchemyError) as error:
        await engine.dispose()
        reason = getattr(error, "orig", None) or error
        raise DatabaseError(f"cannot use database {redacted(url)}: {reason}") from None
    return Store(engine)


def _load_rules(context: Context) -> RuleSet:
    rules_path = context.loaded.resolve(context.settings.rules_file)
    if context.loaded.from_file or rules_path.exists():
        return load_rules(rules_path)
    print(f"rss-ingest: no {rules_path}: only trafilatura cleans the bodies", file=sys.stderr)
    return RuleSet()


async def crawl_command(context: Context) -> int:
    settings = context.settings
    rules = _load_rules(context)
    given = [check_feed_url(url, "--feed") for url in context.args.feed or []]
    if given:
        sources = [FeedSource(url) for url in given]
    else:
        sources = load_feed_list(context.loaded.resolve(settings.feeds_file))
    store = await open_store(context)
    try:
        async with store.writing() as session:
            listed = [(source.url, source.title) for source in sources]
            if given:
                await queries.insert_new_feeds(session, listed, utc_now())
            else:
                await queries.sync_config_feeds(session, listed, utc_now())
        async with store.reading() as session:
            if given:
                feeds = await queries.feeds_by_url(session, given)
            else:
                feeds = await queries.list_feeds(session)
        if not feeds:
            print(
                "no feeds to poll: list some in config/feeds.toml or use `rss-ingest feeds add URL`"
            )
            return EXIT_OK
        with (
            extraction_pool(settings.extract_workers) as pool,
            tqdm(total=len(feeds), unit="feed", disable=None, file=sys.stderr) as bar,
        ):

            def advance(report: FeedReport) -> None:
                bar.update()
                bar.set_postfix_str(f"{report.url[:40]} +{report.new}", refresh=False)

            async with Crawler(settings, rules, store, pool) as crawler:
                summary = await crawler.crawl(feeds, advance)
    finally:
        await store.engine.dispose()
    for report in summary.failed_feeds[:SHOWN_FAILURES]:
        print(f"failed: {report.url}: {report.error}", file=sys.stderr)
    hidden = len(summary.failed_feeds) - SHOWN_FAILURES
    if hidden > 0:
        print(f"... and {hidden} more failed feeds: see `rss-ingest feeds list`", file=sys.stderr)
    print(summary.line())
    return EXIT_OK


async def run_command(context: Context) -> int:
    settings = context.settings
    rules = _load_rules(context)
    given = [check_feed_url(url, "--feed") for url in context.args.feed or []]
    feeds_file = None if given else context.loaded.resolve(settings.feeds_file)
    if feeds_file is not None:
        load_feed_list(feeds_file)  # a bad feeds file stops the start, not a later tick
    store = await open_store(context)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(name: str) -> None:
        if stop.is_set():
            print(f"rss-ingest: second {name}: exiting now", file=sys.stderr)
            os._exit(EXIT_INTERRUPTED)
        print(f"rss-ingest: {name}: finishing polls in flight, then exiting", file=sys.stderr)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signal.Signals(signum).name)
    metrics = Metrics()
    server = None
    try:
        only = None
        if given:
            async with store.writing() as session:
                await queries.insert_new_feeds(session, [(url, None) for url in given], utc_now())
            async with store.reading() as session:
                only = [feed.id for feed in await queries.feeds_by_url(session, given)]
        if settings.metrics_port:
            server = await serve_metrics(metrics, settings)
        with extraction_pool(settings.extract_workers) as pool:
            async with Crawler(settings, rules, store, pool) as crawler:
                daemon = Daemon(settings, store, crawler, feeds_file, only, metrics=metrics)
                await daemon.run(stop)
    finally:
        if server is not None:
            await server.cleanup()
        await store.engine.dispose()
    return EXIT_OK


async def serve_metrics(metrics: Metrics, settings: Settings) -> web.AppRunner:
    healthy_within = 3 * settings.tick_seconds + settings.total_timeout
    runner = web.AppRunner(metrics.app(healthy_within), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
    except OSError as error:
        await runner.cleanup()
        where = f"{settings.metrics_host}:{settings.metrics_port}"
        raise ConfigError(f"cannot serve metrics on {where}: {error.strerror}") from None
    return runner


async def status_command(context: Context) -> int:
    store = await open_store(context)
    async with store.reading() as session:
        report = await queries.status_report(session, utc_now())
    await store.engine.dispose()
    print(
        f"feeds: {report.active} active ({report.due} due now, {report.failing} failing), "
        f"{report.inactive} inactive"
    )
    print(f"articles: {report.articles} stored, {report.originals} originals")
    for day, count in report.per_day:
        print(f"  {day}: {count}")
    if report.inactive_feeds:
        print("inactive feeds:")
        for url, reason in report.inactive_feeds:
            print(f"  {url}: {reason}")
    if report.last_errors:
        print("last errors:")
        for url, error, when in report.last_errors:
            print(f"  {when:%Y-%m-%d %H:%M} {url}: {error}")
    return EXIT_OK


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


async def db_upgrade(context: Context) -> int:
    store = await open_store(context)
    revision = await migrate.current_revision(store.engine)
    await store.engine.dispose()
    print(f"database {redacted(context.database_url)} is at revision {revision}")
    return EXIT_OK


Handler = Callable[[Context], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (default config/settings.toml)")
    common.add_argument(
        "--database", help="database URL (default: settings, then data/rss-ingest.db)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")

    parser = argparse.ArgumentParser(
        prog="rss-ingest", description="Poll news feeds and store clean, deduplicated articles."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    crawl = commands.add_parser("crawl", parents=[common], help="poll every feed once")
    crawl.add_argument("--feed", action="append", metavar="URL", help="poll only this feed")
    crawl.set_defaults(handler=crawl_command)

    run = commands.add_parser("run", parents=[common], help="poll feeds when due, until stopped")
    run.add_argument("--feed", action="append", metavar="URL", help="poll only this feed")
    run.set_defaults(handler=run_command)

    status = commands.add_parser(
        "status",
        aliases=["stats"],
        parents=[common],
        help="feeds due, failing, inactive; articles per day",
    )
    status.set_defaults(handler=status_command)

    feeds = commands.add_parser("feeds", help="manage the feed list").add_subparsers(
        dest="feeds_command", required=True
    )
    add = feeds.add_parser("add", parents=[common], help="add a feed")
    add.add_argument("url")
    add.add_argument("--title")
    add.set_defaults(handler=feeds_add)
    remove = feeds.add_parser("remove", parents=[common], help="stop polling a feed")
    remove.add_argument("url")
    remove.set_defaults(handler=feeds_remove)
    listing = feeds.add_parser("list", parents=[common], help="list feeds and their state")
    listing.add_argument("--active", action="store_true", help="only the feeds being polled")
    listing.set_defaults(handler=feeds_list)
    opml_in = feeds.add_parser(
        "import-opml", parents=[common], help="add the feeds of an OPML file"
    )
    opml_in.add_argument("file")
    opml_in.set_defaults(handler=feeds_import_opml)
    opml_out = feeds.add_parser("export-opml", parents=[common], help="write active feeds as OPML")
    opml_out.add_argument("--output", "-o", help="file to write (default: standard output)")
    opml_out.set_defaults(handler=feeds_export_opml)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(
        handler=db_upgrade
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        loaded = load_settings(args.config)
        settings = loaded.settings
        # One-off commands print their own results; the daemon's log is its output.
        level = settings.log_level if args.command == "run" else "WARNING"
        configure_logging("DEBUG" if args.verbose else level, settings.log_format)
        handler: Handler = args.handler
        return asyncio.run(handler(Context(loaded, args)))
    except (ConfigError, DatabaseError) as error:
        print(f"rss-ingest: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("rss-ingest: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
