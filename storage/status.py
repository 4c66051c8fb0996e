"""`rss-ingest status`: the feeds, the articles and the recent errors, counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.leases import due_summary
from storage.models import ArticleRow, FeedRow


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
