"""Full-text search, kept in sync by the database itself, on SQLite (FTS5) and PostgreSQL."""

from dataclasses import replace

import pytest
from sqlalchemy import text

from storage import articles as article_storage
from storage.search import fts5_query, search
from storage.store import Store
from tests.helpers import an_article
from tests.storage.helpers import new_feed
from tests.stories import CRASH, EUROPA, TITAN


async def fill(store: Store) -> int:
    feed_id = await new_feed(store)
    stories = [("titan", TITAN, "Saturn's moon Titan mapped"), ("crash", CRASH, "Crash")]
    stories += [("europa", EUROPA, "Water vapor above Europa")]
    articles = [
        replace(an_article(body, url=f"https://a.example/{name}"), title=title)
        for name, body, title in stories
    ]
    async with store.writing() as session:
        await article_storage.store_articles(session, feed_id, articles)
    return feed_id


async def found(store: Store, terms: str, **options: bool) -> list[str]:
    async with store.reading() as session:
        return [hit.url.rsplit("/", 1)[1] for hit in await search(session, terms, **options)]


async def test_words_and_phrases_find_titles_and_bodies(store: Store) -> None:
    await fill(store)
    assert await found(store, "titan") == ["titan"]
    assert await found(store, "Saturn moon") == ["titan"]  # every word, in title or body
    assert await found(store, '"geological map"') == ["titan"]
    assert await found(store, '"map geological"') == []
    assert await found(store, "helicopter") == ["crash"]
    assert await found(store, "helicopter titan") == []
    assert sorted(await found(store, "NASA")) == ["europa", "titan"]


async def test_hits_carry_a_marked_snippet(store: Store) -> None:
    await fill(store)
    async with store.reading() as session:
        (hit,) = await search(session, "helicopter")
    assert "[helicopter]" in hit.snippet.lower()
    assert hit.title == "Crash" and hit.duplicate_of is None


async def test_the_index_follows_updated_bodies(store: Store) -> None:
    await fill(store)
    async with store.writing() as session:
        await session.execute(
            text(
                "update articles set body = 'A short note about penguins.' where url like '%crash'"
            )
        )
    assert await found(store, "helicopter") == []
    assert await found(store, "penguins") == ["crash"]


async def test_copies_can_be_left_out(store: Store) -> None:
    feed_id = await fill(store)
    copy = an_article(TITAN, url="https://b.example/titan-again")
    async with store.writing() as session:
        stored = await article_storage.store_articles(session, feed_id, [copy])
    assert stored.duplicate == 1  # an exact copy
    assert sorted(await found(store, "titan")) == ["titan", "titan-again"]
    assert await found(store, "titan", originals_only=True) == ["titan"]


@pytest.mark.parametrize(
    "terms", ["AND OR NOT", "NEAR(titan", '"unbalanced', "title:titan", "*", "-"]
)
async def test_operator_characters_are_searched_as_words_not_errors(
    store: Store, terms: str
) -> None:
    await fill(store)
    async with store.reading() as session:
        await search(session, terms)  # no syntax error, whatever it finds


def test_fts5_query_quotes_every_word_and_keeps_phrases() -> None:
    assert fts5_query('iraq "general soleimani"') == '"iraq" "general soleimani"'
    assert fts5_query('say "hi') == '"say" "hi"'
    assert fts5_query("  ") == ""
