"""`rss-ingest run`: poll each feed when it is due, for months, and stop cleanly on a signal.

The schedule lives in the database (feeds.next_poll_at), so a restart resumes it: only feeds
that fell due while the daemon was down are polled, a bounded number at a time, most overdue
first. An APScheduler job ticks every few seconds: it re-reads the feeds file if it changed and
claims due feeds (a lease in the database, so that daemons sharing it split the feeds) for the
crawler until feed_concurrency polls are in flight.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from pipeline.crawl import Clock, Crawler, utc_now
from pipeline.feedlist import load_feed_list
from pipeline.metrics import Metrics
from pipeline.reports import FeedReport
from pipeline.settings import ConfigError, Settings
from storage import leases, queries
from storage.store import Store, database_reason

log = logging.getLogger(__name__)
DATABASE_RETRY_SECONDS = 5.0
"""After a poll the database failed, its feed is polled again this long after (doubling while
its polls keep failing, up to feed_lease_seconds): soon after an outage, never in a tight loop."""


def dead_local_worker(owner: str, host: str, alive: Callable[[int], bool]) -> bool:
    """Whether a lease owner named host:pid is a process of this host that no longer runs."""
    owner_host, _, pid = owner.rpartition(":")
    return owner_host == host and pid.isdigit() and not alive(int(pid))


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return True


class Daemon:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        crawler: Crawler,
        feeds_file: Path | None,
        only_feeds: list[int] | None = None,
        clock: Clock = utc_now,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._crawler = crawler
        self._feeds_file = feeds_file
        self._feeds_file_mtime: float | None = None
        self._only_feeds = only_feeds
        self._clock = clock
        self.metrics = metrics or Metrics()
        self._in_flight: dict[int, asyncio.Task[FeedReport]] = {}
        self._dispatching = asyncio.Lock()
        self._stopping = False
        self._abandoned: dict[int, datetime] = {}
        """Feeds whose poll the database failed -> when to give their lease back."""
        self._database_failures: dict[int, int] = {}
        """Feed -> its polls the database failed in a row."""
        self._database_failing_since: datetime | None = None
        self.worker = settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set, then let polls in flight finish within the grace period."""
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self._settings.tick_seconds,
            next_run_time=utc_now(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        await self._release_leases_of_dead_local_workers()
        scheduler.start()
        log.info("daemon %s started: ticking every %g s", self.worker, self._settings.tick_seconds)
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self.shutdown()

    async def _release_leases_of_dead_local_workers(self) -> None:
        """After a kill -9 and a restart here, poll the killed daemon's feeds now, not when
        their leases expire (other hosts' workers are left to expiry: they may be alive)."""
        host = socket.gethostname()
        async with self._store.writing() as session:
            for owner in await leases.lease_holders(session, self._clock()):
                if dead_local_worker(owner, host, process_alive):
                    await leases.release_leases(session, owner)
                    log.info("released the leases of %s, which no longer runs", owner)

    async def shutdown(self) -> None:
        self._stopping = True
        pending = list(self._in_flight.values())
        if pending:
            grace = self._settings.shutdown_grace_seconds
            log.info("stopping: waiting up to %g s for %d polls in flight", grace, len(pending))
            _, unfinished = await asyncio.wait(pending, timeout=grace)
            for task in unfinished:
                task.cancel()  # its transaction rolls back; the feed is polled again on restart
            await asyncio.gather(*unfinished, return_exceptions=True)
            if unfinished:
                log.warning(
                    "abandoned %d polls at shutdown; they resume on restart", len(unfinished)
                )
        try:
            async with self._store.writing() as session:
                await leases.release_leases(session, self.worker)
        except SQLAlchemyError as error:
            log.error(
                "leases not given back (%s); they expire within %g s",
                error,
                self._settings.feed_lease_seconds,
            )
        log.info("daemon stopped")

    async def settle(self) -> None:
        """Wait until no poll is in flight (the ones a finished poll dispatches included)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            await asyncio.sleep(0)
            async with self._dispatching:
                pass

    async def tick(self) -> int:
        """Reload the feed list if its file changed, then dispatch due feeds. Returns how many."""

        async def reload_and_dispatch() -> int:
            await self._reload_feeds_file()
            return await self._dispatch()

        return await self._with_database(reload_and_dispatch)

    async def _with_database(self, step: Callable[[], Awaitable[int]]) -> int:
        """Run a step that needs the database. While the database fails, say so once and let
        the next tick try again: the daemon waits it out rather than exit."""
        try:
            done = await step()
        except SQLAlchemyError as error:
            if self._database_failing_since is None:
                self._database_failing_since = self._clock()
                log.error(
                    "database error: %s; trying again every %g s",
                    database_reason(error),
                    self._settings.tick_seconds,
                )
            return 0
        if self._database_failing_since is not None:
            down = (self._clock() - self._database_failing_since).total_seconds()
            log.warning("the database answers again, after %.0f s", down)
            self._database_failing_since = None
        return done

    async def _dispatch(self) -> int:
        async with self._dispatching:
            if self._stopping:
                return 0
            now = self._clock()
            given_back = [feed for feed, when in self._abandoned.items() if when <= now]
            if given_back:
                async with self._store.writing() as session:
                    await leases.release_leases(session, self.worker, given_back)
                for feed_id in given_back:
                    del self._abandoned[feed_id]
            room = max(self._settings.feed_concurrency - len(self._in_flight), 0)
            lease_until = now + timedelta(seconds=self._settings.feed_lease_seconds)
            async with self._store.writing() as session:
                due = await leases.claim_due_feeds(
                    session, self.worker, now, lease_until, room, only=self._only_feeds
                )
            async with self._store.reading() as session:
                waiting, oldest = await leases.due_summary(session, now)
            for feed in due:
                task = asyncio.create_task(self._crawler.poll(feed))
                self._in_flight[feed.id] = task
                task.add_done_callback(functools.partial(self._finished, feed.id))
            lag = (now - oldest).total_seconds() if oldest else 0.0
            self.metrics.tick(waiting, len(self._in_flight), max(lag, 0.0))
            return len(due)

    def _finished(self, feed_id: int, task: asyncio.Task[FeedReport]) -> None:
        self._in_flight.pop(feed_id, None)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("poll of feed %d crashed: %r", feed_id, error)
            return
        report = task.result()
        self._note_database_failure(feed_id, report.database_failed)
        self.metrics.observe(report)
        log.info(
            "polled %s status=%s new=%d duplicate=%d failed=%d next=%s%s%s",
            report.url,
            report.status,
            report.new,
            report.duplicate,
            report.failed,
            report.next_poll_at.isoformat(timespec="seconds") if report.next_poll_at else "-",
            f" error={report.error!r}" if report.error else "",
            f" deactivated={report.deactivated!r}" if report.deactivated else "",
            extra={
                "feed": report.url,
                "status": report.status,
                "new": report.new,
                "duplicate": report.duplicate,
                "failed": report.failed,
                "error": report.error,
            },
        )
        if not self._stopping:
            # a slot is free: fill it now rather than at the next tick
            asyncio.get_running_loop().create_task(self._with_database(self._dispatch))

    def _note_database_failure(self, feed_id: int, failed: bool) -> None:
        if not failed:
            self._database_failures.pop(feed_id, None)
            return
        failures = self._database_failures.get(feed_id, 0) + 1
        self._database_failures[feed_id] = failures
        delay = min(DATABASE_RETRY_SECONDS * 2 ** (failures - 1), self._settings.feed_lease_seconds)
        self._abandoned[feed_id] = self._clock() + timedelta(seconds=delay)

    async def _reload_feeds_file(self) -> None:
        if self._feeds_file is None:
            return
        try:
            mtime = self._feeds_file.stat().st_mtime
            if mtime == self._feeds_file_mtime:
                return
            sources = load_feed_list(self._feeds_file)
        except (OSError, ConfigError) as error:
            log.error("feeds file not reloaded, keeping the current feeds: %s", error)
            return
        async with self._store.writing() as session:
            sync = await queries.sync_config_feeds(
                session, [(s.url, s.title) for s in sources], self._clock()
            )
        self._feeds_file_mtime = mtime
        if sync.added or sync.dropped or sync.restored:
            log.info(
                "feeds file %s: %d added, %d dropped, %d restored",
                self._feeds_file,
                sync.added,
                sync.dropped,
                sync.restored,
            )
