"""Site learning: what a poll's articles count for, and what the crawler remembers per site.

End to end, through crawls of the Daily Ledger: tests/test_learned_cleaning.py.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import replace

from pipeline.boilerplate import Thresholds, fingerprint
from pipeline.poll_store import PollStore
from pipeline.pool_calls import PoolCalls
from pipeline.records import Article
from pipeline.settings import Settings
from pipeline.site_learning import SiteLearning, paragraphs_seen
from storage.store import Store
from tests.helpers import an_article

FOOTER = "Subscribe to the morning briefing."
EACH_POLL_LEARNS = Thresholds(min_articles=2, min_share=0.5, min_sample=2)


def story(site: str, number: int, footer: bool = True) -> Article:
    body = f"Story {number} of {site} has a paragraph of its own, {'x' * number}."
    article = an_article(
        body + (f"\n\n{FOOTER}" if footer else ""), f"https://{site}/{number}", site
    )
    return replace(article, fingerprints=tuple(map(fingerprint, article.body.split("\n\n"))))


def test_copies_and_versions_of_a_story_count_once_per_site() -> None:
    first = story("alpha.co.uk", 1)
    copy = replace(first, url="https://alpha.co.uk/copy")  # same text
    version = replace(story("alpha.co.uk", 2), guid="g1")
    edited = replace(story("alpha.co.uk", 3), guid="g1")  # same guid, other text
    other_site = story("beta.co.uk", 4)

    seen = paragraphs_seen([first, copy, version, edited, other_site])

    assert sorted(seen) == ["alpha.co.uk", "beta.co.uk"]
    assert len(seen["alpha.co.uk"]) == 2
    assert all(fingerprint(FOOTER) in prints for prints in seen["alpha.co.uk"])
    assert seen["beta.co.uk"] == [set(other_site.fingerprints)]


def learning(store: Store, settings: Settings, pool: Executor, sites: int) -> SiteLearning:
    polls = PollStore(store, settings, lambda: 1)
    return SiteLearning(polls, PoolCalls(pool, 2), EACH_POLL_LEARNS, 5, remembered_sites=sites)


async def test_learned_boilerplate_is_removed_and_remembered_for_the_next_pages(
    store: Store, settings: Settings, pool: Executor
) -> None:
    sites = learning(store, settings, pool, 10)

    finished = await sites.finished([story("alpha.co.uk", n) for n in range(1, 4)])

    assert [FOOTER in article.body for article in finished] == [False] * 3
    assert all(article.signature is not None for article in finished)
    assert sites.last_learned("https://www.alpha.co.uk/next") == {fingerprint(FOOTER)}
    assert sites.last_learned("https://beta.co.uk/1") == frozenset()


async def test_the_least_recently_polled_site_is_forgotten_beyond_the_bound(
    store: Store, settings: Settings, pool: Executor
) -> None:
    sites = learning(store, settings, pool, 2)
    for site in ("alpha.co.uk", "beta.co.uk", "gamma.co.uk"):
        await sites.finished([story(site, n) for n in range(1, 4)])
    assert sites.last_learned("https://alpha.co.uk/1") == frozenset()
    assert sites.last_learned("https://beta.co.uk/1") == {fingerprint(FOOTER)}

    # b polled again without its footer: it learns nothing, and a later site keeps its place
    await sites.finished([story("beta.co.uk", n, footer=False) for n in range(4, 8)])
    await sites.finished([story("delta.co.uk", n) for n in range(1, 4)])
    assert sites.last_learned("https://beta.co.uk/1") == frozenset()
    assert sites.last_learned("https://gamma.co.uk/1") == {fingerprint(FOOTER)}
    assert sites.last_learned("https://delta.co.uk/1") == {fingerprint(FOOTER)}
