"""Feeds: the list, its sync with the feeds file, and the bookkeeping of each poll."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ArticleRow, FeedRow
from storage.sql import chunks, insert_for


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


def feed_state(row: FeedRow) -> FeedState:
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
    return [feed_state(row) for row in (await session.scalars(query)).all()]


async def feeds_by_url(session: AsyncSession, urls: Sequence[str]) -> list[FeedState]:
    rows: list[FeedRow] = []
    for chunk in chunks(urls):
        rows.extend((await session.scalars(select(FeedRow).where(FeedRow.url.in_(chunk)))).all())
    return sorted((feed_state(row) for row in rows), key=lambda feed: feed.url)


async def article_counts(session: AsyncSession) -> dict[int, int]:
    """Stored articles per feed id."""
    query = select(ArticleRow.feed_id, func.count()).group_by(ArticleRow.feed_id)
    return {feed_id: count for feed_id, count in await session.execute(query)}


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
    await record_polls(session, [(feed_id, outcome)])


async def record_polls(session: AsyncSession, polls: Sequence[tuple[int, PollOutcome]]) -> None:
    """Each poll's bookkeeping; it also ends the feed's lease (lease_owner stays: who polled).

    Polls that set the same columns share one executemany UPDATE.
    """
    shapes: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
    for feed_id, outcome in polls:
        values = await _poll_values(session, outcome)
        shapes.setdefault((outcome.error is not None, tuple(sorted(values))), []).append(
            values | {"feed_id": feed_id}
        )
    # Core, not ORM: an ORM UPDATE given many rows wants them by primary key.
    table = cast(Table, FeedRow.__table__)
    feeds = table.c
    for (failed, names), rows in shapes.items():
        statement = (
            update(table)
            .where(feeds.id == bindparam("feed_id"))
            .values({name: bindparam(name) for name in names})
        )
        if failed:
            statement = statement.values(error_count=feeds.error_count + 1)
        await session.execute(statement, rows)


async def _poll_values(session: AsyncSession, outcome: PollOutcome) -> dict[str, Any]:
    values: dict[str, Any] = {
        "last_polled_at": outcome.polled_at,
        "last_status": outcome.status,
        "lease_expires_at": None,
    }
    if outcome.error is not None:
        values.update(last_error=outcome.error)
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
    return values
