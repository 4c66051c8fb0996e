from dataclasses import replace

from pipeline.boilerplate import (
    ParagraphStats,
    Thresholds,
    apply_learned,
    combined_stats,
    fingerprint,
    is_boilerplate,
    learned_boilerplate,
    learned_in,
    remove_learned,
    site_of,
)
from pipeline.dedup import content_hash
from pipeline.records import Article
from tests.helpers import an_article

TH = Thresholds(min_articles=3, min_share=0.3, min_sample=20)


def test_site_is_the_registered_domain() -> None:
    assert site_of("https://news.bbc.co.uk/world/1") == "bbc.co.uk"
    assert site_of("https://www.presstv.ir/Detail/1") == "presstv.ir"
    assert site_of("http://127.0.0.1:8080/a") == "127.0.0.1:8080"


def test_fingerprints_ignore_dates_numbers_links_and_case() -> None:
    a = "Last updated November 19, 2019 at 10:42 AM. Sign up at https://x.example/n?ref=1"
    b = "last updated March 3, 2020 at 9:05 AM. Sign up at https://x.example/n?ref=77"
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint("The minister resigned on Monday.") != fingerprint(
        "The minister stayed on Monday."
    )


def test_a_paragraph_in_many_articles_since_it_appeared_is_boilerplate() -> None:
    assert is_boilerplate(ParagraphStats(12, 0), 12, TH)  # 12 of 12 (sample 20): 60%
    assert not is_boilerplate(ParagraphStats(3, 0), 3, TH)  # three of a young site: 15%
    assert is_boilerplate(ParagraphStats(30, 900), 1000, TH)  # new footer: 30 of the last 100
    assert not is_boilerplate(ParagraphStats(30, 0), 1000, TH)  # a quote in 3% of the site
    assert not is_boilerplate(ParagraphStats(2, 0), 2, Thresholds(3, 0.1, 1))  # too few articles


def test_combined_stats_count_each_new_article_once() -> None:
    stored = {"f": ParagraphStats(10, 0)}
    total, stats = combined_stats(15, stored, [{"f", "g"}, {"f"}, ["g", "g"]])
    assert total == 18
    assert stats["f"] == ParagraphStats(12, 0)
    assert stats["g"] == ParagraphStats(2, 15)
    assert learned_boilerplate(total, stats, TH) == {"f"}


def test_learning_never_empties_an_article() -> None:
    kept, dropped = remove_learned(["only boilerplate"], {fingerprint("only boilerplate")})
    assert (kept, dropped) == (["only boilerplate"], [])


def test_learned_in_names_what_learning_drops_and_never_all() -> None:
    assert learned_in(["a", "b", "a"], {"a", "x"}) == {"a"}
    assert learned_in(["a", "a"], {"a", "x"}) == frozenset()
    assert learned_in([], {"a"}) == frozenset()


def test_learning_goes_by_the_fingerprints_taken_at_extraction() -> None:
    body = "Real text here.\n\nA footer."
    taken = replace(an_article(body), fingerprints=("real", "footer"))
    assert apply_learned(taken, {"footer"}).body == "Real text here."
    # once learning removed a paragraph they no longer match the body: it takes its own
    shortened = replace(taken, body="A footer.\n\nMore text.\n\nEnd.")
    assert apply_learned(shortened, {fingerprint("A footer.")}).body == "More text.\n\nEnd."


def test_apply_learned_updates_the_hash_and_word_count() -> None:
    article: Article = an_article("Real text here.\n\nSubscribe to the briefing 12.")
    cleaned = apply_learned(article, {fingerprint("subscribe to the briefing 99.")})
    assert cleaned.body == "Real text here."
    assert cleaned.word_count == 3
    assert cleaned.content_hash == content_hash("Real text here.")
    assert cleaned.dropped[-1].rule.startswith("learned:")
