"""Copies of one story across sites and feeds, crawled from the fixture sites, on both databases.

sciencealert/feed.xml: two real pages (ScienceAlert's Europa story, Reuters' Titan story).
wire/feed.xml: the Reuters Titan story republished by another site, with another headline and
other boilerplate. sciencealert/more.xml: the Europa page republished with an update paragraph
under a new URL, a utm-tagged link to the Europa page and an AMP link to the Titan page.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.store import Store
from tests.conftest import ROOT, CrawlFeeds, Sites
from tests.databases import any_database_url
from tests.helpers import query, rss_ingest

database_url = any_database_url
EUROPA = "sciencealert/articles/14cc2a0ca59c.html"
TITAN = "sciencealert/articles/359fee228518.html"
FEEDS = ("sciencealert/feed.xml", "wire/feed.xml", "sciencealert/more.xml")
LINKS = """
    select c.source_url, f.url, c.duplicate_kind, c.similarity, o.source_url
    from articles c
    join feeds f on f.id = c.feed_id
    left join articles o on o.id = c.duplicate_of
    order by c.id
"""


def path(url: object) -> str:
    return str(url).split("/", 3)[3] if url else ""


async def crawl_all(sites: Sites, crawl: CrawlFeeds) -> None:
    for feed in FEEDS:  # one after the other: which copy is first-seen is then known
        await crawl(sites.url(feed))


async def test_copies_across_sites_and_feeds_link_to_the_first_seen_original(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    await crawl_all(sites, crawl)
    links = [
        (path(copy), path(feed), kind, similarity, path(original))
        for copy, feed, kind, similarity, original in await query(store, LINKS)
    ]
    assert [(c, f, k, o) for c, f, k, _, o in links] == [
        (EUROPA, "sciencealert/feed.xml", None, ""),
        (TITAN, "sciencealert/feed.xml", None, ""),
        ("wire/stories/titan-global-map.html", "wire/feed.xml", "near", TITAN),
        (EUROPA, "sciencealert/more.xml", "url", EUROPA),
        (TITAN + "/amp", "sciencealert/more.xml", "url", TITAN),
        ("sciencealert/articles/14cc2a0ca59c-update.html", "sciencealert/more.xml", "near", EUROPA),
    ]
    similarities = {c: s for c, _, k, s, _ in links if k}
    assert 0.5 <= float(similarities["wire/stories/titan-global-map.html"]) < 1.0
    assert 0.5 <= float(similarities["sciencealert/articles/14cc2a0ca59c-update.html"]) < 1.0
    assert similarities[TITAN + "/amp"] == 1.0
    # URL spellings of stored pages cost no request: the stored body is the page's
    assert not any("utm_" in request or request.endswith("/amp") for request in sites.requests)
    (copied,) = await query(
        store, "select count(distinct body) from articles where url like '%14cc2a0ca59c.html'"
    )
    assert copied == (1,)


async def test_the_originals_view_and_the_outlets_per_story_query(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    await crawl_all(sites, crawl)
    assert await query(store, "select count(*) from originals") == [(2,)]
    # docs/schema.md, "How many outlets carried each story"
    stories = await query(
        store,
        """
        select o.title, count(distinct a.site) as outlets, count(*) as copies
        from originals o
        join articles a on a.id = o.id or a.duplicate_of = o.id
        group by o.id, o.title
        order by o.id
        """,
    )
    # all fixture sites share one host (127.0.0.1), so one outlet; four rows carry each story
    assert [(outlets, copies) for _, outlets, copies in stories] == [(1, 3), (1, 3)]


async def test_a_second_crawl_adds_nothing(sites: Sites, store: Store, crawl: CrawlFeeds) -> None:
    await crawl_all(sites, crawl)
    before = await query(store, "select * from articles order by id")
    for feed in FEEDS:
        summary = await crawl(sites.url(feed))
        assert (summary.count("new"), summary.count("duplicate")) == (0, 0)
    assert await query(store, "select * from articles order by id") == before


async def test_different_articles_of_one_site_sharing_boilerplate_are_not_copies(
    sites: Sites, store: Store, crawl: CrawlFeeds
) -> None:
    summary = await crawl(sites.url("dailyledger/feed.xml"))
    assert (summary.count("new"), summary.count("duplicate")) == (12, 0)
    assert await query(store, "select count(*) from articles where duplicate_of is null") == [(12,)]


async def test_dedup_rebuild_recomputes_the_links(
    sites: Sites, store: Store, crawl: CrawlFeeds, database_url: str, tmp_path: Path
) -> None:
    await crawl_all(sites, crawl)
    await crawl(sites.url("dailyledger/feed.xml"))
    expected = await query(store, LINKS)
    async with store.writing() as session:  # forget what was found: the index and near links
        await session.execute(text("delete from near_duplicate_bands"))
        await session.execute(text("delete from near_duplicate_signatures"))
        await session.execute(
            text(
                "update articles set duplicate_of = null, duplicate_kind = null, "
                "similarity = null where duplicate_kind = 'near'"
            )
        )
    code, out, err = await rss_ingest("dedup", "--rebuild", "--database", database_url)
    assert code == 0, err
    assert out.splitlines() == [
        "dedup: 18 articles examined, 2 links changed",
        # the Daily Ledger's sixth story is ScienceAlert's Europa text, word for word
        "dedup: 13 originals, 5 copies (url 2, guid 0, exact 1, near 2)",
    ]
    assert await query(store, LINKS) == expected
    assert await query(store, "select count(*) from near_duplicate_signatures") == [(13,)]

    settings = tmp_path / "settings.toml"
    settings.write_text("near_duplicate_threshold = 0.99\n")
    strict = ["--database", database_url, "--config", str(settings)]
    code, out, err = await rss_ingest("dedup", "--rebuild", *strict)
    assert code == 0, err
    assert out.splitlines()[-1] == "dedup: 15 originals, 3 copies (url 2, guid 0, exact 1, near 0)"
    code, out, err = await rss_ingest("dedup", "--rebuild", "--database", database_url)
    assert out.splitlines()[0] == "dedup: 18 articles examined, 2 links changed"
    code, out, err = await rss_ingest("dedup", "--rebuild", "--database", database_url)
    assert out.splitlines()[0] == "dedup: 18 articles examined, 0 links changed"  # idempotent
    assert await query(store, LINKS) == expected


def test_the_shipped_settings_document_the_near_duplicate_keys() -> None:
    shipped = (ROOT / "config" / "settings.toml").read_text(encoding="utf-8")
    for key in (
        "near_duplicate_threshold",
        "near_duplicate_window_days",
        "near_duplicate_min_words",
    ):
        assert key in shipped
