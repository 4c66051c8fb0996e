"""Storing articles: a batch of several feeds' articles, each linked to its original if a copy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.dedup import Candidate, StoredKeys, candidate_of, plan_batch
from pipeline.records import Article, FeedEntry
from pipeline.urls import canonical_url, url_key
from storage import near_index
from storage.links import rows_by_url_key
from storage.models import ArticleRow
from storage.sql import chunks, insert_for

EVER = datetime(1970, 1, 1, tzinfo=UTC)


async def store_feed_copies(
    session: AsyncSession, feed_id: int, copies: Sequence[tuple[FeedEntry, int]], now: datetime
) -> int:
    """Store this feed's own rows for links another feed has stored, as URL copies.

    The body is the stored row's (same URL, same page); title, date and summary are the
    feed's, and fetched_at is when this feed listed it.
    """
    by_id = {row_id for _, row_id in copies}
    stored: dict[int, ArticleRow] = {}
    for chunk in chunks(sorted(by_id)):
        found = await session.scalars(select(ArticleRow).where(ArticleRow.id.in_(chunk)))
        stored.update({row.id: row for row in found})
    rows = []
    for entry, row_id in copies:
        row = stored.get(row_id)
        if row is None:
            continue
        link = canonical_url(entry.link)
        article = Article(
            url=link,
            source_url=link,
            guid=entry.guid,
            title=entry.title or row.title,
            author=entry.author or row.author,
            published_at=entry.published_at or row.published_at,
            fetched_at=now,
            language=row.language,
            summary=entry.summary or row.summary,
            body=row.body,
            word_count=row.word_count,
            content_hash=row.content_hash,
            raw_body=row.raw_body or "",
            site=row.site or "",
        )
        rows.append(
            _row(feed_id, article, link, candidate_of(article, feed_id))
            | {
                "duplicate_of": row.duplicate_of or row.id,
                "duplicate_kind": "url",
                "similarity": 1.0 if row.duplicate_of is None else row.similarity,
            }
        )
    if not rows:
        return 0
    insert = insert_for(session, ArticleRow).on_conflict_do_nothing()
    inserted = await session.execute(insert.returning(ArticleRow.id), rows)
    return len(inserted.all())


async def stored_keys(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    near_since: datetime,
    before_id: int | None = None,
) -> StoredKeys:
    """What is stored under the candidates' keys (only rows before before_id, if given)."""
    links = {key for c in candidates for key in (c.url_key, c.source_key)}
    by_url: dict[str, int] = {}
    in_feed: set[tuple[int | None, str]] = set()
    for key, feed, _, original_id in await rows_by_url_key(session, sorted(links), before_id):
        by_url.setdefault(key, original_id)
        in_feed.add((feed, key))
    keys = StoredKeys(in_feed=frozenset(in_feed), by_url=by_url)
    original = func.coalesce(ArticleRow.duplicate_of, ArticleRow.id)
    guids = sorted({c.guid_key for c in candidates if c.guid_key})
    hashes = sorted({c.content_hash for c in candidates if c.content_hash})
    lookups = [
        (ArticleRow.guid_key, guids, keys.by_guid),
        (ArticleRow.content_hash, hashes, keys.by_hash),
    ]
    for column, values, into in lookups:
        for chunk in chunks(values):
            query = select(column, original).where(column.in_(chunk))
            if before_id is not None:
                query = query.where(ArticleRow.id < before_id)
            rows = await session.execute(query.order_by(ArticleRow.id))
            for value, article_id in rows:
                if value is not None:
                    into.setdefault(value, article_id)
    bands = {band for c in candidates for band in c.bands}
    keys.by_band.update(await near_index.candidates(session, bands, near_since))
    ids = {i for ids in keys.by_band.values() for i in ids}
    ids |= set(keys.by_url.values()) | set(keys.by_guid.values())
    keys.signatures.update(await near_index.signatures(session, ids))
    return keys


@dataclass(frozen=True, slots=True)
class StoreResult:
    size: int = 0
    """How many articles the batch had."""
    originals: tuple[int, ...] = ()
    """Indexes (in the batch given) of the articles stored as new originals."""
    copies: tuple[int, ...] = ()
    """Indexes of the articles stored as copies; the others were stored already."""

    @property
    def new(self) -> int:
        return len(self.originals)

    @property
    def duplicate(self) -> int:
        return len(self.copies)

    @property
    def already_stored(self) -> int:
        return self.size - self.new - self.duplicate


def _row(feed_id: int, article: Article, url: str, candidate: Candidate) -> dict[str, Any]:
    """The row of an article stored under `url`, with the keys its candidate derived."""
    return {
        "feed_id": feed_id,
        "url": url,
        "source_url": article.source_url,
        "url_key": candidate.url_key if url == candidate.url else url_key(url),
        "source_url_key": candidate.source_key,
        "guid": article.guid,
        "guid_key": candidate.guid_key,
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
    session: AsyncSession,
    feed_id: int,
    articles: Sequence[Article],
    near_threshold: float = 0.5,
    near_since: datetime = EVER,
) -> StoreResult:
    """store_batch for one feed's articles."""
    return await store_batch(
        session, [(feed_id, article) for article in articles], near_threshold, near_since
    )


async def store_batch(
    session: AsyncSession,
    listed: Sequence[tuple[int, Article]],
    near_threshold: float = 0.5,
    near_since: datetime = EVER,
    retry_lost_races: bool = True,
) -> StoreResult:
    """Store (feed id, article) pairs, of one feed or several: originals (indexed), then copies
    pointing at them.

    An original whose URL another worker stored meanwhile (its insert did nothing) is decided
    again, with its in-batch copies, against what that worker committed: a URL copy of it.
    """
    candidates = [candidate_of(article, feed_id) for feed_id, article in listed]
    stored = await stored_keys(session, candidates, near_since)
    decisions = plan_batch(candidates, stored, near_threshold)
    originals = [(i, d) for i, d in enumerate(decisions) if d.stored and d.kind is None]
    copies = [(i, d) for i, d in enumerate(decisions) if d.stored and d.kind is not None]
    insert = insert_for(session, ArticleRow).on_conflict_do_nothing()
    new_ids: dict[int, int] = {}
    if originals:
        rows = [_row(*listed[i], d.url or listed[i][1].url, candidates[i]) for i, d in originals]
        inserted = await session.execute(insert.returning(ArticleRow.url, ArticleRow.id), rows)
        by_url = {url: article_id for url, article_id in inserted}
        new_ids = {i: by_url[d.url] for i, d in originals if d.url in by_url}
        signed = [
            (new_ids[i], signature, candidates[i].bands, listed[i][1].fetched_at)
            for i in new_ids
            if (signature := candidates[i].signature) is not None
        ]
        await near_index.add(session, signed)
    copy_rows: list[dict[str, Any]] = []
    copy_indexes: list[int] = []
    lost = [i for i, _ in originals if i not in new_ids]
    for i, decision in copies:
        original = decision.original_id
        if original is None and decision.original_index is not None:
            original = new_ids.get(decision.original_index)
        if original is None:
            lost.append(i)  # its original lost a race to another worker
            continue
        row = _row(*listed[i], decision.url or listed[i][1].url, candidates[i])
        copy_rows.append(
            row
            | {
                "duplicate_of": original,
                "duplicate_kind": decision.kind,
                "similarity": decision.similarity,
            }
        )
        copy_indexes.append(i)
    stored_copies: list[int] = []
    if copy_rows:
        inserted = await session.execute(
            insert.returning(ArticleRow.feed_id, ArticleRow.url), copy_rows
        )
        # An insert does nothing where that feed has a row under that URL already.
        returned = {(feed_id, url) for feed_id, url in inserted}
        for i, row in zip(copy_indexes, copy_rows, strict=True):
            if (row["feed_id"], row["url"]) in returned:
                returned.discard((row["feed_id"], row["url"]))
                stored_copies.append(i)
    new = sorted(new_ids)
    if lost and retry_lost_races:
        # The winner has committed by now (our insert waited for it): it is visible to this one.
        lost = sorted(lost)
        again = await store_batch(
            session, [listed[i] for i in lost], near_threshold, near_since, False
        )
        new += [lost[j] for j in again.originals]
        stored_copies += [lost[j] for j in again.copies]
    return StoreResult(len(listed), tuple(sorted(new)), tuple(sorted(stored_copies)))
