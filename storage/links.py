"""Which links are known: stored (by this feed or another, under any spelling of their URL) or
given up on, after failing `max_attempts` times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.urls import url_key
from storage.models import ArticleFailureRow, ArticleRow
from storage.sql import chunks, insert_for


@dataclass(frozen=True, slots=True)
class KnownLinks:
    skip: frozenset[str]
    """Links this feed has stored already (as any spelling of their URL) or given up on."""
    elsewhere: dict[str, int]
    """Links another feed has stored -> the id of that row: a copy needs no fetch."""


async def rows_by_url_key(
    session: AsyncSession, keys: Sequence[str], before_id: int | None = None
) -> list[tuple[str, int, int, int]]:
    """(key, feed id, row id, original id) of rows whose url or source_url has one of the keys:
    the url matches first, then the source_url ones, each in the order the rows were stored."""
    by_url, by_source = [], []
    original = func.coalesce(ArticleRow.duplicate_of, ArticleRow.id)
    for chunk in chunks(sorted(set(keys))):
        wanted = set(chunk)
        query = select(
            ArticleRow.url_key,
            ArticleRow.source_url_key,
            ArticleRow.feed_id,
            ArticleRow.id,
            original,
        ).where(or_(ArticleRow.url_key.in_(chunk), ArticleRow.source_url_key.in_(chunk)))
        if before_id is not None:
            query = query.where(ArticleRow.id < before_id)
        for key, source_key, feed, row_id, original_id in await session.execute(
            query.order_by(ArticleRow.id)
        ):
            if key in wanted:
                by_url.append((str(key), feed, row_id, original_id))
            if source_key in wanted:
                by_source.append((str(source_key), feed, row_id, original_id))
    return by_url + by_source


async def known_links(
    session: AsyncSession, feed_id: int, links: Sequence[str], max_attempts: int
) -> KnownLinks:
    (known,) = await known_links_of(session, [(feed_id, links)], max_attempts)
    return known


async def known_links_of(
    session: AsyncSession, feeds: Sequence[tuple[int, Sequence[str]]], max_attempts: int
) -> list[KnownLinks]:
    """KnownLinks for each (feed id, links) asked, in one lookup for all."""
    key_of = {link: url_key(link) for _, links in feeds for link in links}
    rows = await rows_by_url_key(session, list(key_of.values()))
    stored_by = {(feed, key) for key, feed, _, _ in rows}
    first_row: dict[str, int] = {}
    for key, _, row_id, _ in rows:
        first_row[key] = min(row_id, first_row.get(key, row_id))
    given_up: set[str] = set()
    for chunk in chunks(sorted(key_of)):
        failed = select(ArticleFailureRow.url).where(
            ArticleFailureRow.url.in_(chunk), ArticleFailureRow.attempts >= max_attempts
        )
        given_up.update((await session.scalars(failed)).all())
    answers = []
    for feed_id, links in feeds:
        skip = {link for link in links if (feed_id, key_of[link]) in stored_by or link in given_up}
        elsewhere = {
            link: first_row[key_of[link]]
            for link in links
            if link not in skip and key_of[link] in first_row
        }
        answers.append(KnownLinks(frozenset(skip), elsewhere))
    return answers


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
