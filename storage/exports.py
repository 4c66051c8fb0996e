"""Reading articles out in bulk: filtered, in id order, streamed in batches (a server-side
cursor on PostgreSQL), so an export of millions of rows keeps memory flat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Select, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import ArticleRow, FeedRow


@dataclass(frozen=True, slots=True)
class ExportFilter:
    since: datetime | None = None
    """Inclusive, on published_at (fetched_at for undated articles)."""
    until: datetime | None = None
    """Exclusive, on the same date."""
    feed_ids: Sequence[int] | None = None
    originals_only: bool = False
    after_id: int = 0


def export_columns() -> list[Column[Any]]:
    """Every column of articles, in table order, then feeds.url as feed_url."""
    return [*ArticleRow.__table__.columns, FeedRow.__table__.c.url.label("feed_url")]


def export_query(filters: ExportFilter) -> Select[Any]:
    query = (
        select(*export_columns())
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(ArticleRow.id > filters.after_id)
        .order_by(ArticleRow.id)
    )
    dated = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    if filters.since is not None:
        query = query.where(dated >= filters.since)
    if filters.until is not None:
        query = query.where(dated < filters.until)
    if filters.feed_ids is not None:
        query = query.where(ArticleRow.feed_id.in_(list(filters.feed_ids)))
    if filters.originals_only:
        query = query.where(ArticleRow.duplicate_of.is_(None))
    return query


async def has_articles_table(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return "articles" in names


async def feed_ids_by_url(engine: AsyncEngine, urls: Sequence[str]) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(FeedRow.url, FeedRow.id).where(FeedRow.url.in_(urls))
        )
        return {url: feed_id for url, feed_id in rows}


async def stream_articles(
    engine: AsyncEngine, filters: ExportFilter, batch_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Batches of rows as dicts, in id order; only one batch is in memory at a time."""
    query = export_query(filters).execution_options(yield_per=batch_size)
    async with engine.connect() as connection:
        result = await connection.stream(query)
        async for partition in result.mappings().partitions(batch_size):
            yield [dict(row) for row in partition]
