"""Recomputing every duplicate link over the stored articles (`rss-ingest dedup --rebuild`).

Articles are taken in id order (the order they were stored), so each one is compared only with
those stored before it, as the crawl compared it, through the same layers and the same window.
The near-duplicate index is rebuilt on the way. Run it after changing the near-duplicate
settings or after `reclean`; running it twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from pipeline import neardup
from pipeline.dedup import Candidate, Decision, content_hash, plan_batch
from pipeline.settings import Settings
from pipeline.urls import url_key
from storage import near_index
from storage.articles import stored_keys
from storage.models import ArticleRow
from storage.store import Store

BATCH = 500


@dataclass(frozen=True, slots=True)
class RelinkResult:
    examined: int
    changed: int


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    url: str
    source_url: str
    guid_key: str | None
    body: str
    fetched_at: datetime
    link: tuple[int | None, str | None, float | None]
    """duplicate_of, duplicate_kind, similarity as stored."""


def _signatures(bodies: Sequence[str], min_words: int) -> list[bytes | None]:
    return [neardup.signature(body, min_words) for body in bodies]


async def relink(
    store: Store, executor: Executor, settings: Settings, now: datetime
) -> RelinkResult:
    window = timedelta(days=settings.near_duplicate_window_days)
    async with store.writing() as session:
        await near_index.clear(session)
    examined = changed = 0
    last_id = 0
    loop = asyncio.get_running_loop()
    while True:
        async with store.writing() as session:
            found = await session.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.url,
                    ArticleRow.source_url,
                    ArticleRow.guid_key,
                    ArticleRow.body,
                    ArticleRow.fetched_at,
                    ArticleRow.duplicate_of,
                    ArticleRow.duplicate_kind,
                    ArticleRow.similarity,
                )
                .where(ArticleRow.id > last_id)
                .order_by(ArticleRow.id)
                .limit(BATCH)
            )
            rows = [_Stored(*row[:6], link=(row[6], row[7], row[8])) for row in found]
            if not rows:
                break
            last_id = rows[-1].id
            # one pool task a few dozen bodies: the pool's overhead stays small
            step = max(1, len(rows) // 8)
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        executor,
                        _signatures,
                        [r.body for r in rows[i : i + step]],
                        settings.near_duplicate_min_words,
                    )
                    for i in range(0, len(rows), step)
                )
            )
            signatures = [signature for part in parts for signature in part]
            candidates = [
                Candidate(r.url, r.source_url, r.guid_key, content_hash(r.body), signature)
                for r, signature in zip(rows, signatures, strict=True)
            ]
            since = min(r.fetched_at for r in rows) - window
            known = await stored_keys(session, candidates, since, before_id=rows[0].id)
            decisions = plan_batch(
                candidates, known, settings.near_duplicate_threshold, skip_known_links=False
            )
            ids = [r.id for r in rows]
            updates: list[dict[str, object]] = []
            for row, candidate, decision in zip(rows, candidates, decisions, strict=True):
                original = _original(decision, ids)
                link = (original, decision.kind, decision.similarity) if original else (None,) * 3
                if link != row.link:
                    changed += 1
                updates.append(
                    {
                        "id": row.id,
                        "duplicate_of": link[0],
                        "duplicate_kind": link[1],
                        "similarity": link[2],
                        "content_hash": candidate.content_hash,
                        "url_key": url_key(row.url),
                        "source_url_key": url_key(row.source_url),
                    }
                )
            # copies first: a row may only become an original once its URL's others are copies
            updates.sort(key=lambda values: values["duplicate_of"] is None)
            await session.execute(update(ArticleRow), updates)
            await near_index.add(
                session,
                [
                    (row.id, candidate.signature, candidate.bands, row.fetched_at)
                    for row, candidate, decision in zip(rows, candidates, decisions, strict=True)
                    if candidate.signature is not None and decision.kind is None
                ],
            )
            examined += len(rows)
    async with store.writing() as session:
        await near_index.prune(session, now - window)
    return RelinkResult(examined, changed)


def _original(decision: Decision, ids: Sequence[int]) -> int | None:
    if decision.kind is None:
        return None
    if decision.original_id is not None:
        return decision.original_id
    if decision.original_index is not None:
        return ids[decision.original_index]
    return None
