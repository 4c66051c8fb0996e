"""crawl (every feed once), run (the daemon) and status."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiohttp import web
from tqdm import tqdm

from pipeline.commands import EXIT_INTERRUPTED, EXIT_OK
from pipeline.commands.context import Context, load_rules_for, open_store
from pipeline.crawl import Crawler, utc_now
from pipeline.daemon import Daemon
from pipeline.feedlist import FeedSource, check_feed_url, load_feed_list
from pipeline.looplag import LoopLagMonitor
from pipeline.metrics import Metrics
from pipeline.pool import ExtractionPool
from pipeline.reports import FeedReport
from pipeline.settings import ConfigError, Settings
from storage import queries, status

SHOWN_FAILURES = 20


async def crawl_command(context: Context) -> int:
    settings = context.settings
    rules = load_rules_for(context)
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
        # Only now: here the command waits for the pool's fork server (started by cli.main) to
        # finish warming up, which it did while the database was opened and synced.
        with (
            ExtractionPool(settings.extract_workers) as pool,
            tqdm(total=len(feeds), unit="feed", disable=None, file=sys.stderr) as bar,
        ):

            def advance(report: FeedReport) -> None:
                bar.update()
                bar.set_postfix_str(f"{report.url[:40]} +{report.new}", refresh=False)

            async with (
                LoopLagMonitor() as lag,
                Crawler(settings, rules, store, pool) as crawler,
            ):
                summary = await crawler.crawl(feeds, advance)
            print(lag.summary().line(), file=sys.stderr)
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
    rules = load_rules_for(context)
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
        with ExtractionPool(settings.extract_workers, metrics.pool_restarts.inc) as pool:
            async with (
                LoopLagMonitor(on_sample=metrics.loop_lag.observe),
                Crawler(settings, rules, store, pool) as crawler,
            ):
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
        report = await status.status_report(session, utc_now())
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
