"""The counts behind learned boilerplate: articles per site, and per site paragraph."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.boilerplate import ParagraphStats, Thresholds, learned_boilerplate
from storage.models import SiteParagraphRow, SiteRow
from storage.sql import chunks, insert_for


async def site_article_count(session: AsyncSession, site: str) -> int:
    return (await site_article_counts(session, [site])).get(site, 0)


async def site_article_counts(session: AsyncSession, sites: Collection[str]) -> dict[str, int]:
    """Original articles counted so far for each site that has any."""
    counts: dict[str, int] = {}
    for chunk in chunks(sorted(sites)):
        rows = await session.execute(
            select(SiteRow.site, SiteRow.article_count).where(SiteRow.site.in_(chunk))
        )
        counts.update({site: int(count) for site, count in rows})
    return counts


@dataclass(frozen=True, slots=True)
class SiteStats:
    articles: int
    """Original articles counted for the site so far."""
    paragraphs: dict[str, ParagraphStats]
    """The counts of those fingerprints asked for that the site has."""


async def site_stats(
    session: AsyncSession, wanted: Mapping[str, Collection[str]]
) -> dict[str, SiteStats]:
    """For each site asked: its article count and the counts of the fingerprints asked."""
    sites = sorted(wanted)
    articles = await site_article_counts(session, sites)
    found: dict[str, dict[str, ParagraphStats]] = {site: {} for site in sites}
    for chunk in chunks(sorted(set().union(*wanted.values()))):
        rows = await session.execute(
            select(
                SiteParagraphRow.site,
                SiteParagraphRow.fingerprint,
                SiteParagraphRow.article_count,
                SiteParagraphRow.site_articles_at_first_seen,
            ).where(SiteParagraphRow.site.in_(sites), SiteParagraphRow.fingerprint.in_(chunk))
        )
        for site, print_, count, since in rows:
            if print_ in wanted[site]:
                found[site][print_] = ParagraphStats(count, since)
    return {site: SiteStats(articles.get(site, 0), found[site]) for site in sites}


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
    session: AsyncSession,
    by_site: Mapping[str, Sequence[Sequence[tuple[str, str]]]],
    now: datetime,
) -> None:
    """Count new original articles, by site: each is its paragraphs (before learned removal)
    as (fingerprint, text) pairs."""
    by_site = {site: articles for site, articles in by_site.items() if articles}
    if not by_site:
        return
    before = await site_article_counts(session, by_site)
    site_insert = insert_for(session, SiteRow)
    await session.execute(
        site_insert.on_conflict_do_update(
            index_elements=["site"],
            set_={"article_count": SiteRow.article_count + site_insert.excluded.article_count},
        ),
        [{"site": site, "article_count": len(articles)} for site, articles in by_site.items()],
    )
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    for site, articles in by_site.items():
        for paragraphs in articles:
            for print_, text in dict(paragraphs).items():
                sample, count = seen.get((site, print_), (text, 0))
                seen[site, print_] = (sample, count + 1)
    rows = [
        {
            "site": site,
            "fingerprint": print_,
            "sample": sample,
            "article_count": count,
            "site_articles_at_first_seen": before.get(site, 0),
            "first_seen_at": now,
            "last_seen_at": now,
        }
        # sorted by key: concurrent workers upserting one site's paragraphs lock in one order
        for (site, print_), (sample, count) in sorted(seen.items())
    ]
    insert = insert_for(session, SiteParagraphRow)
    upsert = insert.on_conflict_do_update(
        index_elements=["site", "fingerprint"],
        set_={
            "article_count": SiteParagraphRow.article_count + insert.excluded.article_count,
            "last_seen_at": insert.excluded.last_seen_at,
        },
    )
    await session.execute(upsert, rows)
