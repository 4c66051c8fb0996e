"""What polls read and write, batched across the polls in flight (group commit).

A poll looks up which of its links are known and how often a site's paragraphs recur, then
writes its articles, copies, failures, boilerplate counts and bookkeeping. Each statement costs
the event loop about a millisecond whatever its size, so polls under way share them: see
pipeline/batching.py. A poll's writes commit in one transaction (with the rest of its batch), so
an interrupted poll loses nothing it reported as stored, and the next one picks up exactly what
is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.batching import Batcher
from pipeline.records import Article, FeedEntry
from pipeline.settings import Settings
from storage import articles as article_storage
from storage import links as link_storage
from storage import near_index, queries, site_paragraphs
from storage.links import KnownLinks
from storage.queries import PollOutcome
from storage.site_paragraphs import SiteStats
from storage.store import Store

# How long a batch waits for polls under way: a poll takes seconds anyway. With the crawl's
# 128 polls in flight a batch of writes gathers ~20 of them, half the statements of a 0.2 s
# wait; with few in flight (a quiet daemon) it waits much less, as few polls could join it.
LINGER = 0.5
# The lookup of known links stands between a feed and its pages' fetch, so between the pool
# and its next work: a longer wait there left the pool idle while the crawl got going, and it
# waits only while the pool has work queued (PollStore's links_may_wait).
LINKS_LINGER = 0.2
POLLS_FOR_FULL_LINGER = 128
# How often the near-duplicate index forgets what left its window (lookups ignore it anyway).
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ArticleFailure:
    link: str
    reason: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class PolledFeed:
    """What one poll stores: the feed's bookkeeping, and any articles it found."""

    feed_id: int
    outcome: PollOutcome
    listed_elsewhere: Sequence[tuple[FeedEntry, int]] = ()
    """Entries another feed has stored, with that row's id: stored as copies, not fetched."""
    extracted: Sequence[Article] = ()
    """The articles as the rules left them: what boilerplate learning counts."""
    articles: Sequence[Article] = ()
    """The same articles without learned boilerplate, signed: what is stored."""
    failures: Sequence[ArticleFailure] = ()


@dataclass(frozen=True, slots=True)
class StoredCounts:
    new: int = 0
    duplicate: int = 0
    already_stored: int = 0


class PollStore:
    """in_flight: how many polls are under way, the most that could join a batch;
    links_may_wait: whether the known-links lookup may wait for others (while the pool has work
    enough), or must run at once (the pool waits for the pages the lookup lets be fetched)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        in_flight: Callable[[], int],
        links_may_wait: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        self._settings = settings
        self._pruned_before: datetime | None = None
        links_per_poll = LINKS_LINGER / POLLS_FOR_FULL_LINGER
        per_poll = LINGER / POLLS_FOR_FULL_LINGER
        self._known_links = Batcher(
            self._look_up_links, LINKS_LINGER, in_flight, links_per_poll, links_may_wait
        )
        self._site_stats = Batcher(self._look_up_site_stats, LINGER, in_flight, per_poll)
        self._stored = Batcher(self._store_polls, LINGER, in_flight, per_poll)

    async def known_links(self, feed_id: int, links: Sequence[str]) -> KnownLinks:
        return await self._known_links((feed_id, links))

    async def site_stats(self, wanted: dict[str, set[str]]) -> dict[str, SiteStats]:
        """Counts for the sites and paragraph fingerprints asked (and maybe others)."""
        return await self._site_stats(wanted)

    async def store(self, polled: PolledFeed) -> StoredCounts:
        return await self._stored(polled)

    async def _look_up_links(self, asked: Sequence[tuple[int, Sequence[str]]]) -> list[KnownLinks]:
        async with self._store.reading() as session:
            return await link_storage.known_links_of(
                session, asked, self._settings.max_article_attempts
            )

    async def _look_up_site_stats(
        self, asked: Sequence[dict[str, set[str]]]
    ) -> list[dict[str, SiteStats]]:
        """Every caller gets the stats of all sites asked in the batch (a superset of its own)."""
        wanted: dict[str, set[str]] = {}
        for sites in asked:
            for site, prints in sites.items():
                wanted.setdefault(site, set()).update(prints)
        async with self._store.reading() as session:
            stats = await site_paragraphs.site_stats(session, wanted)
        return [stats] * len(asked)

    async def _store_polls(self, polls: Sequence[PolledFeed]) -> list[StoredCounts]:
        """Store the polls of one batch in one transaction."""
        new = [0] * len(polls)
        duplicate = [0] * len(polls)
        already = [0] * len(polls)
        polled_at = min(poll.outcome.polled_at for poll in polls)
        near_since = polled_at - timedelta(days=self._settings.near_duplicate_window_days)
        async with self._store.writing() as session:
            for p, poll in enumerate(polls):
                duplicate[p] += await article_storage.store_feed_copies(
                    session, poll.feed_id, poll.listed_elsewhere, poll.outcome.polled_at
                )
            if self._pruned_before is None or near_since - self._pruned_before >= PRUNE_EVERY:
                await near_index.prune(session, near_since)
                self._pruned_before = near_since
            # (index of the poll, index in its articles) of each article
            listed = [(p, a) for p, poll in enumerate(polls) for a in range(len(poll.articles))]
            originals: list[Article] = []
            batch = self._settings.store_batch_size
            for start in range(0, len(listed), batch):
                part = listed[start : start + batch]
                stored = await article_storage.store_batch(
                    session,
                    [(polls[p].feed_id, polls[p].articles[a]) for p, a in part],
                    self._settings.near_duplicate_threshold,
                    near_since,
                )
                originals_here, copies_here = set(stored.originals), set(stored.copies)
                for index, (p, a) in enumerate(part):
                    if index in originals_here:
                        new[p] += 1
                        originals.append(polls[p].extracted[a])
                    elif index in copies_here:
                        duplicate[p] += 1
                    else:
                        already[p] += 1
            # Learning counts every paragraph the rules kept, learned boilerplate included.
            await site_paragraphs.count_articles(
                session,
                {site: [_paragraphs(a) for a in arts] for site, arts in by_site(originals).items()},
                polled_at,
            )
            await link_storage.forget_article_failures(
                session, [a.source_url for poll in polls for a in poll.articles]
            )
            for poll in polls:
                for failure in poll.failures:
                    await link_storage.record_article_failure(
                        session,
                        poll.feed_id,
                        failure.link,
                        failure.reason,
                        poll.outcome.polled_at,
                        give_up_after=(
                            self._settings.max_article_attempts if failure.final else None
                        ),
                    )
            await queries.record_polls(session, [(poll.feed_id, poll.outcome) for poll in polls])
        return [StoredCounts(*counts) for counts in zip(new, duplicate, already, strict=True)]


def by_site(articles: Sequence[Article]) -> dict[str, list[Article]]:
    sites: dict[str, list[Article]] = {}
    for article in articles:
        sites.setdefault(article.site, []).append(article)
    return sites


def _paragraphs(article: Article) -> list[tuple[str, str]]:
    return list(zip(article.fingerprints, article.body.split("\n\n"), strict=True))
