"""Re-applying the current rules and learned boilerplate to stored articles (`rss-ingest reclean`).

Bodies are rebuilt from raw_body, the text as extracted, so that a rule or a footer learned today
also cleans articles stored before it existed. Running it twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import distinct, select, update

from pipeline.boilerplate import Thresholds, remove_learned
from pipeline.clean import clean_text
from pipeline.dedup import content_hash
from pipeline.records import CleanText
from pipeline.rules import RuleSet
from pipeline.urls import host_of
from storage.models import ArticleRow
from storage.site_paragraphs import site_boilerplate
from storage.store import Store

BATCH = 500


def clean_again(
    raw_body: str,
    title: str | None,
    rules: RuleSet,
    hosts: Collection[str],
    boilerplate: Collection[str],
) -> CleanText:
    """The body the crawler would store today for this extracted text."""
    ruled = clean_text(raw_body, [title], rules.for_hosts(*hosts))
    kept, learned = remove_learned(ruled.body.split("\n\n") if ruled.body else [], boilerplate)
    return CleanText(body="\n\n".join(kept), dropped=ruled.dropped + tuple(learned))


@dataclass(frozen=True, slots=True)
class RecleanResult:
    examined: int
    changed: int


async def reclean(
    store: Store, rules: RuleSet, thresholds: Thresholds, site: str | None = None
) -> RecleanResult:
    async with store.reading() as session:
        if site is None:
            sites = [s for s in await session.scalars(select(distinct(ArticleRow.site))) if s]
        else:
            sites = [site]
    examined = changed = 0
    for name in sites:
        async with store.reading() as session:
            boilerplate = await site_boilerplate(session, name, thresholds)
        last_id = 0
        while True:
            async with store.writing() as session:
                rows = (
                    await session.execute(
                        select(
                            ArticleRow.id,
                            ArticleRow.raw_body,
                            ArticleRow.body,
                            ArticleRow.title,
                            ArticleRow.url,
                            ArticleRow.source_url,
                        )
                        .where(ArticleRow.site == name, ArticleRow.id > last_id)
                        .where(ArticleRow.raw_body.is_not(None))
                        .order_by(ArticleRow.id)
                        .limit(BATCH)
                    )
                ).all()
                for article_id, raw, body, title, url, source_url in rows:
                    hosts = {host_of(source_url), host_of(url)}
                    cleaned = clean_again(raw or "", title, rules, hosts, boilerplate)
                    if cleaned.body and cleaned.body != body:
                        await session.execute(
                            update(ArticleRow)
                            .where(ArticleRow.id == article_id)
                            .values(
                                body=cleaned.body,
                                word_count=len(cleaned.body.split()),
                                content_hash=content_hash(cleaned.body),
                            )
                        )
                        changed += 1
            examined += len(rows)
            if len(rows) < BATCH:
                break
            last_id = rows[-1][0]
    return RecleanResult(examined, changed)
