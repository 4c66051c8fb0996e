from datetime import UTC, datetime

from storage import site_paragraphs
from storage.store import Store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def paragraphs(*texts: str) -> list[tuple[str, str]]:
    return [(f"print-{text}", text) for text in texts]


async def test_counts_of_several_sites_in_one_go_and_their_stats(store: Store) -> None:
    async with store.writing() as session:
        await site_paragraphs.count_articles(
            session,
            {
                "one.example": [paragraphs("footer", "story 1"), paragraphs("footer", "story 2")],
                "two.example": [paragraphs("footer", "story 3")],
                "empty.example": [],
            },
            NOW,
        )
        await site_paragraphs.count_articles(
            session, {"one.example": [paragraphs("footer", "story 4")]}, NOW
        )
    async with store.reading() as session:
        stats = await site_paragraphs.site_stats(
            session,
            {
                "one.example": {"print-footer", "print-story 1", "print-unknown"},
                "two.example": {"print-footer"},
                "new.example": {"print-footer"},
            },
        )
        assert await site_paragraphs.site_article_counts(
            session, ["one.example", "two.example", "empty.example"]
        ) == {"one.example": 3, "two.example": 1}
    one = stats["one.example"]
    assert one.articles == 3
    assert set(one.paragraphs) == {"print-footer", "print-story 1"}
    assert one.paragraphs["print-footer"].articles == 3
    # first seen when the site had no articles yet, whatever else the batch held
    assert one.paragraphs["print-footer"].site_articles_at_first_seen == 0
    assert stats["two.example"].articles == 1
    assert stats["two.example"].paragraphs["print-footer"].articles == 1
    assert (stats["new.example"].articles, stats["new.example"].paragraphs) == (0, {})
