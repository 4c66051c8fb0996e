"""Articles: which links are known, storing a batch with its duplicate links, failed pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.dedup import Candidate, StoredKeys, guid_key, plan_batch
from pipeline.records import Article
from storage.models import ArticleFailureRow, ArticleRow
from storage.sql import chunks, insert_for


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
