"""Polling feeds: fetch, parse, fetch new articles, extract and clean them in a pool, store them.

The imperative shell around the pure steps, used by `crawl` (every feed once) and by the daemon
(feed by feed, when due). What polls read and write goes through pipeline/poll_store.py, which
batches it across the polls in flight; what each poll's articles teach of their site's
boilerplate, through pipeline/site_learning.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy.exc import SQLAlchemyError

from pipeline import schedule
from pipeline.article import build_signed_article
from pipeline.boilerplate import Thresholds
from pipeline.extract import NotAnArticle
from pipeline.fetch import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, FetchError
from pipeline.parse import NotAFeed, parse_feed
from pipeline.poll_store import ArticleFailure, PolledFeed, PollStore, StoredCounts
from pipeline.pool import worker_count
from pipeline.pool_calls import PoolCalls
from pipeline.records import Article, FeedEntry, HttpResponse, ParsedFeed
from pipeline.reports import CrawlSummary, FeedReport
from pipeline.robots import RobotsCache
from pipeline.rules import RuleSet
from pipeline.settings import Settings
from pipeline.site_learning import SiteLearning
from pipeline.urls import canonical_url
from storage.queries import FeedState, PollOutcome
from storage.store import Store, database_reason

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# The pool starts afresh (pipeline/pool.py); what it held is tried again at the next poll.
WORKER_DIED = "a pool worker died while this was in the pool"


def utc_now() -> datetime:
    return datetime.now(UTC)


def thresholds_from(settings: Settings) -> Thresholds:
    return Thresholds(
        min_articles=settings.boilerplate_min_articles,
        min_share=settings.boilerplate_min_share,
        min_sample=settings.boilerplate_min_sample,
    )


def bounds_from(settings: Settings) -> schedule.Bounds:
    return schedule.Bounds(
        min_interval=settings.min_poll_interval,
        max_interval=settings.max_poll_interval,
        default_interval=settings.default_poll_interval,
        max_failures=settings.max_feed_failures,
    )


class Crawler:
    """Polls feeds with one HTTP session; use as `async with Crawler(...) as crawler`."""

    def __init__(
        self,
        settings: Settings,
        rules: RuleSet,
        store: Store,
        executor: Executor,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._rules = rules
        self._store = store
        self._pool = PoolCalls(executor, worker_count(settings.extract_workers))
        self._clock = clock
        self._rng = rng or random.Random()
        self._bounds = bounds_from(settings)
        self._fetcher = Fetcher(settings)
        self._robots: RobotsCache | None = None
        self._polling = 0
        self._polls = PollStore(store, settings, lambda: self._polling, self._pool.has_backlog)
        self._learning = SiteLearning(
            self._polls, self._pool, thresholds_from(settings), settings.near_duplicate_min_words
        )

    async def __aenter__(self) -> Self:
        await self._fetcher.__aenter__()
        if self._settings.respect_robots_txt:
            loop = asyncio.get_running_loop()
            self._robots = RobotsCache(self._fetcher, self._settings.user_agent, loop.time)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._fetcher.__aexit__(exc_type, exc, traceback)

    async def crawl(
        self,
        feeds: Sequence[FeedState],
        on_feed_done: Callable[[FeedReport], None] = lambda report: None,
    ) -> CrawlSummary:
        """Poll each feed once, a bounded number at a time."""
        started = asyncio.get_running_loop().time()
        summary = CrawlSummary()
        queue: asyncio.Queue[FeedState] = asyncio.Queue()
        for feed in feeds:
            queue.put_nowait(feed)

        async def worker() -> None:
            while not queue.empty():
                report = await self.poll(queue.get_nowait())
                summary.reports.append(report)
                on_feed_done(report)

        workers = min(self._settings.feed_concurrency, len(feeds))
        await asyncio.gather(*(worker() for _ in range(workers)))
        summary.seconds = asyncio.get_running_loop().time() - started
        return summary

    async def poll(self, feed: FeedState) -> FeedReport:
        """Poll one feed; failures are recorded and reported, never raised."""
        self._polling += 1
        try:
            return await self._poll_or_record_failure(feed)
        except SQLAlchemyError as error:
            # The database failed, not the feed: nothing of this poll is stored, and the feed
            # is polled again (by the next crawl; by the daemon once the database answers).
            reason = f"database error: {database_reason(error)}"
            log.error("%s: %s", feed.url, reason)
            return FeedReport(feed.url, error=reason, database_failed=True)
        finally:
            self._polling -= 1

    async def _poll_or_record_failure(self, feed: FeedState) -> FeedReport:
        try:
            return await self._poll(feed)
        except (FetchError, NotAFeed) as error:
            reason = str(error)
            status = error.status if isinstance(error, FetchError) else None
            retry_after = error.retry_after if isinstance(error, FetchError) else None
        except BrokenProcessPool:
            reason, status, retry_after = WORKER_DIED, None, None
        except SQLAlchemyError:
            raise
        except Exception as error:  # a bug must not stop the other feeds
            log.exception("unexpected error polling %s", feed.url)
            reason, status, retry_after = (
                f"internal error: {type(error).__name__}: {error}",
                None,
                None,
            )
        errors = feed.error_count + 1
        interval = schedule.failure_interval(
            errors, schedule.Hints(retry_after=retry_after), self._bounds
        )
        outcome = PollOutcome(
            self._clock(),
            status,
            error=reason,
            next_poll_at=schedule.next_poll(self._clock(), interval, self._rng),
            poll_interval_seconds=feed.poll_interval_seconds,
            inactive_reason=schedule.deactivation_reason(errors, status, reason, self._bounds),
        )
        report = FeedReport(
            feed.url,
            status=status,
            error=reason,
            deactivated=outcome.inactive_reason,
            next_poll_at=outcome.next_poll_at,
        )
        return _counted(report, await self._polls.store(PolledFeed(feed.id, outcome)))

    def _scheduled(
        self,
        outcome: PollOutcome,
        response: HttpResponse,
        feed: FeedState,
        parsed: ParsedFeed | None,
    ) -> PollOutcome:
        """The outcome with the next poll time, from the items' rhythm and the hints."""
        dates = [e.published_at for e in parsed.entries if e.published_at] if parsed else []
        hints = schedule.Hints(
            ttl=parsed.ttl if parsed else None,
            update_period=parsed.update_period if parsed else None,
            max_age=response.max_age,
        )
        interval = schedule.success_interval(dates, hints, feed.poll_interval_seconds, self._bounds)
        return replace(
            outcome,
            next_poll_at=schedule.next_poll(outcome.polled_at, interval, self._rng),
            poll_interval_seconds=round(interval),
            moved_to=response.permanent_url,
        )

    async def _poll(self, feed: FeedState) -> FeedReport:
        polled_at = self._clock()
        response = await self._fetcher.get(
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
            outcome = self._scheduled(outcome, response, feed, None)
            report = FeedReport(
                feed.url, status=response.status, unchanged=True, next_poll_at=outcome.next_poll_at
            )
            return _counted(report, await self._polls.store(PolledFeed(feed.id, outcome)))

        # Ahead of the pages waiting for the pool: this feed's pages wait on it.
        parsed: ParsedFeed = await self._pool.first(
            parse_feed,
            response.body,
            response.final_url,
            response.content_type,
            response.charset,
            self._settings.max_entries_per_feed,
        )
        if parsed.warning:
            log.info("%s: %s", feed.url, parsed.warning)
        entries, listed_elsewhere = await self._new_entries(feed.id, parsed.entries)
        # Pages wait for the pool in memory: a poll holds only a few at a time, so memory is
        # bounded by feed_concurrency, not by how many new items the feeds list. (A bound shared
        # by all polls would let pages queued for one slow host stall every other host.)
        pages = asyncio.Semaphore(self._settings.pages_per_feed)
        results = await asyncio.gather(
            *(self._article(entry, parsed.language, pages) for entry in entries)
        )
        extracted = [result for result in results if isinstance(result, Article)]
        failures = [result for result in results if isinstance(result, ArticleFailure)]
        outcome = self._scheduled(
            replace(outcome, title=parsed.title, site_url=parsed.site_url), response, feed, parsed
        )
        report = FeedReport(
            feed.url,
            status=response.status,
            failed=len(failures),
            already_stored=len(parsed.entries) - len(entries) - len(listed_elsewhere),
            next_poll_at=outcome.next_poll_at,
        )
        articles = await self._learning.finished(extracted)
        polled = PolledFeed(feed.id, outcome, listed_elsewhere, extracted, articles, failures)
        return _counted(report, await self._polls.store(polled))

    async def _new_entries(
        self, feed_id: int, entries: Sequence[FeedEntry]
    ) -> tuple[list[FeedEntry], list[tuple[FeedEntry, int]]]:
        """Entries to fetch, and entries another feed has stored (with that row's id).

        One entry per link; links this feed has stored or has given up on are left out.
        """
        by_link: dict[str, FeedEntry] = {}
        for entry in entries:
            by_link.setdefault(canonical_url(entry.link), entry)
        known = await self._polls.known_links(feed_id, list(by_link))
        to_fetch = [
            entry
            for link, entry in by_link.items()
            if link not in known.skip and link not in known.elsewhere
        ]
        elsewhere = [(by_link[link], row_id) for link, row_id in known.elsewhere.items()]
        return to_fetch, elsewhere

    async def _article(
        self, entry: FeedEntry, feed_language: str | None, pages: asyncio.Semaphore
    ) -> Article | ArticleFailure:
        link = canonical_url(entry.link)
        if self._robots is not None and (why_not := await self._robots.why_not(entry.link)):
            return ArticleFailure(link, why_not, final=why_not.startswith("disallowed"))
        try:
            async with pages:
                page = await self._fetcher.get(entry.link, accept=PAGE_ACCEPT)
                article: Article = await self._pool(
                    build_signed_article,
                    entry,
                    page,
                    self._rules,
                    self._clock(),
                    feed_language,
                    self._learning.last_learned(page.final_url),
                    self._settings.near_duplicate_min_words,
                )
            return article
        except (FetchError, NotAnArticle) as error:
            return ArticleFailure(link, str(error))
        except BrokenProcessPool:
            return ArticleFailure(link, WORKER_DIED)
        except (ValueError, TypeError, LookupError, RecursionError) as error:
            # lxml and trafilatura raise these on pathological pages.
            return ArticleFailure(link, f"extraction failed: {type(error).__name__}: {error}")


def _counted(report: FeedReport, stored: StoredCounts) -> FeedReport:
    return replace(
        report,
        new=report.new + stored.new,
        duplicate=report.duplicate + stored.duplicate,
        already_stored=report.already_stored + stored.already_stored,
    )
