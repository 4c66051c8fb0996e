"""dedup: how many copies of which kind; --rebuild recomputes every link."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from pipeline.commands import EXIT_OK
from pipeline.commands.context import Context, open_store
from pipeline.pool import ExtractionPool
from pipeline.relink import relink
from storage.models import ArticleRow

KINDS = ("url", "guid", "exact", "near")


def _counts_line(originals: int, copies: dict[str, int]) -> str:
    kinds = ", ".join(f"{kind} {copies.get(kind, 0)}" for kind in KINDS)
    return f"{originals} originals, {sum(copies.values())} copies ({kinds})"


async def dedup_command(context: Context) -> int:
    store = await open_store(context)
    try:
        if context.args.rebuild:
            with ExtractionPool(context.settings.extract_workers) as pool:
                result = await relink(store, pool, context.settings, datetime.now(UTC))
            print(f"dedup: {result.examined} articles examined, {result.changed} links changed")
        async with store.reading() as session:
            originals = await session.scalar(
                select(func.count()).where(ArticleRow.duplicate_of.is_(None))
            )
            rows = await session.execute(
                select(ArticleRow.duplicate_kind, func.count())
                .where(ArticleRow.duplicate_of.is_not(None))
                .group_by(ArticleRow.duplicate_kind)
            )
            copies = {str(kind): int(count) for kind, count in rows}
    finally:
        await store.engine.dispose()
    print("dedup: " + _counts_line(int(originals or 0), copies))
    return EXIT_OK
