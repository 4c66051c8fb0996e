from datetime import UTC, datetime

from pipeline import neardup
from pipeline.article import build_article, build_signed_article, finish_article, is_signed_for
from pipeline.boilerplate import fingerprint
from pipeline.records import FeedEntry, HttpResponse
from pipeline.rules import RuleSet
from tests.conftest import SEED_PAGE, seed_paragraphs

FETCHED_AT = datetime(2022, 1, 2, tzinfo=UTC)
PAGE_URL = "http://127.0.0.1:8000/presstv/Detail/2022/01/01/674433.html"


def seed_response() -> HttpResponse:
    body = SEED_PAGE.read_bytes().replace(b"{{BASE}}", b"http://127.0.0.1:8000/presstv")
    return HttpResponse(PAGE_URL, PAGE_URL, 200, body, "text/html", "utf-8")


def test_seed_page_becomes_a_clean_article_with_page_metadata(rules: RuleSet) -> None:
    article = build_article(
        FeedEntry(link=PAGE_URL + "?utm_source=rss"), seed_response(), rules, FETCHED_AT
    )
    assert article.body.split("\n\n") == seed_paragraphs()
    assert article.url.startswith("https://www.presstv.ir/Detail/2022/01/01/674433/")
    assert article.source_url == PAGE_URL
    assert article.title is not None and article.title.startswith(
        "Iraqis demand end to US terrorism"
    )
    assert article.language == "en"
    assert (
        article.published_at is not None and article.published_at.date().isoformat() == "2022-01-01"
    )
    assert article.word_count == len(article.body.split())
    assert article.content_hash is not None


def test_feed_metadata_is_preferred_to_the_pages(rules: RuleSet) -> None:
    entry = FeedEntry(
        link=PAGE_URL,
        guid="674433",
        title="Feed title",
        author="Feed Author",
        published_at=datetime(2022, 1, 1, 13, 35, tzinfo=UTC),
        summary="Feed summary",
    )
    article = build_article(entry, seed_response(), rules, FETCHED_AT, feed_language="de")
    assert (article.title, article.author, article.summary) == (
        "Feed title",
        "Feed Author",
        "Feed summary",
    )
    assert article.published_at == datetime(2022, 1, 1, 13, 35, tzinfo=UTC)
    assert article.language == "en"  # the page says so; the feed's is only a fallback
    assert article.guid == "674433"


def test_an_article_signed_for_its_sites_boilerplate_is_finished_without_signing_again(
    rules: RuleSet,
) -> None:
    entry = FeedEntry(link=PAGE_URL)
    *text, footer = seed_paragraphs()
    learned = {fingerprint(footer), "a paragraph this page does not have"}
    article = build_signed_article(entry, seed_response(), rules, FETCHED_AT, None, learned, 5)
    assert article.body.split("\n\n") == [*text, footer]  # learning counts what was extracted
    assert article.signature == neardup.signature("\n\n".join(text), 5)
    assert is_signed_for(article, learned)
    assert is_signed_for(article, {fingerprint(footer)})  # the same paragraphs go
    assert not is_signed_for(article, set())
    assert not is_signed_for(build_article(entry, seed_response(), rules, FETCHED_AT), learned)

    finished = finish_article(article, learned, 5)
    assert finished.body == "\n\n".join(text)
    assert finished.signature == article.signature
    unlearned = finish_article(article, set(), 5)  # the footer was learned wrongly: signed again
    assert unlearned.body == article.body
    assert unlearned.signature == neardup.signature(article.body, 5) != article.signature
    assert is_signed_for(unlearned, set())
