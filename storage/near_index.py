"""The near-duplicate index: signatures and LSH band keys of recent originals.

Bounded by a window of time: lookups only see originals indexed after a cutoff, and prune()
deletes older entries, so the cost of a lookup depends on the window, not on the corpus.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NearDuplicateBandRow, NearDuplicateSignatureRow
from storage.sql import chunks, insert_for


async def candidates(
    session: AsyncSession, band_keys: Collection[int], since: datetime
) -> dict[int, tuple[int, ...]]:
    """Band key -> ids of the originals indexed since `since` that have it."""
    found: dict[int, list[int]] = {}
    for chunk in chunks(sorted(band_keys)):
        rows = await session.execute(
            select(NearDuplicateBandRow.band_key, NearDuplicateBandRow.article_id).where(
                NearDuplicateBandRow.band_key.in_(chunk),
                NearDuplicateBandRow.indexed_at >= since,
            )
        )
        for band_key, article_id in rows:
            found.setdefault(band_key, []).append(article_id)
    return {key: tuple(ids) for key, ids in found.items()}


async def signatures(session: AsyncSession, article_ids: Collection[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for chunk in chunks(sorted(article_ids)):
        rows = await session.execute(
            select(NearDuplicateSignatureRow.article_id, NearDuplicateSignatureRow.signature).where(
                NearDuplicateSignatureRow.article_id.in_(chunk)
            )
        )
        found.update({article_id: bytes(signature) for article_id, signature in rows})
    return found


async def add(
    session: AsyncSession, originals: Sequence[tuple[int, bytes, Sequence[int], datetime]]
) -> None:
    """Index new originals: (article id, signature, its band keys, when it was fetched).

    The band keys are the caller's: it derived them for the lookup that found these originals.
    """
    if not originals:
        return
    await session.execute(
        insert_for(session, NearDuplicateSignatureRow).on_conflict_do_nothing(),
        [{"article_id": i, "indexed_at": at, "signature": s} for i, s, _, at in originals],
    )
    bands = [
        {"band_key": key, "article_id": article_id, "indexed_at": indexed_at}
        for article_id, _, keys, indexed_at in originals
        for key in set(keys)
    ]
    await session.execute(insert_for(session, NearDuplicateBandRow).on_conflict_do_nothing(), bands)


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget originals indexed before the window."""
    await session.execute(
        delete(NearDuplicateBandRow).where(NearDuplicateBandRow.indexed_at < before)
    )
    await session.execute(
        delete(NearDuplicateSignatureRow).where(NearDuplicateSignatureRow.indexed_at < before)
    )


async def clear(session: AsyncSession) -> None:
    await session.execute(delete(NearDuplicateBandRow))
    await session.execute(delete(NearDuplicateSignatureRow))
