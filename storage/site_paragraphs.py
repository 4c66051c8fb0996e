"""The counts behind learned boilerplate: articles per site, and per site paragraph."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.boilerplate import ParagraphStats, Thresholds, fingerprint, learned_boilerplate
from storage.models import SiteParagraphRow, SiteRow
from storage.sql import chunks, insert_for


async def site_article_count(session: AsyncSession, site: str) -> int:
    count = await session.scalar(select(SiteRow.article_count).where(SiteRow.site == site))
    return int(count or 0)


async def paragraph_stats(
    session: AsyncSession, site: str, fingerprints: Collection[str]
) -> dict[str, ParagraphStats]:
    stats: dict[str, ParagraphStats] = {}
    for chunk in chunks(sorted(fingerprints)):
        rows = await session.execute(
            select(
                SiteParagraphRow.fingerprint,
                SiteParagraphRow.article_count,
                SiteParagraphRow.site_articles_at_first_seen,
            ).where(SiteParagraphRow.site == site, SiteParagraphRow.fingerprint.in_(chunk))
        )
        stats.update({print_: ParagraphStats(n, since) for print_, n, since in rows})
    return stats


async def site_boilerplate(
    session: AsyncSession, site: str, thresholds: Thresholds
) -> frozenset[str]:
    """The fingerprints that are boilerplate for a site now."""
    rows = await session.execute(
        select(
            SiteParagraphRow.fingerprint,
            SiteParagraphRow.article_count,
            SiteParagraphRow.site_articles_at_first_seen,
        ).where(
            SiteParagraphRow.site == site,
            SiteParagraphRow.article_count >= thresholds.min_articles,
        )
    )
    stats = {print_: ParagraphStats(n, since) for print_, n, since in rows}
    return learned_boilerplate(await site_article_count(session, site), stats, thresholds)


async def count_articles(
    session: AsyncSession, site: str, articles: Sequence[Sequence[str]], now: datetime
) -> None:
    """Count new original articles (their paragraphs, before learned removal) for a site."""
    if not articles:
        return
    before = await site_article_count(session, site)
    site_insert = insert_for(session, SiteRow).values(site=site, article_count=len(articles))
    await session.execute(
        site_insert.on_conflict_do_update(
            index_elements=["site"],
            set_={"article_count": SiteRow.article_count + len(articles)},
        )
    )
    seen: dict[str, tuple[str, int]] = {}
    for paragraphs in articles:
        for print_, text in {fingerprint(p): p for p in paragraphs}.items():
            sample, count = seen.get(print_, (text, 0))
            seen[print_] = (sample, count + 1)
    rows = [
        {
            "site": site,
            "fingerprint": print_,
            "sample": sample,
            "article_count": count,
            "site_articles_at_first_seen": before,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for print_, (sample, count) in seen.items()
    ]
    statement = insert_for(session, SiteParagraphRow)
    for chunk in chunks(rows):
        upsert = statement.values(list(chunk))
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["site", "fingerprint"],
                set_={
                    "article_count": SiteParagraphRow.article_count + upsert.excluded.article_count,
                    "last_seen_at": upsert.excluded.last_seen_at,
                },
            )
        )
