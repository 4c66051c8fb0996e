from pipeline.dedup import Candidate, Decision, StoredKeys, content_hash, guid_key, plan_batch
from pipeline.urls import url_key


def test_content_hash_ignores_case_and_spacing_but_not_words() -> None:
    assert content_hash("Hello  World\n\nSecond") == content_hash("hello world\nSecond ")
    assert content_hash("Hello World") != content_hash("Hello Word")
    assert content_hash("") is None
    assert content_hash(" \n ") is None


def test_guid_key_scopes_plain_guids_to_their_feed() -> None:
    assert guid_key("12345", 7) == "7:12345"
    assert guid_key("https://site/a", 7) == "https://site/a"
    assert guid_key("tag:site,2024:a", 7) == "tag:site,2024:a"
    assert guid_key(None, 7) is None


def test_new_articles_are_originals() -> None:
    decisions = plan_batch(
        [Candidate("u1", "u1", "g1", "h1"), Candidate("u2", "u2", "g2", "h2")], StoredKeys()
    )
    assert decisions == [Decision(url="u1"), Decision(url="u2")]


def test_a_link_this_feed_stored_is_skipped() -> None:
    stored = StoredKeys(in_feed=frozenset({(7, "u1")}), by_url={"u1": 10})
    assert plan_batch([Candidate("u1", "u1", None, "h", feed_id=7)], stored) == [
        Decision(stored=False)
    ]
    (other_feed,) = plan_batch([Candidate("u1", "u1", None, "h", feed_id=8)], stored)
    assert other_feed == Decision(url="u1", kind="url", original_id=10)


def test_a_link_another_feed_stored_is_a_url_copy_of_this_feed() -> None:
    stored = StoredKeys(by_url={"u1": 10})
    (decision,) = plan_batch([Candidate("u1", "u1", None, "h")], stored)
    assert decision == Decision(url="u1", kind="url", original_id=10)


def test_url_spellings_of_one_article_share_a_key() -> None:
    original = "https://www.site.example/news/story"
    stored = StoredKeys(by_url={url_key(original): 10})
    amp = Candidate(
        "https://site.example/news/story/amp", "https://m.site.example/news/story/amp", None, "h"
    )
    (decision,) = plan_batch([amp], stored)
    assert decision.kind == "url"
    assert decision.original_id == 10
    assert decision.url == "https://m.site.example/news/story/amp"


def test_a_page_naming_a_stored_article_as_canonical_is_a_url_copy_under_its_own_link() -> None:
    stored = StoredKeys(by_url={"canonical": 10})
    (decision,) = plan_batch([Candidate("canonical", "amp-link", None, "h")], stored)
    assert decision == Decision(url="amp-link", kind="url", original_id=10)


def test_guid_then_hash_layers_against_stored_and_within_batch() -> None:
    stored = StoredKeys(by_guid={"g": 1}, by_hash={"h": 2})
    candidates = [
        Candidate("a", "a", "g", "x"),  # guid copy of 1
        Candidate("b", "b", None, "h"),  # exact copy of 2
        Candidate("c", "c", None, "n"),  # new
        Candidate("d", "d", None, "n"),  # exact copy of c, in this batch
        Candidate("e", "e", None, None),  # empty body never matches
        Candidate("f", "f", None, None),
    ]
    assert plan_batch(candidates, stored) == [
        Decision(url="a", kind="guid", original_id=1),
        Decision(url="b", kind="exact", original_id=2, similarity=1.0),
        Decision(url="c"),
        Decision(url="d", kind="exact", original_index=2, similarity=1.0),
        Decision(url="e"),
        Decision(url="f"),
    ]


def test_a_copy_of_a_copy_points_at_the_first_original() -> None:
    stored = StoredKeys(by_hash={"h": 5})
    candidates = [Candidate("a", "a", "g", "h"), Candidate("b", "b", "g", "other")]
    first, second = plan_batch(candidates, stored)
    assert first == Decision(url="a", kind="exact", original_id=5, similarity=1.0)
    assert second == Decision(url="b", kind="guid", original_id=5)


def test_the_same_link_twice_in_a_batch_is_stored_once() -> None:
    decisions = plan_batch(
        [Candidate("a", "a", None, "h"), Candidate("a", "a", None, "h")], StoredKeys()
    )
    assert [d.stored for d in decisions] == [True, False]


def test_one_batch_of_several_feeds_skips_per_feed_and_links_across_feeds() -> None:
    decisions = plan_batch(
        [
            Candidate("a", "a", None, "h", feed_id=1),
            Candidate("a", "a", None, "h", feed_id=2),  # another feed listed it: its own copy
            Candidate("a", "a", None, "h", feed_id=1),  # feed 1 listed it twice: once is enough
        ],
        StoredKeys(),
    )
    assert decisions == [
        Decision(url="a"),
        Decision(url="a", kind="url", original_index=0),
        Decision(stored=False),
    ]
