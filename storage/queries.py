"""Reads and writes of feeds and articles. All SQL of the pipeline lives here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from pipeline.dedup import Candidate, StoredKeys, guid_key, plan_batch
from pipeline.records import Article
from storage.models import ArticleFailureRow, ArticleRow, Base, FeedRow

IN_CHUNK = 500
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_for(session: AsyncSession, model: type[Base]) -> Any:
    """An INSERT that supports ON CONFLICT for the session's dialect."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(model)
    return statement


@dataclass(frozen=True, slots=True)
class FeedState:
    id: int
    url: str
    title: str | None
    site_url: str | None
    active: bool
    inactive_reason: str | None
    etag: str | None
    last_modified: str | None
    last_body_hash: str | None
    last_polled_at: datetime | None
    last_status: int | None
    error_count: int
    last_error: str | None
    next_poll_at: datetime | None = None
    poll_interval_seconds: int | None = None


def _feed_state(row: FeedRow) -> FeedState:
    return FeedState(
        id=row.id,
        url=row.url,
        title=row.title,
        site_url=row.site_url,
        active=row.active,
        inactive_reason=row.inactive_reason,
        etag=row.etag,
        last_modified=row.last_modified,
        last_body_hash=row.last_body_hash,
        last_polled_at=row.last_polled_at,
        last_status=row.last_status,
        error_count=row.error_count,
        last_error=row.last_error,
        next_poll_at=row.next_poll_at,
        poll_interval_seconds=row.poll_interval_seconds,
    )


async def insert_new_feeds(
    session: AsyncSession,
    feeds: Iterable[tuple[str, str | None]],
    now: datetime,
    added_by: str = "user",
) -> int:
    """Add feeds (url, title) not yet known; known ones, even removed ones, are left as they are."""
    rows = [
        {"url": url, "title": title, "created_at": now, "added_by": added_by}
        for url, title in feeds
    ]
    if not rows:
        return 0
    statement = insert_for(session, FeedRow).on_conflict_do_nothing(index_elements=["url"])
    result = await session.execute(statement.returning(FeedRow.id), rows)
    return len(result.all())


NOT_IN_CONFIG = "no longer listed in the feeds file"


@dataclass(frozen=True, slots=True)
class ConfigSync:
    added: int
    dropped: int
    restored: int


async def sync_config_feeds(
    session: AsyncSession, feeds: Sequence[tuple[str, str | None]], now: datetime
) -> ConfigSync:
    """Make the database follow the feeds file: new ones added, dropped ones deactivated.

    Only feeds that came from the file follow it; a feed removed with `feeds remove` stays removed.
    """
    listed = [url for url, _ in feeds]
    added = await insert_new_feeds(session, feeds, now, added_by="config")
    from_config = FeedRow.added_by == "config"
    dropped = await session.execute(
        update(FeedRow)
        .where(from_config, FeedRow.active.is_(True), FeedRow.url.not_in(listed))
        .values(active=False, inactive_reason=NOT_IN_CONFIG)
    )
    restored = await session.execute(
        update(FeedRow)
        .where(from_config, FeedRow.inactive_reason == NOT_IN_CONFIG, FeedRow.url.in_(listed))
        .values(active=True, inactive_reason=None)
    )
    return ConfigSync(added, _rowcount(dropped), _rowcount(restored))


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def activate_feed(session: AsyncSession, url: str, title: str | None, now: datetime) -> bool:
    """Add a feed, or re-activate a removed one. True when something changed."""
    if await insert_new_feeds(session, [(url, title)], now):
        return True
    result = await session.execute(
        update(FeedRow)
        .where(FeedRow.url == url, FeedRow.active.is_(False))
        .values(active=True, inactive_reason=None, error_count=0)
    )
    return _rowcount(result) > 0


async def deactivate_feed(session: AsyncSession, url: str, reason: str) -> bool:
    """Stop polling a feed; its articles stay. True when the feed was active."""
    result = await session.execute(
        update(FeedRow)
        .where(FeedRow.url == url, FeedRow.active.is_(True))
        .values(active=False, inactive_reason=reason)
    )
    return _rowcount(result) > 0


async def list_feeds(session: AsyncSession, include_inactive: bool = False) -> list[FeedState]:
    query = select(FeedRow).order_by(FeedRow.url)
    if not include_inactive:
        query = query.where(FeedRow.active.is_(True))
    return [_feed_state(row) for row in (await session.scalars(query)).all()]


async def feeds_by_url(session: AsyncSession, urls: Sequence[str]) -> list[FeedState]:
    rows: list[FeedRow] = []
    for chunk in chunks(urls):
        rows.extend((await session.scalars(select(FeedRow).where(FeedRow.url.in_(chunk)))).all())
    return sorted((_feed_state(row) for row in rows), key=lambda feed: feed.url)


async def article_counts(session: AsyncSession) -> dict[int, int]:
    """Stored articles per feed id."""
    query = select(ArticleRow.feed_id, func.count()).group_by(ArticleRow.feed_id)
    return {feed_id: count for feed_id, count in await session.execute(query)}


async def due_feeds(
    session: AsyncSession,
    now: datetime,
    limit: int,
    exclude: Iterable[int] = (),
    only: Iterable[int] | None = None,
) -> list[FeedState]:
    """Active feeds whose poll time has come, most overdue (or never polled) first."""
    query = (
        select(FeedRow)
        .where(FeedRow.active.is_(True))
        .where(or_(FeedRow.next_poll_at.is_(None), FeedRow.next_poll_at <= now))
        .order_by(FeedRow.next_poll_at.asc().nulls_first(), FeedRow.id)
        .limit(limit)
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(FeedRow.id.not_in(excluded))
    if only is not None:
        query = query.where(FeedRow.id.in_(list(only)))
    return [_feed_state(row) for row in (await session.scalars(query)).all()]


async def due_summary(session: AsyncSession, now: datetime) -> tuple[int, datetime | None]:
    """How many active feeds are due, and the oldest poll time among them."""
    query = select(func.count(), func.min(FeedRow.next_poll_at)).where(
        FeedRow.active.is_(True),
        or_(FeedRow.next_poll_at.is_(None), FeedRow.next_poll_at <= now),
    )
    count, oldest = (await session.execute(query)).one()
    return int(count), oldest


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """The bookkeeping of one poll of a feed."""

    polled_at: datetime
    status: int | None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    site_url: str | None = None
    next_poll_at: datetime | None = None
    poll_interval_seconds: int | None = None
    inactive_reason: str | None = None
    moved_to: str | None = None
    """The feed's new URL after a permanent redirect."""


async def record_poll(session: AsyncSession, feed_id: int, outcome: PollOutcome) -> None:
    values: dict[str, Any] = {"last_polled_at": outcome.polled_at, "last_status": outcome.status}
    if outcome.error is not None:
        values.update(last_error=outcome.error, error_count=FeedRow.error_count + 1)
    else:
        values.update(last_error=None, error_count=0)
        if outcome.status != 304:
            values.update(
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                last_body_hash=outcome.body_hash,
            )
        if outcome.title:
            values["title"] = outcome.title
        if outcome.site_url:
            values["site_url"] = outcome.site_url
    if outcome.next_poll_at is not None:
        values.update(
            next_poll_at=outcome.next_poll_at, poll_interval_seconds=outcome.poll_interval_seconds
        )
    if outcome.inactive_reason is not None:
        values.update(active=False, inactive_reason=outcome.inactive_reason)
    if outcome.moved_to is not None:
        taken = await session.scalar(select(FeedRow.id).where(FeedRow.url == outcome.moved_to))
        if taken is None:
            values["url"] = outcome.moved_to
    await session.execute(update(FeedRow).where(FeedRow.id == feed_id).values(**values))


async def links_to_skip(session: AsyncSession, links: Sequence[str], max_attempts: int) -> set[str]:
    """Links already stored (as url or source_url) or that failed max_attempts times."""
    found: set[str] = set()
    for chunk in chunks(links):
        for column in (ArticleRow.url, ArticleRow.source_url):
            found.update((await session.scalars(select(column).where(column.in_(chunk)))).all())
        failed = select(ArticleFailureRow.url).where(
            ArticleFailureRow.url.in_(chunk), ArticleFailureRow.attempts >= max_attempts
        )
        found.update((await session.scalars(failed)).all())
    return found


async def _stored_keys(session: AsyncSession, candidates: Sequence[Candidate]) -> StoredKeys:
    keys = StoredKeys()
    original = func.coalesce(ArticleRow.duplicate_of, ArticleRow.id)
    urls = sorted({url for c in candidates for url in (c.url, c.source_url)})
    guids = sorted({c.guid_key for c in candidates if c.guid_key})
    hashes = sorted({c.content_hash for c in candidates if c.content_hash})
    lookups = [
        (ArticleRow.url, urls, keys.by_url),
        (ArticleRow.source_url, urls, keys.by_url),
        (ArticleRow.guid_key, guids, keys.by_guid),
        (ArticleRow.content_hash, hashes, keys.by_hash),
    ]
    for column, values, into in lookups:
        for chunk in chunks(values):
            rows = await session.execute(
                select(column, original).where(column.in_(chunk)).order_by(ArticleRow.id)
            )
            for key, article_id in rows:
                if key is not None:
                    into.setdefault(key, article_id)
    return keys


@dataclass(frozen=True, slots=True)
class StoreResult:
    new: int = 0
    duplicate: int = 0
    already_stored: int = 0
    originals: tuple[int, ...] = ()
    """Indexes (in the batch given) of the articles stored as new originals."""


def _row(feed_id: int, article: Article, url: str) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "url": url,
        "source_url": article.source_url,
        "guid": article.guid,
        "guid_key": guid_key(article.guid, feed_id),
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "language": article.language,
        "summary": article.summary,
        "body": article.body,
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "raw_body": article.raw_body or None,
        "site": article.site or None,
    }


async def store_articles(
    session: AsyncSession, feed_id: int, articles: Sequence[Article]
) -> StoreResult:
    """Insert originals, then copies pointing at them; a URL stored meanwhile is left alone."""
    candidates = [
        Candidate(a.url, a.source_url, guid_key(a.guid, feed_id), a.content_hash) for a in articles
    ]
    decisions = plan_batch(candidates, await _stored_keys(session, candidates))
    originals = [(i, d) for i, d in enumerate(decisions) if d.stored and d.kind is None]
    copies = [(i, d) for i, d in enumerate(decisions) if d.stored and d.kind is not None]
    insert = insert_for(session, ArticleRow).on_conflict_do_nothing(index_elements=["url"])
    new_ids: dict[int, int] = {}
    if originals:
        rows = [_row(feed_id, articles[i], d.url or articles[i].url) for i, d in originals]
        inserted = await session.execute(insert.returning(ArticleRow.url, ArticleRow.id), rows)
        by_url = {url: article_id for url, article_id in inserted}
        new_ids = {i: by_url[d.url] for i, d in originals if d.url in by_url}
    copy_rows = []
    for i, decision in copies:
        original = decision.original_id
        if original is None and decision.original_index is not None:
            original = new_ids.get(decision.original_index)
        if original is None:
            continue  # its original lost a race to another worker; the next poll retries it
        row = _row(feed_id, articles[i], decision.url or articles[i].url)
        copy_rows.append(row | {"duplicate_of": original, "duplicate_kind": decision.kind})
    stored_copies = 0
    if copy_rows:
        inserted = await session.execute(insert.returning(ArticleRow.id), copy_rows)
        stored_copies = len(inserted.all())
    return StoreResult(
        new=len(new_ids),
        duplicate=stored_copies,
        already_stored=len(articles) - len(new_ids) - stored_copies,
        originals=tuple(sorted(new_ids)),
    )


async def record_article_failure(
    session: AsyncSession,
    feed_id: int,
    url: str,
    reason: str,
    now: datetime,
    give_up_after: int | None = None,
) -> None:
    """Count a failed attempt; with give_up_after, count it as the last one allowed."""
    statement = insert_for(session, ArticleFailureRow).values(
        feed_id=feed_id,
        url=url,
        reason=reason,
        attempts=give_up_after or 1,
        first_failed_at=now,
        last_failed_at=now,
    )
    attempts = give_up_after if give_up_after else ArticleFailureRow.attempts + 1
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["url"],
            set_={"reason": reason, "last_failed_at": now, "attempts": attempts},
        )
    )


async def forget_article_failures(session: AsyncSession, urls: Sequence[str]) -> None:
    """A link that has now been stored is no longer a failure."""
    for chunk in chunks(urls):
        await session.execute(delete(ArticleFailureRow).where(ArticleFailureRow.url.in_(chunk)))


@dataclass(frozen=True, slots=True)
class StatusReport:
    active: int
    inactive: int
    due: int
    failing: int
    articles: int
    originals: int
    per_day: list[tuple[str, int]]
    inactive_feeds: list[tuple[str, str | None]]
    last_errors: list[tuple[str, str, datetime]]


async def status_report(session: AsyncSession, now: datetime, days: int = 7) -> StatusReport:
    active = FeedRow.active.is_(True)
    feeds = (
        await session.execute(
            select(
                func.count().filter(active),
                func.count().filter(FeedRow.active.is_(False)),
                func.count().filter(active, FeedRow.error_count > 0),
            )
        )
    ).one()
    due, _ = await due_summary(session, now)
    articles = (
        await session.execute(
            select(func.count(), func.count().filter(ArticleRow.duplicate_of.is_(None)))
        )
    ).one()
    day = func.date(ArticleRow.fetched_at)
    since = now - timedelta(days=days)
    per_day = await session.execute(
        select(day, func.count()).where(ArticleRow.fetched_at >= since).group_by(day).order_by(day)
    )
    inactive = await session.execute(
        select(FeedRow.url, FeedRow.inactive_reason).where(FeedRow.active.is_(False)).limit(20)
    )
    errors = await session.execute(
        select(FeedRow.url, FeedRow.last_error, FeedRow.last_polled_at)
        .where(FeedRow.last_error.is_not(None), FeedRow.last_polled_at.is_not(None))
        .order_by(FeedRow.last_polled_at.desc())
        .limit(10)
    )
    return StatusReport(
        active=feeds[0],
        inactive=feeds[1],
        due=due,
        failing=feeds[2],
        articles=articles[0],
        originals=articles[1],
        per_day=[(str(d), n) for d, n in per_day],
        inactive_feeds=[(url, reason) for url, reason in inactive],
        last_errors=[(url, str(error), when) for url, error, when in errors if when is not None],
    )
