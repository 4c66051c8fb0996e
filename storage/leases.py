"""Feed leases: which worker polls which due feed, when several share one database."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FeedRow
from storage.queries import FeedState, feed_state


def _due(now: datetime) -> list[Any]:
    """Active, its poll time come, and no unexpired lease held on it."""
    return [
        FeedRow.active.is_(True),
        or_(FeedRow.next_poll_at.is_(None), FeedRow.next_poll_at <= now),
        or_(FeedRow.lease_expires_at.is_(None), FeedRow.lease_expires_at <= now),
    ]


async def claim_due_feeds(
    session: AsyncSession,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    only: Iterable[int] | None = None,
) -> list[FeedState]:
    """Lease up to `limit` due feeds to `owner`, most overdue (or never polled) first.

    One statement: UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) on PostgreSQL, so
    that workers sharing the database never claim the same feed and never wait for each other;
    on SQLite the database's single writer gives the same guarantee. The lease ends when the
    poll is recorded, or when it expires (a crashed worker's feeds are then claimed by others).
    """
    if limit <= 0:
        return []
    due = (
        select(FeedRow.id)
        .where(*_due(now))
        .order_by(FeedRow.next_poll_at.asc().nulls_first(), FeedRow.id)
        .limit(limit)
    )
    if only is not None:
        due = due.where(FeedRow.id.in_(list(only)))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = await session.scalars(
        update(FeedRow)
        .where(FeedRow.id.in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=lease_until)
        .returning(FeedRow)
        .execution_options(synchronize_session=False)
    )
    feeds = [feed_state(row) for row in claimed.all()]
    return sorted(feeds, key=lambda f: (f.next_poll_at is not None, f.next_poll_at or now, f.id))


async def release_leases(
    session: AsyncSession, owner: str, feed_ids: Collection[int] | None = None
) -> None:
    """Give back the leases of polls abandoned (at shutdown, or because the database failed
    them), all or only these feeds': whoever claims next polls them."""
    condition = [FeedRow.lease_owner == owner, FeedRow.lease_expires_at.is_not(None)]
    if feed_ids is not None:
        condition.append(FeedRow.id.in_(feed_ids))
    await session.execute(update(FeedRow).where(*condition).values(lease_expires_at=None))


async def lease_holders(session: AsyncSession, now: datetime) -> list[str]:
    """The workers holding unexpired leases."""
    query = select(FeedRow.lease_owner).where(FeedRow.lease_expires_at > now).distinct()
    return [owner for owner in (await session.scalars(query)).all() if owner]


async def due_summary(session: AsyncSession, now: datetime) -> tuple[int, datetime | None]:
    """How many active feeds are due and not being polled, and the oldest poll time among them."""
    query = select(func.count(), func.min(FeedRow.next_poll_at)).where(*_due(now))
    count, oldest = (await session.execute(query)).one()
    return int(count), oldest
