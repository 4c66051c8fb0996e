"""A crawler's learning of each site's boilerplate, poll by poll, and the articles it finishes.

Each poll's new articles count as seen: with the site's stored paragraph counts they decide
the site's boilerplate (pipeline/boilerplate.py), which is removed from them before they are
stored. The boilerplate last learned of a site is remembered, so that its next pages are signed
for it in the pool as they are extracted; a page signed for other boilerplate than what its
poll learned goes back to the pool to be signed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pipeline.article import finish_article, is_signed_for
from pipeline.boilerplate import Thresholds, combined_stats, learned_boilerplate, site_of
from pipeline.poll_store import PollStore, by_site
from pipeline.pool_calls import PoolCalls
from pipeline.records import Article

REMEMBERED_SITES = 10_000
"""Sites whose learned boilerplate is remembered; beyond, the least recently polled is
forgotten (its pages are then signed as extracted, and again once learned)."""


def paragraphs_seen(articles: Sequence[Article]) -> dict[str, list[set[str]]]:
    """Each site's articles as sets of paragraph fingerprints, one set per story: copies and
    versions of one story must not make its paragraphs look recurrent."""
    seen: dict[str, list[set[str]]] = {}
    for site, site_articles in by_site(articles).items():
        by_text = {a.content_hash or a.url: a for a in site_articles}.values()
        distinct = {a.guid or a.url: a for a in by_text}.values()
        seen[site] = [set(a.fingerprints) for a in distinct]
    return seen


class SiteLearning:
    """One crawler's learning: the polls' site statistics (batched with the other polls'), and
    the pool, for the pages signed for other boilerplate than their poll learned."""

    def __init__(
        self,
        polls: PollStore,
        pool: PoolCalls,
        thresholds: Thresholds,
        min_words: int,
        remembered_sites: int = REMEMBERED_SITES,
    ) -> None:
        self._polls = polls
        self._pool = pool
        self._thresholds = thresholds
        self._min_words = min_words
        self._remembered_sites = remembered_sites
        self._learned: dict[str, frozenset[str]] = {}
        """The boilerplate of each site at its last poll (only sites that had some), least
        recently polled first."""

    def last_learned(self, page_url: str) -> frozenset[str]:
        """The boilerplate learned at the last poll of the page's site, to sign the page for."""
        return self._learned.get(site_of(page_url), frozenset())

    async def finished(self, articles: Sequence[Article]) -> list[Article]:
        """The articles without their sites' boilerplate, learned with these articles counted
        as seen, and signed for it."""
        seen = paragraphs_seen(articles)
        stored = await self._polls.site_stats(
            {site: set().union(*stories) for site, stories in seen.items()}
        )
        boilerplate: dict[str, frozenset[str]] = {}
        for site, stories in seen.items():
            total, stats = combined_stats(stored[site].articles, stored[site].paragraphs, stories)
            boilerplate[site] = learned_boilerplate(total, stats, self._thresholds)
            self._remember(site, boilerplate[site])

        async def finished(article: Article) -> Article:
            site_boilerplate = boilerplate[article.site]
            if is_signed_for(article, site_boilerplate):  # as the site's pages mostly are
                return finish_article(article, site_boilerplate, self._min_words)
            return await self._pool(finish_article, article, site_boilerplate, self._min_words)

        return await asyncio.gather(*(finished(article) for article in articles))

    def _remember(self, site: str, boilerplate: frozenset[str]) -> None:
        self._learned.pop(site, None)
        if boilerplate:
            self._learned[site] = boilerplate
            if len(self._learned) > self._remembered_sites:
                del self._learned[next(iter(self._learned))]
