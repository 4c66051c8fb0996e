"""One crawl: poll feeds, fetch new articles, extract and clean them in a process pool, store them.

The imperative shell around the pure steps. Each feed's articles and its poll bookkeeping are
committed in one transaction, so an interrupted crawl loses nothing it reported as stored and
the next crawl picks up exactly what is missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from pipeline.article import build_article
from pipeline.extract import NotAnArticle
from pipeline.fetch import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, FetchError
from pipeline.parse import NotAFeed, parse_feed
from pipeline.records import Article, FeedEntry, ParsedFeed
from pipeline.rules import RuleSet
from pipeline.settings import Settings
from pipeline.urls import canonical_url
from storage import queries
from storage.queries import FeedState, PollOutcome
from storage.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _quiet_worker() -> None:
    # trafilatura and htmldate warn about every odd page; the crawl reports failures itself.
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.ERROR)


def extraction_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool for parsing and extraction; 0 workers means one per CPU core.

    'spawn' because forking a process that runs an event loop and database threads is unsafe.
    """
    return ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_quiet_worker,
    )


@dataclass(slots=True)
class FeedReport:
    url: str
    error: str | None = None
    unchanged: bool = False
    new: int = 0
    duplicate: int = 0
    already_stored: int = 0
    failed: int = 0


@dataclass(slots=True)
class CrawlSummary:
    reports: list[FeedReport] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, name: str) -> int:
        return sum(int(getattr(report, name)) for report in self.reports)

    @property
    def failed_feeds(self) -> list[FeedReport]:
        return [report for report in self.reports if report.error is not None]

    def line(self) -> str:
        feeds = len(self.reports)
        return (
            f"feeds: {feeds - len(self.failed_feeds)} polled, {len(self.failed_feeds)} failed, "
            f"{self.count('unchanged')} unchanged | articles: {self.count('new')} new, "
            f"{self.count('duplicate')} duplicate, {self.count('failed')} failed, "
            f"{self.count('already_stored')} already stored | {self.seconds:.1f} s"
        )


@dataclass(frozen=True, slots=True)
class _ArticleFailure:
    link: str
    reason: str


class Crawler:
    def __init__(
        self,
        settings: Settings,
        rules: RuleSet,
        store: Store,
        executor: Executor,
        clock: Clock = utc_now,
    ) -> None:
        self._settings = settings
        self._rules = rules
        self._store = store
        self._executor = executor
        self._clock = clock

    async def crawl(
        self,
        feeds: Sequence[FeedState],
        on_feed_done: Callable[[FeedReport], None] = lambda report: None,
    ) -> CrawlSummary:
        started = asyncio.get_running_loop().time()
        summary = CrawlSummary()
        queue: asyncio.Queue[FeedState] = asyncio.Queue()
        for feed in feeds:
            queue.put_nowait(feed)

        async def worker(fetcher: Fetcher) -> None:
            while not queue.empty():
                report = await self._poll_safely(fetcher, queue.get_nowait())
                summary.reports.append(report)
                on_feed_done(report)

        async with Fetcher(self._settings) as fetcher:
            workers = min(self._settings.feed_concurrency, len(feeds))
            await asyncio.gather(*(worker(fetcher) for _ in range(workers)))
        summary.seconds = asyncio.get_running_loop().time() - started
        return summary

    async def _poll_safely(self, fetcher: Fetcher, feed: FeedState) -> FeedReport:
        try:
            return await self._poll(fetcher, feed)
        except (FetchError, NotAFeed) as error:
            reason = str(error)
            status = error.status if isinstance(error, FetchError) else None
        except Exception as error:  # a bug must not stop the other feeds
            log.exception("unexpected error polling %s", feed.url)
            reason, status = f"internal error: {type(error).__name__}: {error}", None
        async with self._store.writing() as session:
            await queries.record_poll(
                session, feed.id, PollOutcome(self._clock(), status, error=reason)
            )
        return FeedReport(feed.url, error=reason)

    async def _in_pool(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _poll(self, fetcher: Fetcher, feed: FeedState) -> FeedReport:
        polled_at = self._clock()
        response = await fetcher.get(
            feed.url, accept=FEED_ACCEPT, etag=feed.etag, last_modified=feed.last_modified
        )
        outcome = PollOutcome(
            polled_at,
            response.status,
            etag=response.etag,
            last_modified=response.last_modified,
            body_hash=hashlib.sha256(response.body).hexdigest(),
        )
        if response.status == 304 or outcome.body_hash == feed.last_body_hash:
            async with self._store.writing() as session:
                await queries.record_poll(session, feed.id, outcome)
            return FeedReport(feed.url, unchanged=True)

        parsed: ParsedFeed = await self._in_pool(
            parse_feed, response.body, response.final_url, response.content_type
        )
        if parsed.warning:
            log.info("%s: %s", feed.url, parsed.warning)
        entries = await self._new_entries(parsed.entries[: self._settings.max_entries_per_feed])
        results = await asyncio.gather(
            *(self._article(fetcher, entry, parsed.language) for entry in entries)
        )
        articles = [result for result in results if isinstance(result, Article)]
        failures = [result for result in results if isinstance(result, _ArticleFailure)]

        report = FeedReport(feed.url, failed=len(failures))
        async with self._store.writing() as session:
            batch = self._settings.store_batch_size
            for start in range(0, len(articles), batch):
                stored = await queries.store_articles(
                    session, feed.id, articles[start : start + batch]
                )
                report.new += stored.new
                report.duplicate += stored.duplicate
                report.already_stored += stored.already_stored
            await queries.forget_article_failures(session, [a.source_url for a in articles])
            for failure in failures:
                await queries.record_article_failure(
                    session, feed.id, failure.link, failure.reason, polled_at
                )
            await queries.record_poll(
                session, feed.id, replace(outcome, title=parsed.title, site_url=parsed.site_url)
            )
        report.already_stored += len(parsed.entries) - len(entries)
        return report

    async def _new_entries(self, entries: Sequence[FeedEntry]) -> list[FeedEntry]:
        """Entries whose links are neither stored nor given up on; one entry per link."""
        by_link: dict[str, FeedEntry] = {}
        for entry in entries:
            by_link.setdefault(canonical_url(entry.link), entry)
        async with self._store.reading() as session:
            skip = await queries.links_to_skip(
                session, list(by_link), self._settings.max_article_attempts
            )
        return [entry for link, entry in by_link.items() if link not in skip]

    async def _article(
        self, fetcher: Fetcher, entry: FeedEntry, feed_language: str | None
    ) -> Article | _ArticleFailure:
        link = canonical_url(entry.link)
        try:
            page = await fetcher.get(entry.link, accept=PAGE_ACCEPT)
            article: Article = await self._in_pool(
                build_article, entry, page, self._rules, self._clock(), feed_language
            )
            return article
        except (FetchError, NotAnArticle) as error:
            return _ArticleFailure(link, str(error))
        except (ValueError, TypeError, LookupError, RecursionError) as error:
            # lxml and trafilatura raise these on pathological pages.
            return _ArticleFailure(link, f"extraction failed: {type(error).__name__}: {error}")
